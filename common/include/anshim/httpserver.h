/*
 * httpserver.h - one HTTP(S) server for Anshim's web daemons (the
 * investigator console, the gateway's staff screen), over libmicrohttpd with
 * GnuTLS.  Nothing in it knows about a particular application: a daemon
 * gives a listen address, TLS files, limits, a directory of static files
 * and one request callback.
 *
 * What the server guarantees for every request, before and after the
 * callback:
 *
 *  - Listening: on one numeric address (IPv4 or IPv6) and port; port 0
 *    picks a free port (as_http_server_port says which: tests use it).
 *    Plain HTTP only on a loopback address (127.0.0.0/8, ::1): any other
 *    address needs tls_cert and tls_key, or the start fails naming them.
 *  - Security headers on every response the server or the callback makes:
 *    a strict Content-Security-Policy (scripts, styles, images and
 *    requests from the same origin only; no inline script or style; no
 *    framing), X-Frame-Options DENY, X-Content-Type-Options nosniff,
 *    Referrer-Policy no-referrer, Cross-Origin-Opener-Policy same-origin,
 *    and Strict-Transport-Security under TLS.  Callback responses carry
 *    Cache-Control no-store; static files no-cache.
 *  - Request bodies: at most max_body bytes.  A request that announces a
 *    larger Content-Length is answered 413 at once, without reading the
 *    body; a chunked body that grows past the cap is cut off (the
 *    connection is closed: HTTP has no way to answer in the middle of an
 *    upload).  The callback always sees the whole body.
 *  - Connections: at most max_connections in all and
 *    max_connections_per_ip from one address; a connection idle for
 *    connection_timeout seconds (slow headers, a stalled body, an idle
 *    keep-alive) is closed.  The server is event-driven, so a slow client
 *    holds no thread: threads (a fixed pool) only run callbacks.
 *  - Routing: a path that starts with api_prefix goes to the callback;
 *    any other GET or HEAD is a file under static_dir ("/" is
 *    index.html; a last segment without a dot that names no file is
 *    looked up with ".html" added, so "/kiosk" serves kiosk.html), or
 *    404.  A static path with a segment that starts with
 *    '.' (so "..", and hidden files), a backslash or a NUL is refused
 *    (404); symbolic links are not followed; only regular files are
 *    served, with their content type from the extension.
 *
 *  - Request bodies are wiped (sodium_memzero) before they are freed:
 *    they may hold personal data typed into a form.
 *  - Streams (Server-Sent Events): a callback may answer with a stream
 *    instead of a body (as_http_response_stream).  The server then asks
 *    the application for bytes whenever the connection can take them;
 *    when the application has none, the connection is parked (it holds no
 *    thread and uses no CPU) until as_http_stream_wake.  A parked
 *    connection does not notice a client that went away, so the
 *    application should send something (an SSE comment) now and then.
 *    as_http_server_stop ends every stream first.
 *
 * Threads: as_http_server_start and as_http_server_stop from one thread
 * (the daemon's main thread).  The callback runs on the pool's threads,
 * several at once: it must be thread-safe.  The request it gets is valid
 * during the call only.  A stream's read and free functions run on the
 * pool's threads; as_http_stream_wake may be called from any thread.
 */
#ifndef ANSHIM_HTTPSERVER_H
#define ANSHIM_HTTPSERVER_H

#include <stddef.h>
#include <stdint.h>

#define AS_HTTP_HEADERS_MAX 6        /* extra response headers */
#define AS_HTTP_HEADER_VALUE_MAX 512 /* bytes per extra header value */

struct as_http_request;
struct as_http_server;
struct as_http_stream;

/* A stream's source of bytes: copy at most max bytes into buf and return
 * how many; 0 when there is nothing now (the connection is parked until
 * as_http_stream_wake); -1 to end the stream.  Runs on a pool thread,
 * one call at a time per stream; it must not block. */
typedef long (*as_http_stream_read)(void *ctx, char *buf, size_t max);
/* Called once when the stream is over (the client left, the read function
 * returned -1, or the server stops), on a pool thread or in
 * as_http_server_stop: after it returns, the stream pointer is invalid and
 * as_http_stream_wake must not be called with it again. */
