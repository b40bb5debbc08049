/*
 * lineserver.c - line-oriented Unix socket server (see lineserver.h).
 *
 * Invariants: a client is on the server's list exactly while its handle is
 * open; its memory is released when it is closed and no holder remains;
 * the server struct is released after its own close callback and after its
 * last client has gone, whichever is later.  Loop thread only.
 */
#define _GNU_SOURCE /* struct ucred for SO_PEERCRED */
#include "lineserver.h"

#include "anshim/error.h"
#include "linebuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEND_QUEUE_LIMIT (1u << 20)

struct gw_reply {
	struct gw_reply *next;
	struct gw_lineclient *cl;
	char *text;               /* the answer (NULL if it could not be copied) */
	size_t len;
	int filled;
};

struct gw_lineclient {
	uv_pipe_t pipe;
	struct gw_reply *replies, *replies_tail; /* reserved, in order */
	struct gw_lineserver *server;
	struct gw_lineclient *prev, *next;
	struct gw_linebuf lines;
	unsigned holds;
	int open;                     /* 0 once a close was requested */
	int handle_closed;            /* the close callback has run */
	int flags;
	uid_t uid;
};

struct gw_lineserver {
	uv_pipe_t listener;
	uv_loop_t *loop;
	const struct gw_lineserver_ops *ops;
	void *ctx;
	size_t max_line;
	struct gw_lineclient *clients;
	unsigned live_clients;        /* allocated, not yet freed */
	int listener_closed;
	int stopping;
	char path[108];
};

struct line_write {
	uv_write_t req;
	char text[];
};

static void server_maybe_free(struct gw_lineserver *s)
{
	if (s->listener_closed && s->live_clients == 0)
		free(s);
}

static void client_maybe_free(struct gw_lineclient *cl)
{
	struct gw_lineserver *s;

	if (!cl->handle_closed || cl->holds)
		return;
	s = cl->server;
	gw_linebuf_free(&cl->lines);
	free(cl);
	s->live_clients--;
	server_maybe_free(s);
}

static void on_client_closed(uv_handle_t *h)
{
	struct gw_lineclient *cl = h->data;

	cl->handle_closed = 1;
	client_maybe_free(cl);
}

void gw_lineclient_close(struct gw_lineclient *cl)
{
	struct gw_lineserver *s = cl->server;

	if (!cl->open)
		return;
	cl->open = 0;
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		s->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	cl->prev = cl->next = NULL;
	uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

struct gw_reply *gw_lineclient_reserve(struct gw_lineclient *cl)
{
	struct gw_reply *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->cl = cl;
	if (cl->replies_tail)
		cl->replies_tail->next = r;
	else
		cl->replies = r;
	cl->replies_tail = r;
	cl->holds++;
	return r;
}

void gw_reply_fill(struct gw_reply *r, const char *text, size_t len)
{
	struct gw_lineclient *cl = r->cl;

	r->text = malloc(len ? len : 1);
	if (r->text)
		memcpy(r->text, text, len);
	r->len = r->text ? len : 0; /* out of memory: nothing, but order kept */
	r->filled = 1;
	/* Write every filled reply at the head of the queue, in order.  Each
	 * reply held the client; an extra hold keeps cl alive for the loop. */
	cl->holds++;
	while (cl->replies && cl->replies->filled) {
		struct gw_reply *head = cl->replies;
		cl->replies = head->next;
		if (!cl->replies)
			cl->replies_tail = NULL;
		if (head->len)
			gw_lineclient_send(cl, head->text, head->len);
		free(head->text);
		free(head);
		cl->holds--;
	}
	gw_lineclient_release(cl);
}

void gw_lineclient_hold(struct gw_lineclient *cl)
{
	cl->holds++;
}

void gw_lineclient_release(struct gw_lineclient *cl)
{
	cl->holds--;
	client_maybe_free(cl);
}

int gw_lineclient_is_open(const struct gw_lineclient *cl)
{
	return cl->open;
}

uid_t gw_lineclient_uid(const struct gw_lineclient *cl)
{
	return cl->uid;
}

int *gw_lineclient_flags(struct gw_lineclient *cl)
{
	return &cl->flags;
}

static void on_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

int gw_lineclient_send(struct gw_lineclient *cl, const char *text, size_t len)
{
	struct line_write *w;
	uv_buf_t b;
	int rc;

	if (!cl->open)
		return 0;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&cl->pipe) > SEND_QUEUE_LIMIT) {
		gw_lineclient_close(cl);
		return -ENOBUFS;
	}
	w = malloc(sizeof *w + len);
	if (!w)
		return -ENOMEM;
	memcpy(w->text, text, len);
	b = uv_buf_init(w->text, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1, on_written);
	if (rc) {
		free(w);
		gw_lineclient_close(cl);
	}
	return rc;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[4096]; /* loop thread only; consumed before the next read */

	(void)h;
	(void)suggested;
	buf->base = slab;
	buf->len = sizeof slab;
}

