/*
 * test_httpserver.c - the HTTP server module (common/src/httpserver.c),
 * started for real on a free loopback port and spoken to over a socket:
 * the port picked, the callback's view of a request (method, path, query,
 * header, cookie, body, client), the security headers on callback, static
 * and error responses, static files (types, index.html, no traversal, no
 * hidden files, no symbolic links), the body cap (413 before the body is
 * sent; the server keeps serving), methods refused, and the start-up
 * refusals (plain HTTP off loopback, half a TLS pair, a bad address);
 * streams (Server-Sent Events): bytes only when woken, a parked
 * connection resumed by a wake from another thread, the end of a stream,
 * and a stop with a parked stream (done called once, no hang); the
 * ".html" clean URL of a page.
 * TLS itself is tested by the console's integration tests.
 */
#include "test.h"

#include "anshim/httpserver.h"

#include "http_test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

static char web_dir[256];

static void on_api(void *ctx, const struct as_http_request *req, struct as_http_response *resp)
{
	char text[1024];
	size_t len = 0;
	const char *body = as_http_request_body(req, &len);
	const char *q = as_http_request_query(req, "q");
	const char *h = as_http_request_header(req, "x-test");
	const char *c = as_http_request_cookie(req, "sid");

	(void)ctx;
	snprintf(text, sizeof text, "%s %s q=%s h=%s c=%s len=%zu body=%.*s client=%s tls=%d",
		 as_http_request_method(req), as_http_request_path(req), q ? q : "-",
		 h ? h : "-", c ? c : "-", len, (int)(len > 100 ? 100 : len), body,
		 as_http_request_client(req), as_http_request_tls(req));
	as_http_response_text(resp, 200, "text/plain", text);
	as_http_response_header(resp, "Set-Cookie", "sid=abc; HttpOnly");
}

static struct as_http_config base_config(void)
{
	struct as_http_config cfg = {
		.address = "127.0.0.1",
		.port = 0,
		.threads = 2,
		.max_connections = 64,
		.max_connections_per_ip = 32,
		.connection_timeout = 10,
		.max_body = 64 * 1024,
		.api_prefix = "/api/",
		.static_dir = web_dir,
		.handler = on_api,
	};
	return cfg;
}

static void check_security_headers(const char *answer, const char *cache)
{
	char want[64];

	CHECK(has_header(answer, "\r\nContent-Security-Policy: default-src 'none'; script-src 'self'"));
	CHECK(!strstr(answer, "unsafe-inline"));
	CHECK(has_header(answer, "\r\nX-Frame-Options: DENY\r\n"));
	CHECK(has_header(answer, "\r\nX-Content-Type-Options: nosniff\r\n"));
	CHECK(has_header(answer, "\r\nReferrer-Policy: no-referrer\r\n"));
	snprintf(want, sizeof want, "\r\nCache-Control: %s\r\n", cache);
	CHECK(has_header(answer, want));
	/* Plain HTTP: no HSTS (it is for TLS only). */
	CHECK(!has_header(answer, "Strict-Transport-Security"));
}

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", web_dir, name);
	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		return;
	fputs(text, f);
	fclose(f);
}

static void make_web_dir(void)
{
	char path[512];

	snprintf(web_dir, sizeof web_dir, "/tmp/anshim-httpserver-XXXXXX");
	if (!mkdtemp(web_dir)) {
		perror("mkdtemp");
		exit(1);
	}
	write_file("index.html", "<!doctype html><title>t</title>");
	write_file("app.js", "export const x = 1;\n");
	write_file("style.css", "body{}\n");
	write_file(".hidden", "secret\n");
	snprintf(path, sizeof path, "%s/sub", web_dir);
	mkdir(path, 0755);
	write_file("sub/page.svg", "<svg/>");
	/* A symbolic link to a file outside the directory. */
	snprintf(path, sizeof path, "%s/passwd", web_dir);
	CHECK(symlink("/etc/passwd", path) == 0);
	snprintf(path, sizeof path, "%s/up", web_dir);
	CHECK(symlink("/etc", path) == 0);
}

static void remove_web_dir(void)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", web_dir);
	CHECK(system(cmd) == 0);
}

