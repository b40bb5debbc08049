/*
 * httpserver.c - the HTTP(S) server of Anshim's web daemons, over
 * libmicrohttpd (with GnuTLS for TLS).  See httpserver.h for what it
 * guarantees.
 *
 * How a request flows: libmicrohttpd parses it (we never parse HTTP
 * ourselves) and calls on_access several times: first when the headers
 * are in (we allocate the request, and refuse a Content-Length over
 * max_body with 413 before any of the body is read), then once per piece
 * of body (appended, bounded), then once with no more body, when we
 * dispatch: the callback for paths under api_prefix, a static file
 * otherwise.  Every response goes out through queue(), which adds the
 * security headers, so no response can leave without them.
 *
 * Invariants: a request's body never exceeds max_body bytes in memory; a
 * response is queued at most once per request; static files are opened
 * one path segment at a time below the directory with O_NOFOLLOW, so no
 * path (".." or a symbolic link) leads outside it; the TLS key stays in
 * memory only while the server runs, and is wiped when it stops.
 *
 * Streams: a response made from a content-reader callback of unknown
 * size.  When the application has no bytes, the reader parks the
 * connection (MHD_suspend_connection, which libmicrohttpd allows from a
 * content reader) and as_http_stream_wake resumes it.  Each stream has a
 * lock that orders "parked" against "woken", so a wake that arrives
 * between an empty read and the park is never lost; the application's
 * read runs outside that lock (it takes the application's own locks, and
 * wakes come from under them).  libmicrohttpd forbids stopping with a
 * parked connection, so stop first ends and resumes every stream (the
 * server keeps them in a list under streams_lock).
 *
 * Request bodies grow by copying into a larger buffer and wiping the old
 * one, and are wiped when freed: a body may hold a visitor's name.
 *
 * Threads: start and stop on the caller's thread; libmicrohttpd's fixed
 * pool of threads (epoll) runs on_access, the callback, stream reads and
 * on_completed, each request on one thread; as_http_stream_wake on any
 * thread.  The server struct is read-only while it runs, except the
 * stream list (streams_lock).
 */
#include "anshim/httpserver.h"

#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_FILE_MAX (1024 * 1024)   /* bytes of a PEM certificate chain or key */
#define STATIC_DEPTH_MAX 16          /* path segments of a static file */
#define THREADS_MAX 64

/* Content-Security-Policy: everything from this origin only, nothing
 * inline (no 'unsafe-inline' anywhere), no plugins, no framing. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; " \
	    "form-action 'self'; frame-ancestors 'none'"
#define HSTS "max-age=31536000"
/* TLS 1.2 and 1.3 only, GnuTLS's NORMAL ciphers otherwise. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct as_http_server {
	struct MHD_Daemon *daemon;
	struct as_http_config cfg;
	uint16_t port;
	int tls;
	int static_fd;                /* the static directory, or -1 */
	char *tls_cert, *tls_key;     /* PEM, NUL-terminated */
	size_t tls_key_len;
	_Atomic int starting;         /* start-up: keep libmicrohttpd's error */
	char start_error[256];
	pthread_mutex_t streams_lock; /* guards streams and each one's links */
	struct as_http_stream *streams;
};

struct as_http_stream {
	pthread_mutex_t lock;         /* guards parked, woken, ending */
	struct as_http_server *srv;
	struct MHD_Connection *conn;  /* set before the response is queued */
	as_http_stream_read read;
	as_http_stream_done done;
	void *ctx;
	int parked, woken, ending;
	struct as_http_stream *prev, *next;
};

struct as_http_request {
	struct MHD_Connection *conn;
	const struct as_http_server *srv;
	const char *method;           /* libmicrohttpd's, valid for the request */
	const char *path;
	char *body;                   /* malloc'd, NUL-terminated */
	size_t body_len, body_cap;
	int answered;                 /* a response was queued */
	char client[INET6_ADDRSTRLEN];
};

