/*
 * sources.c - scan sources on the libuv loop (see sources.h).
 *
 * Each source owns a line buffer, so a line split across reads is joined
 * and an oversized line is dropped whole with the reason "oversized"
 * without growing memory.  Devices are polled (uv_poll) and read with
 * non-blocking read(); stdin uses a libuv stream when it is a pipe or
 * terminal and chained uv_fs_read when it is a regular file.
 *
 * Lifetime: a source lives until gw_sources_free (its name is lent to
 * outcome events that may still be pending in the writer).  A socket
 * client is held while an outcome for it is pending (lineserver.h), so an
 * outcome never lands on freed memory.
 * Loop thread only.
 */
#include "sources.h"

#include "anshim/error.h"
#include "anshim/log.h"
#include "anshim/parse.h"
#include "evdev.h"
#include "linebuf.h"
#include "lineserver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define RETRY_MS 3000
#define READ_CHUNK 4096

enum source_type { SRC_STDIN, SRC_TTY, SRC_EVDEV, SRC_SOCKET };

struct gw_source {
	struct gw_sources *owner;
	struct gw_source *next;
	enum source_type type;
	char name[300];
	char path[256];
	int baud;
	int fd;                      /* tty/evdev: open fd or -1 */
	int polling;                 /* poll handle initialised and open */
	uv_poll_t poll;
	uv_timer_t retry;
	union {
		uv_pipe_t pipe;      /* stdin pipe */
		uv_tty_t tty;        /* stdin terminal */
	} stream;
	struct gw_lineserver *server; /* socket source */
	int stream_open;
	uv_fs_t file_req;            /* regular file: stdin or recorded events */
	int file_fd;                 /* its fd (0 for stdin), -1 if none */
	int file_reading;
	int64_t file_offset;
	char file_buf[READ_CHUNK];
	struct gw_linebuf lines;
	struct gw_evdev_decoder keys;
	int ungrabbed;               /* evdev path that is not a real device */
	unsigned char partial[sizeof(struct input_event)]; /* evdev: split record */
	size_t partial_len;
	const char *state;           /* static text */
	char error[160];
	uint64_t n_lines, n_oversized;
};

struct gw_sources {
	uv_loop_t *loop;
	struct gw_checkin *checkin;
	size_t max_line;
	struct gw_source *list;
	int stopping;
};

/* ---- spec parsing ---- */

static int baud_constant(int baud, speed_t *out)
{
	static const struct { int baud; speed_t c; } rates[] = {
		{1200, B1200}, {2400, B2400}, {4800, B4800}, {9600, B9600}, {19200, B19200},
		{38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400},
	};
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		if (rates[i].baud == baud) {
			*out = rates[i].c;
			return 0;
		}
	}
	return -1;
}

static int parse_spec(struct gw_source *src, const char *spec, char *err, size_t err_len)
{
	char kind[16] = "", path[256] = "", baud[16] = "", extra[2] = "";
	int n = sscanf(spec, "%15s %255s %15s %1s", kind, path, baud, extra);
	int64_t b = 9600;
	speed_t unused;

	src->baud = 0;
	if (n == 1 && strcmp(kind, "stdin") == 0) {
		src->type = SRC_STDIN;
		snprintf(src->name, sizeof src->name, "stdin");
		return 0;
	}
	if (n >= 2 && path[0] != '/') {
		snprintf(err, err_len, "source '%s': the path must be absolute", spec);
		return AS_E_CONFIG;
	}
	if (strcmp(kind, "tty") == 0 && (n == 2 || n == 3)) {
		if (n == 3 && (as_parse_int64(baud, 1, 4000000, &b) || baud_constant((int)b, &unused))) {
			snprintf(err, err_len, "source '%s': baud rate must be one of 1200, 2400, "
				 "4800, 9600, 19200, 38400, 57600, 115200, 230400", spec);
			return AS_E_CONFIG;
		}
		src->type = SRC_TTY;
		src->baud = (int)b;
	} else if (strcmp(kind, "evdev") == 0 && n == 2) {
		src->type = SRC_EVDEV;
	} else if (strcmp(kind, "socket") == 0 && n == 2) {
		src->type = SRC_SOCKET;
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, err_len, "source '%s': socket path too long (107 bytes max)", spec);
			return AS_E_CONFIG;
		}
	} else {
		snprintf(err, err_len, "source '%s' not understood (use: stdin | tty PATH [BAUD] | "
			 "evdev PATH | socket PATH)", spec);
		return AS_E_CONFIG;
	}
	snprintf(src->path, sizeof src->path, "%s", path);
	snprintf(src->name, sizeof src->name, "%s:%s", kind, path);
	return 0;
}