static void test_requests(void)
{
	struct as_http_config cfg = base_config();
	struct as_http_server *srv = NULL;
	char err[512], answer[65536];
	uint16_t port;

	if (!CHECK_OK(as_http_server_start(&cfg, &srv, err, sizeof err))) {
		fprintf(stderr, "start: %s\n", err);
		return;
	}
	port = as_http_server_port(srv);
	CHECK(port != 0);
	CHECK(!as_http_server_tls(srv));

	/* The callback sees the request; its response has the headers. */
	exchange(port,
		 "POST /api/echo?q=a%20b HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\n"
		 "Cookie: other=1; sid=s3cr3t\r\nContent-Type: application/json\r\n"
		 "Content-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}",
		 answer, sizeof answer);
	CHECK_EQ_INT(status_of(answer), 200);
	CHECK(strstr(answer, "POST /api/echo q=a b h=yes c=s3cr3t len=7 body={\"a\":1} "
			     "client=127.0.0.1 tls=0") != NULL);
	CHECK(has_header(answer, "\r\nSet-Cookie: sid=abc; HttpOnly\r\n"));
	check_security_headers(answer, "no-store");

	/* Static files: types, index.html for "/", no-cache. */
	exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", answer,
		 sizeof answer);
	CHECK_EQ_INT(status_of(answer), 200);
	CHECK(has_header(answer, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
	CHECK(strstr(answer, "<!doctype html>") != NULL);
	check_security_headers(answer, "no-cache");
	exchange(port, "GET /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", answer,
		 sizeof answer);
	CHECK_EQ_INT(status_of(answer), 200);
	CHECK(has_header(answer, "\r\nContent-Type: text/javascript; charset=utf-8\r\n"));
	exchange(port, "GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", answer,
		 sizeof answer);
	CHECK(has_header(answer, "\r\nContent-Type: text/css; charset=utf-8\r\n"));
	exchange(port, "GET /sub/page.svg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		 answer, sizeof answer);
	CHECK_EQ_INT(status_of(answer), 200);
	CHECK(has_header(answer, "\r\nContent-Type: image/svg+xml\r\n"));

	/* Never outside the directory, never hidden files or links. */
	static const char *const refused[] = {
		"/../etc/passwd", "/%2e%2e/etc/passwd", "/sub/../index.html",
		"/sub/%2e%2e/%2e%2e/etc/passwd", "/.hidden", "/passwd", "/up/passwd",
		"//etc/passwd", "/sub", "/nothing.html", "/sub\\page.svg",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char request[256];
		test_ctx("path %s", refused[i]);
		snprintf(request, sizeof request,
			 "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", refused[i]);
		exchange(port, request, answer, sizeof answer);
		int status = status_of(answer);
		CHECK(status == 404 || status == 400);
		CHECK(!strstr(answer, "root:"));
		CHECK(!strstr(answer, "secret"));
	}
	test_ctx("%s", "");

	/* Methods other than GET, HEAD and POST; POST to a static path. */
	exchange(port, "DELETE /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", answer,
		 sizeof answer);
	CHECK_EQ_INT(status_of(answer), 405);
	check_security_headers(answer, "no-store");
	exchange(port,
		 "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
		 "Connection: close\r\n\r\n",
		 answer, sizeof answer);
	CHECK_EQ_INT(status_of(answer), 405);

	/* 10 MiB announced: 413 at once, before any of the body is sent. */
	exchange(port,
		 "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n"
		 "Content-Type: application/json\r\n\r\n",
		 answer, sizeof answer);
	CHECK_EQ_INT(status_of(answer), 413);
	check_security_headers(answer, "no-store");
	CHECK(strstr(answer, "{\"error\": \"request body over 65536 bytes\"}") != NULL);
	/* Just over the cap, body sent: still 413; at the cap: served. */
	{
		size_t cap = 64 * 1024;
		char *req = malloc(cap + 256);
		if (CHECK(req != NULL)) {
			int h = snprintf(req, 256,
					 "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
					 "Connection: close\r\n\r\n",
					 cap);
			memset(req + h, 'x', cap);
			req[h + cap] = '\0';
			exchange(port, req, answer, sizeof answer);
			CHECK_EQ_INT(status_of(answer), 200);
			CHECK(strstr(answer, "len=65536") != NULL);
			free(req);
		}
	}
	/* A chunked body past the cap: cut off, and the server goes on. */
	{
		int fd = connect_to(port);
		if (CHECK(fd >= 0)) {
			const char *head = "POST /api/echo HTTP/1.1\r\nHost: x\r\n"
					   "Transfer-Encoding: chunked\r\n\r\n";
			char chunk[8192 + 16];
			int h = snprintf(chunk, sizeof chunk, "2000\r\n");
			memset(chunk + h, 'y', 8192);
			memcpy(chunk + h + 8192, "\r\n", 2);
			CHECK(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
			int closed = 0;
			for (int i = 0; i < 20 && !closed; i++)
				closed = write(fd, chunk, (size_t)h + 8194) < 0;
			read_all(fd, answer, sizeof answer);
			CHECK(status_of(answer) != 200);
			close(fd);
		}
	}
	exchange(port, "GET /api/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", answer,
		 sizeof answer);
	CHECK_EQ_INT(status_of(answer), 200);

	as_http_server_stop(srv);
}

static void test_start_refusals(void)
{
	struct as_http_config cfg = base_config();
	struct as_http_server *srv = NULL;
	char err[512];

	cfg.address = "0.0.0.0";
	CHECK_RC(as_http_server_start(&cfg, &srv, err, sizeof err), AS_E_CONFIG);
	CHECK(strstr(err, "not a loopback address") && strstr(err, "tls_cert"));
	CHECK(srv == NULL);
	cfg.address = "::";
	CHECK_RC(as_http_server_start(&cfg, &srv, err, sizeof err), AS_E_CONFIG);
	cfg.address = "localhost";
	CHECK_RC(as_http_server_start(&cfg, &srv, err, sizeof err), AS_E_CONFIG);
	CHECK(strstr(err, "numeric IP address") != NULL);
	cfg.address = "127.0.0.1";
	cfg.tls_cert_file = "/nonexistent/cert.pem";
	CHECK_RC(as_http_server_start(&cfg, &srv, err, sizeof err), AS_E_CONFIG);
	CHECK(strstr(err, "tls_key") != NULL);
	cfg.tls_key_file = "/nonexistent/key.pem";
	CHECK(as_http_server_start(&cfg, &srv, err, sizeof err) == -ENOENT);
	CHECK(strstr(err, "/nonexistent/cert.pem") != NULL);
	cfg = base_config();
	cfg.static_dir = "/nonexistent/web";
	CHECK(as_http_server_start(&cfg, &srv, err, sizeof err) == -ENOENT);
	CHECK(strstr(err, "web_dir") != NULL);

	CHECK(as_http_address_is_loopback("127.0.0.1"));
	CHECK(as_http_address_is_loopback("127.8.9.10"));
	CHECK(as_http_address_is_loopback("::1"));
	CHECK(!as_http_address_is_loopback("0.0.0.0"));
	CHECK(!as_http_address_is_loopback("10.0.0.1"));
	CHECK(!as_http_address_is_loopback("::"));
	CHECK(!as_http_address_is_loopback("localhost"));
}

static void test_port_in_use(void)
{
	struct as_http_config cfg = base_config();
	struct as_http_server *a = NULL, *b = NULL;
	char err[512];

	if (!CHECK_OK(as_http_server_start(&cfg, &a, err, sizeof err)))
		return;
	cfg.port = as_http_server_port(a);
	CHECK(as_http_server_start(&cfg, &b, err, sizeof err) != 0);
	CHECK(strstr(err, "cannot listen on 127.0.0.1 port") != NULL);
	CHECK(b == NULL);
	as_http_server_stop(a);
}

/* ---- streams ---- */

static struct {
	pthread_mutex_t lock;
	struct as_http_stream *st;
	char pending[64];
	int end;
	int done;
	unsigned reads_empty;
} g = {PTHREAD_MUTEX_INITIALIZER, NULL, "", 0, 0, 0};

static long stream_read(void *ctx, char *buf, size_t max)
{
	long n = 0;

	(void)ctx;
	pthread_mutex_lock(&g.lock);
	if (g.pending[0]) {
		n = (long)strlen(g.pending);
		if ((size_t)n > max)
			n = (long)max;
		memcpy(buf, g.pending, (size_t)n);
		g.pending[0] = '\0';
	} else if (g.end) {
		n = -1;
	} else {
		g.reads_empty++;
	}
	pthread_mutex_unlock(&g.lock);
	return n;
}

static void stream_done(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&g.lock);
	g.done++;
	g.st = NULL;
	pthread_mutex_unlock(&g.lock);
}

static void on_stream_api(void *ctx, const struct as_http_request *req,
			  struct as_http_response *resp)
{
	if (strcmp(as_http_request_path(req), "/api/stream") != 0) {
		on_api(ctx, req, resp);
		return;
	}
	pthread_mutex_lock(&g.lock);
	g.st = as_http_response_stream(resp, "text/event-stream", stream_read, stream_done, NULL);
	pthread_mutex_unlock(&g.lock);
}

/* Queue text for the stream and wake it (as an application thread would). */
static void stream_send(const char *text, int end)
{
	pthread_mutex_lock(&g.lock);
	snprintf(g.pending, sizeof g.pending, "%s", text);
	g.end = end;
	if (g.st)
		as_http_stream_wake(g.st);
	pthread_mutex_unlock(&g.lock);
}

static int stream_live(void)
{
	int live;

	pthread_mutex_lock(&g.lock);
	live = g.st != NULL && g.reads_empty > 0;
	pthread_mutex_unlock(&g.lock);
	return live;
}

/* Read from fd until buf holds want, or 10 s pass. */
static int read_until(int fd, char *buf, size_t cap, size_t *n, const char *want)
{
	time_t deadline = time(NULL) + 10;

	while (!strstr(buf, want) && *n + 1 < cap && time(NULL) < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t got = read(fd, buf + *n, cap - 1 - *n);
		if (got <= 0)
			break;
		*n += (size_t)got;
		buf[*n] = '\0';
	}
	return strstr(buf, want) != NULL;
}

static int wait_live(void)
{
	for (time_t deadline = time(NULL) + 10; time(NULL) < deadline;) {
		if (stream_live())
			return 1;
		poll(NULL, 0, 10);
	}
	return 0;
}

static void test_streams(void)
{
	struct as_http_config cfg = base_config();
	struct as_http_server *srv = NULL;
	static const char req[] = "GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n";
	char err[512], buf[8192] = "";
	size_t n = 0;
	int fd;

	cfg.handler = on_stream_api;
	if (!CHECK_OK(as_http_server_start(&cfg, &srv, err, sizeof err)))
		return;
	/* A stream that ends: its bytes, then the chunked end. */
	fd = connect_to(as_http_server_port(srv));
	CHECK(fd >= 0);
	CHECK(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	CHECK(wait_live()); /* answered, read once with nothing: parked */
	CHECK(read_until(fd, buf, sizeof buf, &n, "\r\n\r\n"));
	CHECK(status_of(buf) == 200);
	CHECK(has_header(buf, "\r\nContent-Type: text/event-stream\r\n"));
	CHECK(has_header(buf, "\r\nX-Content-Type-Options: nosniff\r\n"));
	CHECK(!strstr(buf, "data:"));
	stream_send("data: one\n\n", 0);
	CHECK(read_until(fd, buf, sizeof buf, &n, "data: one\n\n"));
	stream_send("data: two\n\n", 0);
	CHECK(read_until(fd, buf, sizeof buf, &n, "data: two\n\n"));
	stream_send("", 1);
	CHECK(read_until(fd, buf, sizeof buf, &n, "\r\n0\r\n\r\n"));
	close(fd);
	for (time_t deadline = time(NULL) + 10; time(NULL) < deadline && g.done < 1;)
		poll(NULL, 0, 10);
	CHECK(g.done == 1);

	/* A parked stream when the server stops: stop returns, done once. */
	g.end = 0;
	g.reads_empty = 0;
	fd = connect_to(as_http_server_port(srv));
	CHECK(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	CHECK(wait_live());
	as_http_server_stop(srv);
	CHECK(g.done == 2);
	CHECK(g.st == NULL);
	close(fd);
}

static void test_clean_urls(void)
{
	struct as_http_config cfg = base_config();
	struct as_http_server *srv = NULL;
	char err[512], answer[8192];

	write_file("kiosk.html", "<!doctype html><title>kiosk</title>");
	if (!CHECK_OK(as_http_server_start(&cfg, &srv, err, sizeof err)))
		return;
	exchange(as_http_server_port(srv), "GET /kiosk HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		 answer, sizeof answer);
	CHECK(status_of(answer) == 200);
	CHECK(has_header(answer, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
	CHECK(strstr(answer, "<title>kiosk</title>") != NULL);
	/* Only a name without a dot, and only when no such file exists. */
	exchange(as_http_server_port(srv), "GET /kiosk.htm HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		 answer, sizeof answer);
	CHECK(status_of(answer) == 404);
	exchange(as_http_server_port(srv), "GET /.hidden HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		 answer, sizeof answer);
	CHECK(status_of(answer) == 404);
	as_http_server_stop(srv);
}

int main(void)
{
	/* The cut-off upload writes past the server's close: it wants EPIPE
	 * from write(), not the signal that would end the test. */
	signal(SIGPIPE, SIG_IGN);
	make_web_dir();
	TEST_RUN(test_requests);
	TEST_RUN(test_start_refusals);
	TEST_RUN(test_port_in_use);
	TEST_RUN(test_streams);
	TEST_RUN(test_clean_urls);
	remove_web_dir();
	return TEST_DONE();
}