/* ---- addresses --------------------------------------------------------- */

int as_http_address_is_loopback(const char *text)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!text)
		return 0;
	if (inet_pton(AF_INET, text, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, text, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* ---- responses --------------------------------------------------------- */

int as_http_response_header(struct as_http_response *resp, const char *name,
			    const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (resp->n_headers >= AS_HTTP_HEADERS_MAX || nl == 0 ||
	    nl >= sizeof resp->headers[0].name || vl >= sizeof resp->headers[0].value ||
	    strpbrk(name, "\r\n: ") || strpbrk(value, "\r\n")) {
		resp->status = 500;
		return AS_E_FIELD;
	}
	memcpy(resp->headers[resp->n_headers].name, name, nl + 1);
	memcpy(resp->headers[resp->n_headers].value, value, vl + 1);
	resp->n_headers++;
	return 0;
}

int as_http_response_text(struct as_http_response *resp, int status,
			  const char *content_type, const char *text)
{
	free(resp->body);
	resp->body = strdup(text);
	if (!resp->body) {
		resp->body_len = 0;
		resp->status = 500;
		return -ENOMEM;
	}
	resp->body_len = strlen(text);
	resp->status = status;
	resp->content_type = content_type;
	return 0;
}

/* ---- streams ----------------------------------------------------------- */

struct as_http_stream *as_http_response_stream(struct as_http_response *resp,
					       const char *content_type,
					       as_http_stream_read read,
					       as_http_stream_done done, void *ctx)
{
	struct as_http_stream *st = calloc(1, sizeof *st);

	if (!st || pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st);
		done(ctx);
		resp->status = 500;
		return NULL;
	}
	st->read = read;
	st->done = done;
	st->ctx = ctx;
	resp->stream = st;
	resp->status = 200;
	resp->content_type = content_type;
	return st;
}

void as_http_stream_wake(struct as_http_stream *st)
{
	pthread_mutex_lock(&st->lock);
	st->woken = 1;
	if (st->parked) {
		st->parked = 0;
		MHD_resume_connection(st->conn);
	}
	pthread_mutex_unlock(&st->lock);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct as_http_stream *st = cls;
	long n;

	(void)pos;
	pthread_mutex_lock(&st->lock);
	if (st->ending) {
		pthread_mutex_unlock(&st->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	st->woken = 0;
	pthread_mutex_unlock(&st->lock);
	n = st->read(st->ctx, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > 0)
		return (ssize_t)(n > (long)max ? (long)max : n);
	pthread_mutex_lock(&st->lock);
	if (!st->woken && !st->ending) {
		st->parked = 1;
		MHD_suspend_connection(st->conn);
	}
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Unlink st, tell the application, free it. */
static void stream_free(void *cls)
{
	struct as_http_stream *st = cls;
	struct as_http_server *srv = st->srv;

	if (srv) {
		pthread_mutex_lock(&srv->streams_lock);
		if (st->prev)
			st->prev->next = st->next;
		else if (srv->streams == st)
			srv->streams = st->next;
		if (st->next)
			st->next->prev = st->prev;
		pthread_mutex_unlock(&srv->streams_lock);
	}
	st->done(st->ctx);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Queue r (consumed) with the security headers.  MHD_YES, or MHD_NO to
 * close the connection when even that failed. */
static enum MHD_Result queue(struct as_http_request *req, unsigned status,
			     struct MHD_Response *r, int api)
{
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, "Content-Security-Policy", CSP) != MHD_YES ||
	    MHD_add_response_header(r, "X-Frame-Options", "DENY") != MHD_YES ||
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    MHD_add_response_header(r, "Referrer-Policy", "no-referrer") != MHD_YES ||
	    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin") != MHD_YES ||
	    MHD_add_response_header(r, "Cache-Control", api ? "no-store" : "no-cache") != MHD_YES ||
	    (req->srv->tls &&
	     MHD_add_response_header(r, "Strict-Transport-Security", HSTS) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ok = MHD_queue_response(req->conn, status, r);
	MHD_destroy_response(r);
	req->answered = 1;
	return ok;
}

/* A short fixed answer from the server itself (413, 404, 405, 500). */
static enum MHD_Result queue_text(struct as_http_request *req, unsigned status,
				  const char *text, int api)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);

	if (r && api && MHD_add_response_header(r, "Content-Type", "application/json") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	if (r && !api &&
	    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	return queue(req, status, r, api);
}

/* ---- static files ------------------------------------------------------ */

static const struct {
	const char *ext;
	const char *type;
} content_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/vnd.microsoft.icon"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".webmanifest", "application/manifest+json"},
};

static const char *content_type_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof content_types / sizeof content_types[0]; i++)
		if (strcasecmp(dot, content_types[i].ext) == 0)
			return content_types[i].type;
	return "application/octet-stream";
}

/*
 * Open path (absolute URL path) below dir_fd: each segment must be a plain
 * name (not empty, no leading '.', no backslash), each directory is opened
 * with O_NOFOLLOW, and the last must be a regular file.  A path ending in
 * '/' means its index.html.  The fd, or -1.
 */
static int static_open(int dir_fd, const char *path, const char **leaf, struct stat *st)
{
	char buf[1024];
	char *segs[STATIC_DEPTH_MAX];
	static _Thread_local char html_name[256];
	size_t n = 0, len = strlen(path);
	int fd, next;

	if (len == 0 || path[0] != '/' || len + sizeof "index.html" > sizeof buf)
		return -1;
	memcpy(buf, path + 1, len);  /* with the NUL */
	if (len == 1 || path[len - 1] == '/')
		memcpy(buf + len - 1, "index.html", sizeof "index.html");
	for (char *p = buf; p;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (n == STATIC_DEPTH_MAX || p[0] == '\0' || p[0] == '.' || strchr(p, '\\'))
			return -1;
		segs[n++] = p;
		p = slash ? slash + 1 : NULL;
	}
	fd = dup(dir_fd);
	for (size_t i = 0; fd >= 0 && i < n; i++) {
		int last = i + 1 == n;
		next = openat(fd, segs[i],
			      O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY));
		if (next < 0 && last && errno == ENOENT && !strchr(segs[i], '.') &&
		    strlen(segs[i]) + sizeof ".html" <= sizeof html_name) {
			/* "/kiosk" is kiosk.html */
			snprintf(html_name, sizeof html_name, "%s.html", segs[i]);
			segs[i] = html_name;
			next = openat(fd, html_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		}
		close(fd);
		fd = next;
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	*leaf = path + len - strlen(segs[n - 1]);
	if (len == 1 || path[len - 1] == '/')
		*leaf = "index.html";
	else if (segs[n - 1] == html_name)
		*leaf = ".html";
	return fd;
}

static enum MHD_Result serve_static(struct as_http_request *req)
{
	const struct as_http_server *srv = req->srv;
	const char *leaf = NULL;
	struct stat st;
	int fd;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		struct MHD_Response *r = MHD_create_response_from_buffer(
			sizeof "method not allowed\n" - 1, (void *)"method not allowed\n",
			MHD_RESPMEM_PERSISTENT);
		if (r && MHD_add_response_header(r, "Allow", "GET, HEAD") != MHD_YES) {
			MHD_destroy_response(r);
			return MHD_NO;
		}
		return queue(req, MHD_HTTP_METHOD_NOT_ALLOWED, r, 0);
	}
	fd = srv->static_fd < 0 ? -1 : static_open(srv->static_fd, req->path, &leaf, &st);
	if (fd < 0)
		return queue_text(req, MHD_HTTP_NOT_FOUND, "not found\n", 0);
	/* A regular file opened O_NONBLOCK reads normally; clear it anyway. */
	if (fcntl(fd, F_SETFL, 0) != 0) {
		close(fd);
		return queue_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", 0);
	}
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, "Content-Type", content_type_of(leaf)) != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	return queue(req, MHD_HTTP_OK, r, 0);
}

/* ---- the callback ------------------------------------------------------ */

static enum MHD_Result serve_api(struct as_http_request *req)
{
	struct as_http_response resp;
	struct MHD_Response *r;

	memset(&resp, 0, sizeof resp);
	resp.status = 500;
	req->srv->cfg.handler(req->srv->cfg.handler_ctx, req, &resp);
	if (resp.status < 100 || resp.status > 599)
		resp.status = 500;
	if (resp.stream) {
		struct as_http_stream *st = resp.stream;
		struct as_http_server *srv = (struct as_http_server *)req->srv;
		free(resp.body);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, st,
						      stream_free);
		if (!r) {
			stream_free(st);
			return MHD_NO;
		}
		st->conn = req->conn;
		st->srv = srv;
		pthread_mutex_lock(&srv->streams_lock);
		st->next = srv->streams;
		if (st->next)
			st->next->prev = st;
		srv->streams = st;
		pthread_mutex_unlock(&srv->streams_lock);
	} else if (resp.body) {
		r = MHD_create_response_from_buffer(resp.body_len, resp.body, MHD_RESPMEM_MUST_FREE);
		if (!r)
			free(resp.body);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;
	if (resp.content_type &&
	    MHD_add_response_header(r, "Content-Type", resp.content_type) != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	for (size_t i = 0; i < resp.n_headers && i < AS_HTTP_HEADERS_MAX; i++) {
		if (MHD_add_response_header(r, resp.headers[i].name, resp.headers[i].value) !=
		    MHD_YES) {
			MHD_destroy_response(r);
			return MHD_NO;
		}
	}
	return queue(req, (unsigned)resp.status, r, 1);
}

/* ---- libmicrohttpd's callbacks ---------------------------------------- */

static int is_api(const struct as_http_server *srv, const char *path)
{
	const char *prefix = srv->cfg.api_prefix;

	return prefix && prefix[0] && strncmp(path, prefix, strlen(prefix)) == 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_size, void **req_cls)
{
	struct as_http_server *srv = cls;
	struct as_http_request *req = *req_cls;

	if (!req) {
		/* The headers are in.  No body has been read yet. */
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*req_cls = req;
		req->conn = conn;
		req->srv = srv;
		req->method = method;
		req->path = url;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ci ? ci->client_addr : NULL;
		if (sa && sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				  req->client, sizeof req->client);
		else if (sa && sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				  req->client, sizeof req->client);
		if (!req->client[0])
			snprintf(req->client, sizeof req->client, "unknown");

		int api = is_api(srv, url);
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
		    strcmp(method, "POST") != 0)
			return queue_text(req, MHD_HTTP_METHOD_NOT_ALLOWED,
					  api ? "{\"error\": \"method not allowed: use GET or POST\"}"
					      : "method not allowed\n",
					  api);
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end = NULL;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || end == cl || *end || n > srv->cfg.max_body) {
				char msg[128];
				snprintf(msg, sizeof msg,
					 api ? "{\"error\": \"request body over %zu bytes\"}"
					     : "request body over %zu bytes\n",
					 srv->cfg.max_body);
				struct MHD_Response *r = MHD_create_response_from_buffer(
					strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
				if (r && MHD_add_response_header(r, "Content-Type",
								 api ? "application/json"
								     : "text/plain; charset=utf-8") !=
						 MHD_YES) {
					MHD_destroy_response(r);
					return MHD_NO;
				}
				/* The rest of the body is never read: close after. */
				if (r && MHD_add_response_header(r, "Connection", "close") != MHD_YES) {
					MHD_destroy_response(r);
					return MHD_NO;
				}
				return queue(req, MHD_HTTP_CONTENT_TOO_LARGE, r, api);
			}
		}
		return MHD_YES;
	}
	if (req->answered) {
		/* Answered already (413): drop whatever body comes. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		if (n > srv->cfg.max_body - req->body_len) {
			/* A chunked body past the cap: no answer is possible in the
			 * middle of an upload; close the connection. */
			as_log(AS_LOG_NOTICE, "http: %s: request body over %zu bytes, connection closed",
			       req->client, srv->cfg.max_body);
			return MHD_NO;
		}
		if (req->body_len + n + 1 > req->body_cap) {
			/* Copy and wipe instead of realloc, which could leave a
			 * copy of the body behind in freed memory. */
			size_t cap = req->body_cap ? req->body_cap : 1024;
			while (cap < req->body_len + n + 1)
				cap *= 2;
			char *grown = malloc(cap);
			if (!grown)
				return MHD_NO;
			if (req->body) {
				memcpy(grown, req->body, req->body_len);
				sodium_memzero(req->body, req->body_cap);
				free(req->body);
			}
			req->body = grown;
			req->body_cap = cap;
		}
		memcpy(req->body + req->body_len, upload_data, n);
		req->body_len += n;
		req->body[req->body_len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	(void)version;
	if (is_api(srv, req->path) && srv->cfg.handler)
		return serve_api(req);
	return serve_static(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct as_http_request *req = *req_cls;

	(void)cls;
	(void)conn;
	(void)why;
	if (!req)
		return;
	if (req->body)
		sodium_memzero(req->body, req->body_cap);
	free(req->body);
	free(req);
	*req_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct as_http_server *srv = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (srv->starting) {
		snprintf(srv->start_error, sizeof srv->start_error, "%s", msg);
		return;
	}
	as_log(AS_LOG_NOTICE, "http: %s", msg);
}

/* ---- the request's accessors ------------------------------------------ */

const char *as_http_request_method(const struct as_http_request *req)
{
	return req->method;
}

const char *as_http_request_path(const struct as_http_request *req)
{
	return req->path;
}

const char *as_http_request_header(const struct as_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *as_http_request_cookie(const struct as_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *as_http_request_query(const struct as_http_request *req, const char *key)
{
	const char *value = NULL;
	size_t len = 0;

	if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key),
					  &value, &len) != MHD_YES)
		return NULL;
	return value ? value : "";
}

struct query_keys_walk {
	int (*fn)(void *ctx, const char *key);
	void *ctx;
	int rc;
};

static enum MHD_Result query_key_step(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct query_keys_walk *walk = cls;

	(void)kind;
	(void)value;
	walk->rc = walk->fn(walk->ctx, key);
	return walk->rc ? MHD_NO : MHD_YES;
}

int as_http_request_query_keys(const struct as_http_request *req,
			       int (*fn)(void *ctx, const char *key), void *ctx)
{
	struct query_keys_walk walk = {fn, ctx, 0};

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_key_step, &walk);
	return walk.rc;
}