int gw_sources_check(const struct as_config_list *specs, char *err, size_t err_len)
{
	struct gw_source probe;
	int stdin_seen = 0;

	for (size_t i = 0; i < specs->n; i++) {
		int rc = parse_spec(&probe, specs->items[i], err, err_len);
		if (rc)
			return rc;
		if (probe.type == SRC_STDIN && stdin_seen++) {
			snprintf(err, err_len, "source stdin is given twice");
			return AS_E_CONFIG;
		}
	}
	return 0;
}

/* ---- lines to the check-in pipeline ---- */

static void on_line(void *ctx, const char *line, size_t len)
{
	struct gw_source *src = ctx;

	src->n_lines++;
	gw_checkin_scan(src->owner->checkin, line, len, src->name, NULL, NULL);
}

static void on_oversize(void *ctx, size_t dropped)
{
	struct gw_source *src = ctx;

	src->n_oversized++;
	as_log(AS_LOG_WARNING, "%s: dropped an oversized line (%zu bytes, limit %zu)",
	       src->name, dropped, src->owner->max_line);
	gw_checkin_report(src->owner->checkin, GW_OUTCOME_REJECTED, "oversized", src->name,
			  NULL, NULL);
}

static void set_error(struct gw_source *src, const char *what, int rc)
{
	snprintf(src->error, sizeof src->error, "%s: %s", what, as_strerror(rc));
	src->state = src->error;
}

/* ---- devices: tty and evdev, polled, reopened on failure ---- */

static void device_open(struct gw_source *src);
static int file_read_next(struct gw_source *src);

static void on_retry(uv_timer_t *t)
{
	device_open(t->data);
}

static void schedule_retry(struct gw_source *src)
{
	if (!src->owner->stopping)
		uv_timer_start(&src->retry, on_retry, RETRY_MS, 0);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct gw_source *src = h->data;

	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
	src->polling = 0;
	schedule_retry(src);
}

static void device_fail(struct gw_source *src, const char *what, int rc)
{
	set_error(src, what, rc);
	as_log(AS_LOG_WARNING, "%s: %s; retrying every %d s", src->name, src->error,
	       RETRY_MS / 1000);
	gw_linebuf_flush(&src->lines, on_line, on_oversize, src);
	if (src->polling && !uv_is_closing((uv_handle_t *)&src->poll))
		uv_close((uv_handle_t *)&src->poll, on_poll_closed);
}

static void feed_event(struct gw_source *src, const struct input_event *ev)
{
	int c = gw_evdev_decode(&src->keys, ev);

	if (c > 0) {
		char ch = (char)c;
		gw_linebuf_feed(&src->lines, &ch, 1, on_line, on_oversize, src);
	}
}

/* A real evdev device returns whole records, but a FIFO of recorded events
 * may split one across reads: keep the tail for the next read. */