typedef void (*as_http_stream_done)(void *ctx);

/* What the callback answers.  The server zeroes it, sets status 500, and
 * after the callback sends it and frees body. */
struct as_http_response {
	int status;                /* 200, 404, ... */
	char *body;                /* malloc'd; given to the server; may be NULL */
	size_t body_len;
	const char *content_type;  /* static string; NULL: no body type */
	struct as_http_stream *stream; /* set by as_http_response_stream */
	size_t n_headers;
	struct {
		char name[48];
		char value[AS_HTTP_HEADER_VALUE_MAX];
	} headers[AS_HTTP_HEADERS_MAX];
};

/* The request callback: fill resp.  Runs on a pool thread. */
typedef void (*as_http_handler)(void *ctx, const struct as_http_request *req,
				struct as_http_response *resp);

struct as_http_config {
	const char *address;             /* numeric IPv4/IPv6; NULL: 127.0.0.1 */
	uint16_t port;                   /* 0: pick a free port */
	const char *tls_cert_file;       /* PEM chain; both or neither */
	const char *tls_key_file;        /* PEM key; not readable by others */
	unsigned threads;                /* pool size, 1..64 */
	unsigned max_connections;        /* in all, >= 1 */
	unsigned max_connections_per_ip; /* from one address; 0: no limit */
	unsigned connection_timeout;     /* seconds idle, >= 1 */
	size_t max_body;                 /* bytes */
	const char *api_prefix;          /* e.g. "/api/"; these go to handler */
	const char *static_dir;          /* absolute; NULL: no static files */
	as_http_handler handler;
	void *handler_ctx;
};

/*
 * Start listening and serving.  cfg and the strings it points to are
 * borrowed for the life of the server (until as_http_server_stop).  On
 * error nothing runs, *out is NULL, and err (err_len bytes) names the
 * setting or file and what to do.  Returns 0, AS_E_CONFIG (a bad setting:
 * a plain listen address off loopback, TLS files missing or unreadable,
 * bounds), or -errno (the address is in use, ...).
 */
int as_http_server_start(const struct as_http_config *cfg, struct as_http_server **out,
			 char *err, size_t err_len);

/* The checks as_http_server_start makes of the TLS files, for a
 * daemon's --check-config: both readable PEM files, the key not readable
 * by every user.  0, or an error with err naming the file and the fix. */
int as_http_tls_files_check(const char *cert_file, const char *key_file, char *err,
			    size_t err_len);

/*
 * The listen rows of a web daemon's configuration table (config.h), the
 * same in every daemon that serves HTTPS to the network: keys listen,
 * port, tls_cert and tls_key, into the fields of those names in TYPE (char
 * *, int64_t, char *, char *), checked by as_http_listen_check.  Only the
 * default port and a few words of help differ: LOOPBACK_NOTE and
 * NETWORK_EXAMPLE complete the listen help, CERT_NOTE the tls_cert help,
 * and WHO names whose user alone may read the key ("the console's").
 */
#define AS_HTTP_LISTEN_CONFIG_ROWS(TYPE, DEFAULT_PORT, LOOPBACK_NOTE, NETWORK_EXAMPLE,         \
				   CERT_NOTE, WHO)                                            \
	{"listen", AS_CFG_STRING, offsetof(TYPE, listen), 1, 64, NULL, 0, "127.0.0.1",       \
	 "The IP address to listen on (numeric, IPv4 or IPv6). Plain HTTP is served "        \
	 "on a loopback address only " LOOPBACK_NOTE "; any other address, such as "         \
	 NETWORK_EXAMPLE ", needs tls_cert and tls_key."},                                     \
	{"port", AS_CFG_INT, offsetof(TYPE, port), 0, 65535, NULL, 0, DEFAULT_PORT,           \
	 "The TCP port. 0 picks a free port, named in the ready line of the log "            \
	 "(for tests)."},                                                                     \
	{"tls_cert", AS_CFG_PATH, offsetof(TYPE, tls_cert), 0, 0, NULL, 0, NULL,              \
	 "The server's TLS certificate chain (PEM), for HTTPS. Set together with "           \
	 "tls_key. " CERT_NOTE},                                                              \
	{"tls_key", AS_CFG_PATH, offsetof(TYPE, tls_key), 0, 0, NULL, 0, NULL,                \
	 "The TLS private key (PEM) of tls_cert: readable by " WHO " user only "             \
	 "(mode 0600 or 0640); one that every user may read is refused."}

