/*
 * anshim-revealed - the reveal service: the only process that reads
 * contact.key, pseudonym.key and audit.key.  It listens on the Unix socket
 * reveal_socket; each connection carries one JSON request (the client
 * shuts its write side) and gets one JSON answer, then closes
 * (docs/PROTOCOL.md, "Reveal service").  The decisions are service.c's.
 *
 * Invariants: a request is at most CL_REVEAL_REQUEST_MAX bytes and must
 * arrive within REQUEST_TIMEOUT_MS; at most CONN_MAX connections at once
 * (more are closed at once); the caller's credentials come from the
 * kernel (SO_PEERCRED, SO_PEERGROUPS) when it connects; the answer buffer
 * is wiped before it is freed.
 *
 * Threads: one libuv loop (daemon.c runs it) owns the socket and the
 * connections; each request is answered on the libuv pool
 * (uv_queue_work), so a slow trace holds up no other caller.
 */
#define _GNU_SOURCE /* struct ucred */
#include "clconfig.h"
#include "revealwire.h"
#include "service.h"

#include "anshim/daemon.h"
#include "anshim/error.h"
#include "anshim/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define CONN_MAX 64
#define REQUEST_TIMEOUT_MS 10000

struct revealed {
	const char *config_path;
	struct cl_config cfg;
	struct rv_service svc;
	int svc_open;
	uv_loop_t *loop;
	uv_pipe_t server;
	int server_open;
	unsigned conns;
};

struct conn {
	struct revealed *d;
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_work_t work;
	uv_write_t write;
	struct rv_peer peer;
	char *req;
	size_t len;
	char *answer;
	size_t answer_len;
	int closing, working, handles;
};

static const char usage_text[] =
"Usage: anshim-revealed [--config FILE] [--check-config]\n"
"       anshim-revealed --print-example-config\n"
"\n"
"The Anshim reveal service: the only process that can open the sealed\n"
"capsules holding visitors' phones and names (contact.key), derive\n"
"pseudonyms (pseudonym.key) and sign the audit log (audit.key). Run it as\n"
"its own system user, the only one that can read those three keys.\n"
"\n"
"It listens on the Unix socket reveal_socket of the cloud configuration.\n"
"It learns each caller's Unix user from the kernel, so no name is\n"
"self-asserted, and it writes the audit entry of every request before it\n"
"answers:\n"
"  - every trace ('anshim-cloud trace', the console) is recorded;\n"
"  - two-person reveal: a console investigator asks, a supervisor other\n"
"    than the asker approves or refuses (the roles are read from the\n"
"    accounts file), and only then may the asker open that request, for\n"
"    the contacts of that request's trace alone;\n"
"  - break-glass: 'anshim-cloud trace --reveal' works only for members of\n"
"    reveal_breakglass_group and is recorded as break-glass;\n"
"  - anshim-cloudd asks it for the pids of paper-register entries, and\n"
"    gets pids only.\n"
"\n"
"Options:\n"
"  -c, --config FILE        the cloud configuration (default " CL_DEFAULT_CONFIG ";\n"
"                           it must exist)\n"
"      --check-config       validate it, print the effective settings, check\n"
"                           the keys can be read and exit: 0 if the service\n"
"                           would start, 1 with the reason if not\n"
"      --print-example-config\n"
"                           print a commented configuration with every key\n"
"  -h, --help               this text\n"
"\n"
"Keys used from the configuration: store_dir, keys_dir, audit_log, accounts,\n"
"reveal_socket, reveal_console_user, reveal_breakglass_group, log_level.\n"
"See docs/OPERATE-CLOUD.md.\n";