static void feed_evdev(struct gw_source *src, const unsigned char *bytes, size_t n)
{
	const size_t rec = sizeof(struct input_event);
	struct input_event ev;

	if (src->partial_len) {
		size_t take = rec - src->partial_len < n ? rec - src->partial_len : n;
		memcpy(src->partial + src->partial_len, bytes, take);
		src->partial_len += take;
		bytes += take;
		n -= take;
		if (src->partial_len < rec)
			return;
		memcpy(&ev, src->partial, rec);
		src->partial_len = 0;
		feed_event(src, &ev);
	}
	for (; n >= rec; bytes += rec, n -= rec) {
		memcpy(&ev, bytes, rec);
		feed_event(src, &ev);
	}
	memcpy(src->partial, bytes, n);
	src->partial_len = n;
}

static void on_device_readable(uv_poll_t *handle, int status, int events)
{
	struct gw_source *src = handle->data;
	char buf[READ_CHUNK];

	(void)events;
	if (status < 0) {
		device_fail(src, "poll", status);
		return;
	}
	/* Bounded: at most 16 reads per wake-up, then back to the loop. */
	for (int round = 0; round < 16; round++) {
		ssize_t n = read(src->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			device_fail(src, n == 0 ? "end of input" : "read", n == 0 ? -ENODEV : -errno);
			return;
		}
		if (src->type == SRC_EVDEV)
			feed_evdev(src, (const unsigned char *)buf, (size_t)n);
		else
			gw_linebuf_feed(&src->lines, buf, (size_t)n, on_line, on_oversize, src);
	}
}

static int tty_configure(int fd, int baud)
{
	struct termios tio;
	speed_t speed;

	if (baud_constant(baud, &speed))
		return -EINVAL;
	if (tcgetattr(fd, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, speed) < 0 || cfsetospeed(&tio, speed) < 0)
		return -errno;
	if (tcsetattr(fd, TCSANOW, &tio) < 0)
		return -errno;
	tcflush(fd, TCIFLUSH);
	return 0;
}

static void device_open(struct gw_source *src)
{
	int rc, fd = -1;

	if (src->owner->stopping || src->polling || src->file_fd > 0)
		return;
	if (src->type == SRC_EVDEV) {
		rc = gw_evdev_open(src->path, &fd);
		if (rc == -ENOTTY || rc == -EINVAL) {
			/* Not an input device: recorded events in a FIFO or file. */
			fd = open(src->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			rc = fd < 0 ? -errno : 0;
			if (!rc && !src->ungrabbed) {
				as_log(AS_LOG_NOTICE, "%s: not an evdev device; reading recorded "
				       "input events without a grab", src->name);
				src->ungrabbed = 1;
			}
		}
		gw_evdev_decoder_init(&src->keys);
		src->partial_len = 0;
	} else {
		fd = open(src->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		rc = fd < 0 ? -errno : 0;
		if (!rc && isatty(fd)) {
			rc = tty_configure(fd, src->baud);
			if (rc)
				close(fd);
		}
	}
	if (rc) {
		set_error(src, "open", rc);
		schedule_retry(src);
		return;
	}
	{
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			src->file_fd = fd;
			src->file_offset = 0;
			src->state = "reading file";
			if (file_read_next(src)) {
				close(fd);
				src->file_fd = -1;
				set_error(src, "read", -EIO);
			}
			return;
		}
	}
	src->fd = fd;
	rc = uv_poll_init(src->owner->loop, &src->poll, fd);
	if (rc) {
		close(fd);
		src->fd = -1;
		set_error(src, "poll", rc);
		schedule_retry(src);
		return;
	}
	src->poll.data = src;
	src->polling = 1;
	uv_poll_start(&src->poll, UV_READABLE, on_device_readable);
	src->state = "open";
	as_log(AS_LOG_INFO, "%s: reading", src->name);
}

/* ---- stdin ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[READ_CHUNK]; /* loop thread only; consumed before the next read */

	(void)h;
	(void)suggested;
	buf->base = slab;
	buf->len = sizeof slab;
}

static void on_stdin_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct gw_source *src = stream->data;

	if (n > 0) {
		gw_linebuf_feed(&src->lines, buf->base, (size_t)n, on_line, on_oversize, src);
	} else if (n < 0) {
		gw_linebuf_flush(&src->lines, on_line, on_oversize, src);
		src->state = n == UV_EOF ? "end of input" : "read error";
		uv_read_stop(stream);
	}
}