/*
 * The start-up check of a web daemon's listen settings, shared by
 * --check-config and the start: tls_cert and tls_key both or neither; the
 * listen address numeric (IPv4 or IPv6); plain HTTP on a loopback address
 * only; the TLS files as as_http_tls_files_check wants them.  0, or
 * AS_E_CONFIG / the file's error with err ("CONFIG_PATH: ...") naming the
 * setting and the fix.  Any thread.
 */
int as_http_listen_check(const char *listen, const char *tls_cert, const char *tls_key,
			 const char *config_path, char *err, size_t err_len);

/* The port the server listens on (the one picked when cfg->port was 0). */
uint16_t as_http_server_port(const struct as_http_server *srv);

/* Whether the server speaks TLS. */
int as_http_server_tls(const struct as_http_server *srv);

/* Stop listening, close every connection, wait for running callbacks to
 * return, and free srv.  NULL is ignored. */
void as_http_server_stop(struct as_http_server *srv);

/* Is text a numeric loopback address (127.0.0.0/8 or ::1)?  1 or 0. */
int as_http_address_is_loopback(const char *text);

/* ---- the request, inside the callback (all strings borrowed) ---------- */

const char *as_http_request_method(const struct as_http_request *req);
/* The decoded path without the query: "/api/me". */
const char *as_http_request_path(const struct as_http_request *req);
/* A request header (name in any case), or NULL. */
const char *as_http_request_header(const struct as_http_request *req, const char *name);
/* A cookie's value, or NULL. */
const char *as_http_request_cookie(const struct as_http_request *req, const char *name);
/* A query argument's decoded value, or NULL ("" for "?key"). */
const char *as_http_request_query(const struct as_http_request *req, const char *key);
/* Call fn(ctx, key) for each query argument's key, in order, until fn
 * returns nonzero; returns that value, or 0. */
int as_http_request_query_keys(const struct as_http_request *req,
			       int (*fn)(void *ctx, const char *key), void *ctx);
/* The body (not NUL-terminated inside; a NUL follows it) and its length. */
const char *as_http_request_body(const struct as_http_request *req, size_t *len);
/* The client's address as text ("127.0.0.1"); never NULL. */
const char *as_http_request_client(const struct as_http_request *req);
/* Whether the request came over TLS. */
int as_http_request_tls(const struct as_http_request *req);

/* ---- building the response ------------------------------------------- */

/* Add a header (Set-Cookie, Retry-After, Content-Disposition, ...).  A
 * name or value with a CR, LF or NUL, too long, or one header too many is
 * refused: AS_E_FIELD (the response is then a 500). */
int as_http_response_header(struct as_http_response *resp, const char *name,
			    const char *value);

/* Set status and a copy of the text as the body with its content type.
 * 0, or -ENOMEM (status 500). */
int as_http_response_text(struct as_http_response *resp, int status,
			  const char *content_type, const char *text);

/*
 * Answer with a stream (status 200, content_type, e.g.
 * "text/event-stream") instead of a body.  read and done are called with
 * ctx as described above; done is called exactly once, also when this
 * fails.  Returns the stream (for as_http_stream_wake), owned by the
 * server; NULL when out of memory (then status 500, and done(ctx) has
 * been called).
 */
struct as_http_stream *as_http_response_stream(struct as_http_response *resp,
					       const char *content_type,
					       as_http_stream_read read,
					       as_http_stream_done done, void *ctx);

/* Tell the server that the stream has bytes again (or should end): a
 * parked connection is resumed and read is called.  Any thread; never
 * blocks on I/O.  Must not be called after the stream's done returned. */
void as_http_stream_wake(struct as_http_stream *st);

#endif
