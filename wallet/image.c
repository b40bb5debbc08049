/*
 * image.c - QR codes from a photo through `zbarimg --nodbus --raw -q`.
 *
 * The child gets a fixed argument vector (no shell, the path passed as one
 * argument, "./" put before a path that starts with '-'), its standard
 * output is a pipe we read to the end (at most OUT_MAX bytes kept, the
 * rest drained so it never blocks), and we always reap it.  zbarimg exits
 * 4 when it finds no code.  The decoded texts are never printed: a photo
 * may hold someone's pass.  Single-threaded CLI.
 */
#include "image.h"

#include "anshim/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX 65536

extern char **environ;

static int run_zbarimg(const char *path, char *buf, size_t cap, size_t *len, int *status)
{
	char arg[PATH_MAX + 3];
	char *argv[] = {"zbarimg", "--nodbus", "--raw", "-q", arg, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], rc;
	pid_t pid;

	if (snprintf(arg, sizeof arg, "%s%s", path[0] == '-' ? "./" : "", path) >= (int)sizeof arg)
		return -ENAMETOOLONG;
	if (pipe(fds) < 0)
		return -errno;
	/* Single-threaded: nothing can fork between pipe and fcntl. */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	rc = posix_spawnp(&pid, "zbarimg", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		return -rc;
	}
	*len = 0;
	for (;;) {
		char drain[4096];
		char *dst = *len < cap ? buf + *len : drain;
		size_t room = *len < cap ? cap - *len : sizeof drain;
		ssize_t n = read(fds[0], dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != drain)
			*len += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int wl_image_find_code(const char *path, const char *prefix, char *out, size_t cap,
		       int *others, char *err, size_t err_len)
{
	char *buf = malloc(OUT_MAX + 1), *line, *save = NULL;
	size_t len = 0, plen = strlen(prefix);
	int status = 0, rc;

	*others = 0;
	if (!buf)
		return -ENOMEM;
	rc = run_zbarimg(path, buf, OUT_MAX, &len, &status);
	if (rc) {
		free(buf);
		return rc;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 4) {
		free(buf);
		return AS_E_NOT_FOUND;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, err_len, WIFEXITED(status) ? "zbarimg exited with status %d "
			 "(is %s a readable image?)" : "zbarimg was killed by signal %d (%s)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), path);
		free(buf);
		return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
	}
	buf[len] = '\0';
	rc = AS_E_NOT_FOUND;
	for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (strncmp(line, prefix, plen) != 0) {
			(*others)++;
			continue;
		}
		if (rc == 0)
			continue;
		rc = snprintf(out, cap, "%s", line) < (int)cap ? 0 : AS_E_OVERSIZE;
	}
	free(buf);
	return rc;
}