const char *as_http_request_body(const struct as_http_request *req, size_t *len)
{
	*len = req->body_len;
	return req->body ? req->body : "";
}

const char *as_http_request_client(const struct as_http_request *req)
{
	return req->client;
}

int as_http_request_tls(const struct as_http_request *req)
{
	return req->srv->tls;
}

/* ---- start and stop ---------------------------------------------------- */

static int read_tls_file(const char *what, const char *path, int secret, char **out,
			 size_t *out_len, char *err, size_t err_len)
{
	struct stat st;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if (stat(path, &st) != 0) {
		rc = -errno;
		snprintf(err, err_len, "%s '%s': %s (give a PEM file made for this host)", what,
			 path, strerror(errno));
		return rc;
	}
	if (secret && (st.st_mode & S_IROTH)) {
		snprintf(err, err_len,
			 "%s '%s' is readable by every user (run: chmod o-rwx '%s')", what, path, path);
		return AS_E_CONFIG;
	}
	rc = as_file_read_all(path, TLS_FILE_MAX, &data, &len);
	if (rc != 0) {
		snprintf(err, err_len, "%s '%s': cannot read: %s", what, path, as_strerror(rc));
		return rc;
	}
	if (!strstr((const char *)data, "-----BEGIN ")) {
		if (secret)
			sodium_memzero(data, len);
		free(data);
		snprintf(err, err_len, "%s '%s' is not a PEM file (it has no -----BEGIN line)",
			 what, path);
		return AS_E_CONFIG;
	}
	*out = (char *)data;
	*out_len = len;
	return 0;
}

