/*
 * lineserver.h - a Unix stream socket server that speaks lines: each line
 * a client writes is handed to a callback, and replies are written back as
 * lines.  Used by the scan socket source and the control socket.
 *
 * Clients may be answered after they hung up: a callback that will reply
 * later holds the client (gw_lineclient_hold) and releases it when done;
 * the client's memory lives until it is both closed and released.
 * Loop thread only.
 */
#ifndef GW_LINESERVER_H
#define GW_LINESERVER_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

struct gw_lineserver;
struct gw_lineclient;

struct gw_lineserver_ops {
	/* A complete line (NUL-terminated, len bytes, borrowed for the call). */
	void (*on_line)(void *ctx, struct gw_lineclient *cl, const char *line, size_t len);
	/* A line over max_line bytes was dropped (may be NULL). */
	void (*on_oversize)(void *ctx, struct gw_lineclient *cl, size_t dropped);
};

/*
 * Listen on path (a stale socket file there is replaced) with file mode
 * `mode`.  ops and ctx are borrowed.  On failure err names the path.
 */
int gw_lineserver_start(struct gw_lineserver **out, uv_loop_t *loop, const char *path,
			unsigned mode, size_t max_line, const struct gw_lineserver_ops *ops,
			void *ctx, char *err, size_t err_len);

/* Close the listener and every client and remove the socket file.  The
 * server's memory is freed by the loop's close callbacks. */
void gw_lineserver_stop(struct gw_lineserver *s);

/* Call fn for every open client. */
void gw_lineserver_foreach(struct gw_lineserver *s,
			   void (*fn)(void *arg, struct gw_lineclient *cl), void *arg);

/* Queue text (len bytes; should end in '\n') to the client; a closed
 * client ignores it.  A client whose unread replies exceed 1 MiB is
 * disconnected (a stuck event subscriber must not eat the gateway's
 * memory).  Returns 0 or a negative error. */
int gw_lineclient_send(struct gw_lineclient *cl, const char *text, size_t len);

/*
 * Answers in request order: reserve a reply slot when a request arrives
 * (this holds the client), fill it whenever the answer is known; filled
 * replies are written strictly in reservation order, so a client that
 * pipelines requests can match answers to them by position.  A slot of a
 * client that has gone is simply dropped when filled.
 */
struct gw_reply;
struct gw_reply *gw_lineclient_reserve(struct gw_lineclient *cl);
void gw_reply_fill(struct gw_reply *r, const char *text, size_t len);

void gw_lineclient_hold(struct gw_lineclient *cl);
void gw_lineclient_release(struct gw_lineclient *cl);
int gw_lineclient_is_open(const struct gw_lineclient *cl);
void gw_lineclient_close(struct gw_lineclient *cl);

/* The peer's uid (SO_PEERCRED), or (uid_t)-1 if unknown. */
uid_t gw_lineclient_uid(const struct gw_lineclient *cl);

/* A per-client word for the server's owner (e.g. "subscribed"). */
int *gw_lineclient_flags(struct gw_lineclient *cl);

#endif
