/*
 * sdnotify.c - minimal sd_notify (see sdnotify.h).  The socket path may be
 * abstract ('@' prefix).  Stateless; any thread.
 */
#include "anshim/sdnotify.h"

#include "anshim/parse.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int as_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t addr_len;
	size_t path_len;
	ssize_t sent;
	int fd;

	if (!path || !*path)
		return 0;
	path_len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || path_len >= sizeof addr.sun_path)
		return -EINVAL;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, path_len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
	close(fd);
	return sent < 0 ? -errno : 1;
}

uint64_t as_sd_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	int64_t v, p;

	if (!usec || as_parse_int64(usec, 1, INT64_MAX, &v))
		return 0;
	if (pid && (as_parse_int64(pid, 1, INT64_MAX, &p) || p != (int64_t)getpid()))
		return 0;
	return (uint64_t)v;
}