int as_http_tls_files_check(const char *cert_file, const char *key_file, char *err,
			    size_t err_len)
{
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	int rc = read_tls_file("tls_cert", cert_file, 0, &cert, &cert_len, err, err_len);

	if (rc == 0)
		rc = read_tls_file("tls_key", key_file, 1, &key, &key_len, err, err_len);
	if (key) {
		sodium_memzero(key, key_len);
		free(key);
	}
	free(cert);
	return rc;
}

int as_http_listen_check(const char *listen, const char *tls_cert, const char *tls_key,
			 const char *config_path, char *err, size_t err_len)
{
	struct in6_addr addr;
	char inner[512];
	int rc;

	if (!tls_cert != !tls_key) {
		as_err_printf(err, err_len, "%s: HTTPS needs both tls_cert and tls_key (only %s is "
			      "set)", config_path, tls_cert ? "tls_cert" : "tls_key");
		return AS_E_CONFIG;
	}
	if (!listen || (inet_pton(AF_INET, listen, &addr) != 1 &&
			inet_pton(AF_INET6, listen, &addr) != 1)) {
		as_err_printf(err, err_len, "%s: listen %s is not a numeric IP address (give one, "
			      "e.g. 127.0.0.1 or the LAN address)", config_path,
			      listen ? listen : "(unset)");
		return AS_E_CONFIG;
	}
	if (!tls_cert && !as_http_address_is_loopback(listen)) {
		as_err_printf(err, err_len, "%s: listen %s is not a loopback address, and plain HTTP "
			      "is allowed on loopback only: set tls_cert and tls_key, or listen on "
			      "127.0.0.1", config_path, listen);
		return AS_E_CONFIG;
	}
	if (tls_cert && (rc = as_http_tls_files_check(tls_cert, tls_key, inner, sizeof inner)) != 0) {
		as_err_printf(err, err_len, "%s: %s", config_path, inner);
		return rc;
	}
	return 0;
}

