/*
 * reveal_test.h - the reveal service in-process, for unit tests that run
 * the command line (cl_cmd_trace) against it: one thread accepts on a Unix
 * socket and answers each request with rv_service_answer, exactly as
 * anshim-revealed does (the caller's credentials from SO_PEERCRED and
 * SO_PEERGROUPS), one request per connection.  The daemon's own socket
 * loop is exercised by the integration tests.
 *
 *   struct reveal_test rt;
 *   reveal_test_start(&rt, "/tmp/x/cloud.conf");   (its reveal_socket)
 *   ... cl_cmd_trace(...) ...
 *   reveal_test_stop(&rt);
 */
#ifndef ANSHIM_REVEAL_TEST_H
#define ANSHIM_REVEAL_TEST_H

#include "service.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

struct reveal_test {
	struct cl_config cfg;
	struct rv_service svc;
	int fd, started;
	atomic_int stop;
	pthread_t thread;
};

static void reveal_test__serve(struct reveal_test *t, int c)
{
	struct {
		pid_t pid;
		uid_t uid;
		gid_t gid;
	} cred; /* struct ucred, which needs _GNU_SOURCE */
	struct rv_peer peer;
	socklen_t len = sizeof cred;
	size_t got = 0, alen = 0;
	char *req = malloc(1u << 20), *answer;

	memset(&peer, 0, sizeof peer);
	if (!req || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		goto out;
	peer.uid = cred.uid;
	peer.gid = cred.gid;
	len = sizeof peer.groups;
	if (getsockopt(c, SOL_SOCKET, SO_PEERGROUPS, peer.groups, &len) == 0)
		peer.ngroups = len / sizeof peer.groups[0];
	rv_peer_name(&peer);
	for (int guard = 0; guard < 100000 && got < (1u << 20); guard++) {
		ssize_t n = read(c, req + got, (1u << 20) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	answer = rv_service_answer(&t->svc, &peer, req, got, &alen);
	for (size_t off = 0; answer && off < alen;) {
		ssize_t n = write(c, answer + off, alen - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(answer);
out:
	free(req);
	close(c);
}

static void *reveal_test__run(void *arg)
{
	struct reveal_test *t = arg;

	while (!atomic_load(&t->stop)) {
		struct pollfd p = {t->fd, POLLIN, 0};
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(t->fd, NULL, NULL);
		if (c >= 0)
			reveal_test__serve(t, c);
	}
	return NULL;
}

/* Start serving the configuration at conf_path on its reveal_socket.
 * 0, or -1 with the reason on stderr. */
static int reveal_test_start(struct reveal_test *t, const char *conf_path)
{
	struct sockaddr_un sa;
	char err[1024];

	memset(t, 0, sizeof *t);
	t->fd = -1;
	if (cl_config_load(&t->cfg, conf_path, err, sizeof err) != 0 ||
	    rv_service_init(&t->svc, &t->cfg, err, sizeof err) != 0) {
		fprintf(stderr, "reveal_test: %s\n", err);
		cl_config_free(&t->cfg);
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", t->cfg.reveal_socket);
	unlink(sa.sun_path);
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(t->fd, 16) != 0 || pthread_create(&t->thread, NULL, reveal_test__run, t) != 0) {
		fprintf(stderr, "reveal_test: cannot serve %s: %s\n", sa.sun_path, strerror(errno));
		if (t->fd >= 0)
			close(t->fd);
		rv_service_free(&t->svc);
		cl_config_free(&t->cfg);
		return -1;
	}
	t->started = 1;
	return 0;
}

static void reveal_test_stop(struct reveal_test *t)
{
	if (!t->started)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->thread, NULL);
	close(t->fd);
	unlink(t->cfg.reveal_socket);
	rv_service_free(&t->svc);
	cl_config_free(&t->cfg);
	t->started = 0;
}

#endif