/* Regular files (stdin redirected from a file, or a file of recorded
 * input events) cannot be polled: they are read in chained uv_fs_read
 * calls (file_read_next, declared at the top). */

static void on_file_read(uv_fs_t *req)
{
	struct gw_source *src = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	src->file_reading = 0;
	if (n > 0) {
		src->file_offset += n;
		if (src->type == SRC_EVDEV)
			feed_evdev(src, (const unsigned char *)src->file_buf, (size_t)n);
		else
			gw_linebuf_feed(&src->lines, src->file_buf, (size_t)n, on_line, on_oversize,
					src);
		if (!src->owner->stopping && file_read_next(src) == 0)
			return;
	}
	gw_linebuf_flush(&src->lines, on_line, on_oversize, src);
	src->state = n >= 0 ? "end of input" : "read error";
	if (src->file_fd > 0) {
		close(src->file_fd); /* a file does not grow back: no retry */
		src->file_fd = -1;
	}
}

static int file_read_next(struct gw_source *src)
{
	uv_buf_t b = uv_buf_init(src->file_buf, sizeof src->file_buf);
	int rc;

	src->file_req.data = src;
	rc = uv_fs_read(src->owner->loop, &src->file_req, src->file_fd, &b, 1, src->file_offset,
			on_file_read);
	src->file_reading = rc == 0;
	return rc;
}

static int stdin_start(struct gw_source *src)
{
	uv_loop_t *loop = src->owner->loop;
	uv_handle_type type = uv_guess_handle(0);
	int rc;

	if (type == UV_FILE) {
		src->file_fd = 0;
		rc = file_read_next(src);
	} else if (type == UV_TTY) {
		rc = uv_tty_init(loop, &src->stream.tty, 0, 1);
		if (!rc) {
			src->stream_open = 1;
			src->stream.tty.data = src;
			rc = uv_read_start((uv_stream_t *)&src->stream.tty, on_alloc, on_stdin_read);
		}
	} else if (type == UV_NAMED_PIPE) {
		rc = uv_pipe_init(loop, &src->stream.pipe, 0);
		if (!rc) {
			src->stream_open = 1;
			src->stream.pipe.data = src;
			rc = uv_pipe_open(&src->stream.pipe, 0);
		}
		if (!rc)
			rc = uv_read_start((uv_stream_t *)&src->stream.pipe, on_alloc, on_stdin_read);
	} else {
		src->state = "not readable";
		return 0; /* e.g. /dev/null under systemd: nothing to read */
	}
	if (rc)
		set_error(src, "stdin", rc);
	else
		src->state = "open";
	return 0;
}

/* ---- socket source ---- */

static void on_client_outcome(void *ctx, const struct gw_outcome_event *ev)
{
	struct gw_reply *r = ctx;
	char text[96];

	if (ev->outcome == GW_OUTCOME_REJECTED)
		snprintf(text, sizeof text, "rejected %s\n", ev->reason);
	else
		snprintf(text, sizeof text, "%s\n", gw_outcome_name(ev->outcome));
	gw_reply_fill(r, text, strlen(text));
}

/* Answers go back in the order the lines came (a rejection is known at
 * once, an acceptance only after the commit). */
static void on_client_line(void *ctx, struct gw_lineclient *cl, const char *line, size_t len)
{
	struct gw_source *src = ctx;
	struct gw_reply *r = gw_lineclient_reserve(cl);

	src->n_lines++;
	if (!r) {
		gw_lineclient_close(cl);
		return;
	}
	gw_checkin_scan(src->owner->checkin, line, len, src->name, on_client_outcome, r);
}