static void server_free(struct as_http_server *srv)
{
	if (srv->static_fd >= 0)
		close(srv->static_fd);
	if (srv->tls_key) {
		sodium_memzero(srv->tls_key, srv->tls_key_len);
		free(srv->tls_key);
	}
	free(srv->tls_cert);
	pthread_mutex_destroy(&srv->streams_lock);
	free(srv);
}

int as_http_server_start(const struct as_http_config *cfg, struct as_http_server **out,
			 char *err, size_t err_len)
{
	struct as_http_server *srv;
	struct sockaddr_storage ss;
	const char *address = cfg->address ? cfg->address : "127.0.0.1";
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	size_t cert_len = 0;
	int rc;

	*out = NULL;
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, address, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, address, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, err_len,
			 "listen '%s' is not a numeric IP address (give one, e.g. 127.0.0.1 or ::1)",
			 address);
		return AS_E_CONFIG;
	}
	if (!cfg->tls_cert_file != !cfg->tls_key_file) {
		snprintf(err, err_len, "TLS needs both tls_cert and tls_key (only %s is set)",
			 cfg->tls_cert_file ? "tls_cert" : "tls_key");
		return AS_E_CONFIG;
	}
	if (!cfg->tls_cert_file && !as_http_address_is_loopback(address)) {
		snprintf(err, err_len,
			 "listen '%s' is not a loopback address, and plain HTTP is allowed on "
			 "loopback only: set tls_cert and tls_key, or listen on 127.0.0.1",
			 address);
		return AS_E_CONFIG;
	}
	if (cfg->threads < 1 || cfg->threads > THREADS_MAX || cfg->max_connections < 1 ||
	    cfg->connection_timeout < 1 || !cfg->handler) {
		snprintf(err, err_len,
			 "http server: threads must be 1..%d, max_connections and "
			 "connection_timeout at least 1, and a handler given",
			 THREADS_MAX);
		return AS_E_CONFIG;
	}
	if (cfg->tls_cert_file && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, err_len,
			 "this libmicrohttpd has no TLS support (install Debian's libmicrohttpd12, "
			 "built with GnuTLS)");
		return AS_E_CONFIG;
	}

	srv = calloc(1, sizeof *srv);
	if (!srv) {
		snprintf(err, err_len, "http server: out of memory");
		return -ENOMEM;
	}
	srv->cfg = *cfg;
	srv->static_fd = -1;
	if (pthread_mutex_init(&srv->streams_lock, NULL) != 0) {
		free(srv);
		snprintf(err, err_len, "http server: cannot make a lock");
		return -ENOMEM;
	}
	if (cfg->static_dir) {
		srv->static_fd = open(cfg->static_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (srv->static_fd < 0) {
			rc = -errno;
			snprintf(err, err_len, "web_dir '%s': %s (install the console's web files there)",
				 cfg->static_dir, strerror(errno));
			server_free(srv);
			return rc;
		}
	}
	if (cfg->tls_cert_file) {
		rc = read_tls_file("tls_cert", cfg->tls_cert_file, 0, &srv->tls_cert, &cert_len,
				   err, err_len);
		if (rc == 0)
			rc = read_tls_file("tls_key", cfg->tls_key_file, 1, &srv->tls_key,
					   &srv->tls_key_len, err, err_len);
		if (rc != 0) {
			server_free(srv);
			return rc;
		}
		srv->tls = 1;
		flags |= MHD_USE_TLS;
	}

	struct MHD_OptionItem opts[16];
	size_t n = 0;
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
					    NULL};
	if (cfg->max_connections_per_ip)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
						    cfg->max_connections_per_ip, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
					    cfg->connection_timeout, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
					    (intptr_t)on_completed, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_log, srv};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
	if (srv->tls) {
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						    (void *)TLS_PRIORITIES};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	srv->starting = 1;
	srv->daemon = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_access, srv,
				       MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	srv->starting = 0;
	if (!srv->daemon) {
		snprintf(err, err_len, "cannot listen on %s port %u: %s", address,
			 (unsigned)cfg->port,
			 srv->start_error[0] ? srv->start_error
					     : "libmicrohttpd refused to start (port in use?)");
		server_free(srv);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon,
							     MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : cfg->port;
	*out = srv;
	return 0;
}

uint16_t as_http_server_port(const struct as_http_server *srv)
{
	return srv->port;
}

int as_http_server_tls(const struct as_http_server *srv)
{
	return srv->tls;
}

void as_http_server_stop(struct as_http_server *srv)
{
	if (!srv)
		return;
	/* End every stream and resume the parked ones: libmicrohttpd must not
	 * stop with a suspended connection.  Their done runs as the daemon
	 * closes them. */
	pthread_mutex_lock(&srv->streams_lock);
	for (struct as_http_stream *st = srv->streams; st; st = st->next) {
		pthread_mutex_lock(&st->lock);
		st->ending = 1;
		if (st->parked) {
			st->parked = 0;
			MHD_resume_connection(st->conn);
		}
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(&srv->streams_lock);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	server_free(srv);
}