/* ---- one connection --------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles > 0)
		return;
	c->d->conns--;
	if (c->req) {
		sodium_memzero(c->req, c->len);
		free(c->req);
	}
	if (c->answer) {
		sodium_memzero(c->answer, c->answer_len);
		free(c->answer);
	}
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing || c->working)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
	struct conn *c = w->data;

	(void)status;
	conn_close(c);
}

static void answer_work(uv_work_t *w)
{
	struct conn *c = w->data;

	c->answer = rv_service_answer(&c->d->svc, &c->peer, c->req ? c->req : "", c->len,
				      &c->answer_len);
}

static void answer_done(uv_work_t *w, int status)
{
	struct conn *c = w->data;
	uv_buf_t buf;

	c->working = 0;
	if (status != 0 || !c->answer || c->closing) {
		conn_close(c);
		return;
	}
	buf = uv_buf_init(c->answer, (unsigned)c->answer_len);
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->pipe, &buf, 1, on_written) != 0)
		conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	size_t room = CL_REVEAL_REQUEST_MAX - c->len;
	size_t want = suggested < 65536 ? 65536 : suggested;
	char *nb;

	(void)suggested;
	*buf = uv_buf_init(NULL, 0);
	if (room == 0)
		return;
	if (want > room)
		want = room;
	nb = malloc(c->len + want);
	if (!nb)
		return;
	if (c->req) {
		memcpy(nb, c->req, c->len);
		sodium_memzero(c->req, c->len);
		free(c->req);
	}
	c->req = nb;
	*buf = uv_buf_init(c->req + c->len, (unsigned)want);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	(void)buf;
	if (n > 0) {
		c->len += (size_t)n;
		return;
	}
	if (n == 0)
		return;
	uv_read_stop(s);
	if (n != UV_EOF) {
		as_log(AS_LOG_NOTICE, "a request from %s was cut off (%s)", c->peer.user,
		       uv_strerror((int)n));
		conn_close(c);
		return;
	}
	if (c->len >= CL_REVEAL_REQUEST_MAX) {
		as_log(AS_LOG_WARNING, "a request from %s is larger than %u bytes: dropped",
		       c->peer.user, CL_REVEAL_REQUEST_MAX);
		conn_close(c);
		return;
	}
	uv_timer_stop(&c->timer);
	c->work.data = c;
	if (uv_queue_work(c->d->loop, &c->work, answer_work, answer_done) == 0)
		c->working = 1;
	else
		conn_close(c);
}

static void on_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;

	as_log(AS_LOG_NOTICE, "a request from %s did not arrive within %d ms: dropped",
	       c->peer.user, REQUEST_TIMEOUT_MS);
	conn_close(c);
}

/* The caller's uid, gid and groups, from the kernel. */
static int peer_credentials(uv_pipe_t *p, struct rv_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	uv_os_fd_t fd;
	gid_t groups[RV_GROUPS_MAX];

	if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -1;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	len = sizeof groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		peer->ngroups = len / sizeof groups[0];
		memcpy(peer->groups, groups, peer->ngroups * sizeof groups[0]);
	}
	rv_peer_name(peer);
	return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct revealed *d = server->data;
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->d = d;
	uv_pipe_init(d->loop, &c->pipe, 0);
	uv_timer_init(d->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->handles = 2;
	d->conns++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (d->conns > CONN_MAX || peer_credentials(&c->pipe, &c->peer) != 0) {
		as_log(AS_LOG_WARNING, "%s: connection closed",
		       d->conns > CONN_MAX ? "too many callers at once" :
		       "the caller's credentials are unknown");
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, REQUEST_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0)
		conn_close(c);
}

/* ---- the daemon --------------------------------------------------------------- */

static int check_startup(const void *config, const char *config_path, char *err,
			 size_t err_len)
{
	(void)config_path;
	return rv_service_check(config, err, err_len);
}

static int start(void *ctx, uv_loop_t *loop, char *err, size_t err_len)
{
	struct revealed *d = ctx;
	const char *path = d->cfg.reveal_socket;
	struct stat st;
	int rc;

	d->loop = loop;
	if ((rc = rv_service_init(&d->svc, &d->cfg, err, err_len)) != 0)
		return rc;
	d->svc_open = 1;
	/* A socket left by a crash is replaced; anything else is not ours. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, err_len, "reveal_socket %s exists and is not a socket; "
				 "remove it or choose another path", path);
			return -EEXIST;
		}
		unlink(path);
	}
	uv_pipe_init(loop, &d->server, 0);
	d->server.data = d;
	d->server_open = 1;
	rc = uv_pipe_bind(&d->server, path);
	if (!rc) {
		/* Anyone may connect: every request is judged by its caller's
		 * credentials.  The directory's mode limits who reaches it. */
		chmod(path, 0666);
		rc = uv_listen((uv_stream_t *)&d->server, CONN_MAX, on_connection);
	}
	if (rc) {
		snprintf(err, err_len, "cannot listen on %s: %s (does its directory exist, and "
			 "may this user write to it?)", path, uv_strerror(rc));
		return rc;
	}
	return 0;
}

static void ready(void *ctx)
{
	struct revealed *d = ctx;

	as_log(AS_LOG_NOTICE, "ready: configuration %s, socket %s, audit log %s", d->config_path,
	       d->cfg.reveal_socket, d->cfg.audit_log);
}

static void stop(void *ctx)
{
	struct revealed *d = ctx;

	if (d->server_open) {
		uv_close((uv_handle_t *)&d->server, NULL);
		unlink(d->cfg.reveal_socket);
	}
	d->server_open = 0;
}

static int load_config(void *ctx, const char *path, char *err, size_t err_len)
{
	struct revealed *d = ctx;

	d->config_path = path;
	return cl_config_load(&d->cfg, path, err, err_len);
}

static int log_level(const void *ctx)
{
	const struct revealed *d = ctx;

	return cl_config_log_level(&d->cfg);
}

static void cleanup(void *ctx)
{
	struct revealed *d = ctx;

	if (d->svc_open)
		rv_service_free(&d->svc);
	cl_config_free(&d->cfg);
}

int main(int argc, char **argv)
{
	static const struct as_daemon_spec spec = {
		"anshim-revealed", usage_text, CL_DEFAULT_CONFIG, cl_config_table,
		sizeof(struct cl_config), check_startup,
	};
	static const struct as_daemon_ops ops = {
		load_config, log_level, start, ready, stop, NULL, cleanup,
	};
	static struct revealed d;

	return as_daemon_main(argc, argv, &spec, &ops, &d);
}
