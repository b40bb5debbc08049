/*
 * control_client.c - blocking control-socket client (see
 * control_client.h).  Every wait has a deadline, so a wedged daemon cannot
 * hang a staff member's terminal forever.  Single thread.
 */
#include "control_client.h"

#include "anshim/error.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int gw_client_connect(struct gw_client *c, const char *path, char *err, size_t err_len)
{
	struct sockaddr_un addr;
	int fd, rc;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof addr.sun_path) {
		snprintf(err, err_len, "control socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		rc = -errno;
		close(fd);
		snprintf(err, err_len, "cannot connect to the gateway daemon at %s: %s (%s)", path,
			 as_strerror(rc),
			 rc == -ENOENT || rc == -ECONNREFUSED ? "is anshim-gatewayd running? "
			 "check 'systemctl status anshim-gateway', or pass --config/--socket" :
			 rc == -EACCES ? "run as a member of the gateway's group, or as root" :
			 "check the control_socket setting");
		return rc;
	}
	c->fd = fd;
	return 0;
}

void gw_client_close(struct gw_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int gw_client_send(struct gw_client *c, const char *line)
{
	size_t len = strlen(line), off = 0;
	char nl = '\n';

	while (off < len) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	while (send(c->fd, &nl, 1, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int gw_client_read_line(struct gw_client *c, char *out, size_t cap, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd pfd = {c->fd, POLLIN, 0};
		ssize_t n;
		int rc;

		if (nl) {
			size_t line_len = (size_t)(nl - c->buf);
			if (line_len >= cap)
				return -EMSGSIZE;
			memcpy(out, c->buf, line_len);
			out[line_len] = '\0';
			c->len -= line_len + 1;
			memmove(c->buf, nl + 1, c->len);
			return (int)line_len;
		}
		if (c->len == sizeof c->buf)
			return -EMSGSIZE;
		rc = poll(&pfd, 1, timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		c->len += (size_t)n;
	}
}

int gw_client_request(struct gw_client *c, const char *request, char *out, size_t cap)
{
	int rc = gw_client_send(c, request);

	if (rc)
		return rc;
	rc = gw_client_read_line(c, out, cap, 30000);
	return rc == 0 ? -ECONNRESET : rc;
}