static void on_client_oversize(void *ctx, struct gw_lineclient *cl, size_t dropped)
{
	struct gw_source *src = ctx;
	struct gw_reply *r = gw_lineclient_reserve(cl);

	src->n_oversized++;
	as_log(AS_LOG_WARNING, "%s: dropped an oversized line (%zu bytes, limit %zu)",
	       src->name, dropped, src->owner->max_line);
	if (!r) {
		gw_lineclient_close(cl);
		return;
	}
	gw_checkin_report(src->owner->checkin, GW_OUTCOME_REJECTED, "oversized", src->name,
			  on_client_outcome, r);
}

static const struct gw_lineserver_ops scan_socket_ops = {on_client_line, on_client_oversize};

static int socket_start(struct gw_source *src, char *err, size_t err_len)
{
	int rc = gw_lineserver_start(&src->server, src->owner->loop, src->path, 0660,
				     src->owner->max_line, &scan_socket_ops, src, err, err_len);

	if (rc)
		set_error(src, "listen", rc);
	else
		src->state = "listening";
	return rc;
}

/* ---- the set ---- */

int gw_sources_start(struct gw_sources **out, uv_loop_t *loop, struct gw_checkin *checkin,
		     const struct as_config_list *specs, size_t max_line, char *err,
		     size_t err_len)
{
	struct gw_sources *s;
	struct gw_source **tail;
	int rc;

	*out = NULL;
	rc = gw_sources_check(specs, err, err_len);
	if (rc)
		return rc;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->checkin = checkin;
	s->max_line = max_line;
	tail = &s->list;
	for (size_t i = 0; i < specs->n; i++) {
		struct gw_source *src = calloc(1, sizeof *src);
		if (!src || gw_linebuf_init(&src->lines, max_line)) {
			free(src);
			gw_sources_stop(s);
			*out = s;
			return -ENOMEM;
		}
		parse_spec(src, specs->items[i], err, err_len);
		src->owner = s;
		src->fd = -1;
		src->file_fd = -1;
		src->state = "starting";
		uv_timer_init(loop, &src->retry);
		src->retry.data = src;
		*tail = src;
		tail = &src->next;
		switch (src->type) {
		case SRC_STDIN: rc = stdin_start(src); break;
		case SRC_SOCKET: rc = socket_start(src, err, err_len); break;
		default: device_open(src); rc = 0; break;
		}
		if (rc) {
			gw_sources_stop(s);
			*out = s;
			return rc;
		}
	}
	*out = s;
	return 0;
}

void gw_sources_stop(struct gw_sources *s)
{
	if (!s || s->stopping)
		return;
	s->stopping = 1;
	for (struct gw_source *src = s->list; src; src = src->next) {
		uv_timer_stop(&src->retry);
		uv_close((uv_handle_t *)&src->retry, NULL);
		if (src->polling && !uv_is_closing((uv_handle_t *)&src->poll))
			uv_close((uv_handle_t *)&src->poll, on_poll_closed);
		if (src->stream_open)
			uv_close((uv_handle_t *)&src->stream, NULL);
		if (src->file_reading)
			uv_cancel((uv_req_t *)&src->file_req);
		if (src->server)
			gw_lineserver_stop(src->server);
	}
}

void gw_sources_free(struct gw_sources *s)
{
	if (!s)
		return;
	while (s->list) {
		struct gw_source *src = s->list;
		s->list = src->next;
		gw_linebuf_free(&src->lines);
		free(src);
	}
	free(s);
}

void gw_sources_status_json(const struct gw_sources *s, struct as_strbuf *b)
{
	as_strbuf_add(b, "[");
	for (const struct gw_source *src = s ? s->list : NULL; src; src = src->next) {
		as_strbuf_add(b, src == s->list ? "{\"name\":" : ",{\"name\":");
		as_strbuf_add_json(b, src->name);
		as_strbuf_add(b, ",\"state\":");
		as_strbuf_add_json(b, src->state);
		as_strbuf_printf(b, ",\"lines\":%llu,\"oversized\":%llu}",
				 (unsigned long long)src->n_lines,
				 (unsigned long long)src->n_oversized);
	}
	as_strbuf_add(b, "]");
}
