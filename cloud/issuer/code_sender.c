/*
 * code_sender.c - runs the code-sending command (see code_sender.h).
 *
 * posix_spawn with file actions: stdin from a pipe we write and close,
 * stdout and stderr to /dev/null.  The wait polls waitpid(WNOHANG) in
 * short steps up to the deadline, then kills and reaps, so no child is
 * ever left behind and a hung gateway holds one request thread for at most
 * the timeout.  SIGPIPE is ignored by the daemon, so a command that never
 * reads its input gives EPIPE here, not a crash.
 *
 * Any thread (posix_spawn is thread-safe; the pipe's write end is made
 * close-on-exec so concurrent spawns never inherit each other's).
 */
#define _GNU_SOURCE 1 /* pipe2 */
#include "code_sender.h"

#include "anshim/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STEP_MS 5

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int is_sender_check(const char *command, char *err, size_t err_len)
{
	struct stat st;

	if (!command || command[0] != '/') {
		as_err_printf(err, err_len, "code_command must be an absolute path to the program "
			      "that sends text messages");
		return AS_E_CONFIG;
	}
	if (stat(command, &st) != 0 || !S_ISREG(st.st_mode) || access(command, X_OK) != 0) {
		as_err_printf(err, err_len, "code_command %s is not an executable file (install "
			      "the SMS gateway's client there, or set code_command)", command);
		return -ENOENT;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int is_sender_send(const char *command, const char *phone, const char *message,
		   int64_t timeout_ms, char *err, size_t err_len)
{
	static char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", NULL};
	char *argv[] = {(char *)command, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], rc, status = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		rc = -errno;
		as_err_printf(err, err_len, "cannot make a pipe for code_command: %s",
			      as_strerror(rc));
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, command, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		as_err_printf(err, err_len, "cannot run code_command %s: %s", command,
			      strerror(rc));
		return -rc;
	}
	int wrc = write_all(fds[1], phone, strlen(phone));
	if (!wrc)
		wrc = write_all(fds[1], "\n", 1);
	if (!wrc)
		wrc = write_all(fds[1], message, strlen(message));
	if (!wrc)
		wrc = write_all(fds[1], "\n", 1);
	close(fds[1]);

	int64_t deadline = now_ms() + timeout_ms;
	pid_t got;
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline) {
		struct timespec step = {0, STEP_MS * 1000000L};
		nanosleep(&step, NULL);
	}
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		as_err_printf(err, err_len, "code_command %s took longer than %lld ms and was "
			      "stopped (is the SMS gateway reachable?)", command,
			      (long long)timeout_ms);
		return AS_E_FIELD;
	}
	if (got < 0) {
		rc = -errno;
		as_err_printf(err, err_len, "waiting for code_command: %s", as_strerror(rc));
		return rc;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (wrc) {
			as_err_printf(err, err_len, "code_command %s exited 0 without reading the "
				      "phone and message", command);
			return AS_E_FIELD;
		}
		return 0;
	}
	if (WIFEXITED(status))
		as_err_printf(err, err_len, "code_command %s failed (exit status %d)", command,
			      WEXITSTATUS(status));
	else
		as_err_printf(err, err_len, "code_command %s was killed by signal %d", command,
			      WTERMSIG(status));
	return AS_E_FIELD;
}