static void deliver_line(void *arg, const char *line, size_t len)
{
	struct gw_lineclient *cl = arg;

	if (cl->open)
		cl->server->ops->on_line(cl->server->ctx, cl, line, len);
}

static void deliver_oversize(void *arg, size_t dropped)
{
	struct gw_lineclient *cl = arg;

	if (cl->open && cl->server->ops->on_oversize)
		cl->server->ops->on_oversize(cl->server->ctx, cl, dropped);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct gw_lineclient *cl = stream->data;

	/* Hold across the callbacks: one of them may close the client. */
	cl->holds++;
	if (n > 0) {
		gw_linebuf_feed(&cl->lines, buf->base, (size_t)n, deliver_line, deliver_oversize, cl);
	} else if (n < 0) {
		gw_linebuf_flush(&cl->lines, deliver_line, deliver_oversize, cl);
		gw_lineclient_close(cl);
	}
	cl->holds--;
	client_maybe_free(cl);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct gw_lineserver *s = listener->data;
	struct gw_lineclient *cl;
	struct ucred cred;
	socklen_t cred_len = sizeof cred;
	uv_os_fd_t fd;

	if (status < 0 || s->stopping)
		return;
	cl = calloc(1, sizeof *cl);
	if (!cl)
		return;
	if (gw_linebuf_init(&cl->lines, s->max_line)) {
		free(cl);
		return;
	}
	cl->server = s;
	cl->uid = (uid_t)-1;
	s->live_clients++;
	uv_pipe_init(s->loop, &cl->pipe, 0);
	cl->pipe.data = cl;
	cl->open = 1;
	cl->next = s->clients;
	if (s->clients)
		s->clients->prev = cl;
	s->clients = cl;
	if (uv_accept(listener, (uv_stream_t *)&cl->pipe) ||
	    uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read)) {
		gw_lineclient_close(cl);
		return;
	}
	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0)
		cl->uid = cred.uid;
}

int gw_lineserver_start(struct gw_lineserver **out, uv_loop_t *loop, const char *path,
			unsigned mode, size_t max_line, const struct gw_lineserver_ops *ops,
			void *ctx, char *err, size_t err_len)
{
	struct gw_lineserver *s;
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof s->path) {
		snprintf(err, err_len, "socket path %s is too long (107 bytes at most)", path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->ops = ops;
	s->ctx = ctx;
	s->max_line = max_line;
	snprintf(s->path, sizeof s->path, "%s", path);
	unlink(path); /* a stale socket left by a crash */
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	rc = uv_pipe_bind(&s->listener, path);
	if (!rc)
		rc = chmod(path, mode) < 0 ? -errno : 0;
	if (!rc)
		rc = uv_listen((uv_stream_t *)&s->listener, 64, on_connection);
	if (rc) {
		snprintf(err, err_len, "cannot listen on %s: %s (check that its directory exists "
			 "and is writable)", path, uv_strerror(rc));
		s->stopping = 1;
		gw_lineserver_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct gw_lineserver *s = h->data;

	s->listener_closed = 1;
	server_maybe_free(s);
}

void gw_lineserver_stop(struct gw_lineserver *s)
{
	if (!s || uv_is_closing((uv_handle_t *)&s->listener))
		return;
	s->stopping = 1;
	while (s->clients)
		gw_lineclient_close(s->clients);
	unlink(s->path);
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

void gw_lineserver_foreach(struct gw_lineserver *s,
			   void (*fn)(void *arg, struct gw_lineclient *cl), void *arg)
{
	struct gw_lineclient *cl = s->clients, *next;

	for (; cl; cl = next) {
		next = cl->next; /* fn may close cl */
		fn(arg, cl);
	}
}
