/*
 * revealclient.c - the client side of the reveal service (see
 * revealclient.h): one connection per call, one JSON request written and
 * the write side shut, one JSON answer read to the end of the stream.
 *
 * Invariants: every wait is a poll() bounded by what is left of
 * CL_REVEAL_TIMEOUT_MS; an answer larger than CL_REVEAL_ANSWER_MAX is
 * refused; the answer's buffer, which may hold phones and names, is wiped
 * before it is freed, and nothing personal goes into err.  No state: any
 * thread.
 */
#include "revealclient.h"
#include "capsulewire.h"
#include "revealwire.h"

#include "anshim/bytes.h"
#include "anshim/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (int guard = 0; guard < 1000; guard++) {
		struct pollfd p = {fd, events, 0};
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

static int connect_service(const char *path, int *out, char *err, size_t err_len)
{
	struct sockaddr_un sa;
	int fd, rc;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (!path || !path[0] || strlen(path) >= sizeof sa.sun_path) {
		as_err_printf(err, err_len, "reveal_socket '%s' is not a socket path (set it in the cloud "
		    "configuration)", path ? path : "");
		return AS_E_CONFIG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		as_err_printf(err, err_len, "cannot make a socket: %s", as_strerror(rc));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		rc = -errno;
		close(fd);
		as_err_printf(err, err_len, "cannot reach the reveal service at %s: %s (is anshim-revealed "
		    "running? start it with 'systemctl start anshim-revealed'; reveal_socket in "
		    "the cloud configuration names the socket)", path, as_strerror(rc));
		return rc;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		rc = -errno;
		close(fd);
		as_err_printf(err, err_len, "socket: %s", as_strerror(rc));
		return rc;
	}
	*out = fd;
	return 0;
}

/* Send req, read the answer into *answer (the caller json_decref's it).
 * An {"error"} answer is returned as its code, with its text in err. */
static int call(const char *path, json_t *req, json_t **answer, char *err, size_t err_len)
{
	int64_t deadline = now_ms() + CL_REVEAL_TIMEOUT_MS;
	char *text = NULL, *buf = NULL;
	size_t len, off = 0, cap = 0, got = 0;
	json_error_t je;
	json_t *a = NULL, *e;
	int fd = -1, rc;

	*answer = NULL;
	if (!req) {
		as_err_printf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text) {
		as_err_printf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	len = strlen(text);
	if ((rc = connect_service(path, &fd, err, err_len)) != 0)
		goto out;
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			goto io_failed;
		}
		if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
			goto io_failed;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;

		if (got == cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			char *nb;

			if (cap >= CL_REVEAL_ANSWER_MAX) {
				rc = AS_E_OVERSIZE;
				as_err_printf(err, err_len, "the reveal service's answer is larger than %u bytes",
				    CL_REVEAL_ANSWER_MAX);
				goto out;
			}
			nb = malloc(ncap);
			if (!nb) {
				rc = -ENOMEM;
				as_err_printf(err, err_len, "out of memory");
				goto out;
			}
			if (buf) {
				memcpy(nb, buf, got);
				sodium_memzero(buf, cap);
				free(buf);
			}
			buf = nb;
			cap = ncap;
		}
		n = recv(fd, buf + got, cap - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			rc = -errno;
			goto io_failed;
		}
		if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
			goto io_failed;
	}
	a = json_loadb(buf ? buf : "", got, 0, &je);
	if (!a || !json_is_object(a)) {
		rc = AS_E_CORRUPT;
		as_err_printf(err, err_len, "the reveal service gave no answer (%s): see its log "
		    "(journalctl -u anshim-revealed)", got ? "not JSON" : "it closed the connection");
		goto out;
	}
	e = json_object_get(a, "error");
	if (e) {
		const char *code = json_string_value(json_object_get(a, "code"));

		rc = cl_revealwire_rc(code ? code : "");
		as_err_printf(err, err_len, "%s", json_is_string(e) ? json_string_value(e) : "refused");
		goto out;
	}
	*answer = a;
	a = NULL;
	rc = 0;
	goto out;
io_failed:
	as_err_printf(err, err_len, "the reveal service at %s: %s", path,
	    rc == -ETIMEDOUT ? "no answer in time (it may be overloaded; see its log)" :
	    as_strerror(rc));
out:
	if (fd >= 0)
		close(fd);
	json_decref(a);
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	free(text);
	return rc;
}

/* call(), for an answer that is one number, key, into *out (if not NULL). */
static int call_u64(const char *path, json_t *req, const char *key, uint64_t *out, char *err,
		    size_t err_len)
{
	json_t *a, *v;
	int rc = call(path, req, &a, err, err_len);

	if (rc)
		return rc;
	v = json_object_get(a, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		as_err_printf(err, err_len, "the reveal service's answer has no '%s'", key);
		rc = AS_E_CORRUPT;
	} else if (out) {
		*out = (uint64_t)json_integer_value(v);
	}
	json_decref(a);
	return rc;
}

int cl_reveal_log_trace(const char *socket_path, const char *who,
			const struct cl_reveal_scope *scope, uint32_t contacts, uint64_t *seq,
			char *err, size_t err_len)
{
	json_t *req = json_pack("{s:s, s:s, s:o, s:I}", "op", "log_trace", "who", who ? who : "",
				"scope", cl_revealwire_scope_to_json(scope), "contacts",
				(json_int_t)contacts);

	return call_u64(socket_path, req, "seq", seq, err, err_len);
}

int cl_reveal_ask(const char *socket_path, const char *who, const struct cl_reveal_scope *scope,
		  uint64_t *request_id, char *err, size_t err_len)
{
	json_t *req = json_pack("{s:s, s:s, s:o}", "op", "ask", "who", who ? who : "", "scope",
				cl_revealwire_scope_to_json(scope));

	return call_u64(socket_path, req, "request", request_id, err, err_len);
}

int cl_reveal_decide(const char *socket_path, const char *who, uint64_t request_id,
		     int approve, const char *reason, char *err, size_t err_len)
{
	json_t *req = json_pack("{s:s, s:s, s:I, s:b, s:s}", "op", "decide", "who",
				who ? who : "", "request", (json_int_t)request_id, "approve",
				approve, "reason", reason ? reason : "");

	return call_u64(socket_path, req, "seq", NULL, err, err_len);
}

/* Hand each contact of an open/break-glass answer to sink, in order. */
static int feed_contacts(json_t *a, cl_reveal_sink sink, void *ctx, char *err, size_t err_len)
{
	json_t *list = json_object_get(a, "contacts"), *c;
	size_t i;
	int rc = 0;

	if (!json_is_array(list)) {
		as_err_printf(err, err_len, "the reveal service's answer has no contacts");
		return AS_E_CORRUPT;
	}
	json_array_foreach(list, i, c) {
		struct cl_revealed_contact rc_;
		const char *pid = json_string_value(json_object_get(c, "pid"));
		const char *phone = json_string_value(json_object_get(c, "phone"));
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *why = json_string_value(json_object_get(c, "why"));

		memset(&rc_, 0, sizeof rc_);
		if (!pid || strlen(pid) != 2 * AS_PID_LEN ||
		    as_hex_decode(rc_.pid, AS_PID_LEN, pid)) {
			as_err_printf(err, err_len, "the reveal service's answer has a bad pid");
			return AS_E_CORRUPT;
		}
		rc_.opened = json_is_true(json_object_get(c, "opened"));
		if (rc_.opened) {
			snprintf(rc_.phone, sizeof rc_.phone, "%s", phone ? phone : "");
			snprintf(rc_.name, sizeof rc_.name, "%s", name ? name : "");
		}
		rc_.why = why ? why : (rc_.opened ? "" : "not opened");
		rc = sink(ctx, &rc_);
		sodium_memzero(&rc_, sizeof rc_);
		if (rc)
			break;
	}
	return rc;
}

/* call(), for an answer of contacts, handed to sink. */
static int call_contacts(const char *path, json_t *req, cl_reveal_sink sink, void *ctx,
			 char *err, size_t err_len)
{
	json_t *a;
	int rc = call(path, req, &a, err, err_len);

	if (rc)
		return rc;
	rc = feed_contacts(a, sink, ctx, err, err_len);
	json_decref(a);
	return rc;
}

int cl_reveal_open(const char *socket_path, const char *who, uint64_t request_id,
		   cl_reveal_sink sink, void *ctx, char *err, size_t err_len)
{
	json_t *req = json_pack("{s:s, s:s, s:I}", "op", "open", "who", who ? who : "",
				"request", (json_int_t)request_id);

	return call_contacts(socket_path, req, sink, ctx, err, err_len);
}

int cl_reveal_break_glass(const char *socket_path, const struct cl_reveal_scope *scope,
			  cl_reveal_sink sink, void *ctx, char *err, size_t err_len)
{
	json_t *req = json_pack("{s:s, s:o}", "op", "break_glass", "scope",
				cl_revealwire_scope_to_json(scope));

	return call_contacts(socket_path, req, sink, ctx, err, err_len);
}

int cl_reveal_pid_of_phone(const char *socket_path, const char *phone, uint8_t pid[AS_PID_LEN],
			   char *err, size_t err_len)
{
	json_t *a, *req = json_pack("{s:s, s:s}", "op", "pid_of_phone", "phone", phone);
	const char *hex;
	int rc = call(socket_path, req, &a, err, err_len);

	if (rc)
		return rc;
	hex = json_string_value(json_object_get(a, "pid"));
	if (!hex || strlen(hex) != 2 * AS_PID_LEN || as_hex_decode(pid, AS_PID_LEN, hex)) {
		as_err_printf(err, err_len, "the reveal service's answer has no pid");
		rc = AS_E_CORRUPT;
	}
	json_decref(a);
	return rc;
}

/* An answer's "pids": n of them, each HEX32 or "" (all zero). */
static int answer_pids(json_t *a, size_t n, uint8_t (*pids)[AS_PID_LEN], char *err,
		       size_t err_len)
{
	json_t *got = json_object_get(a, "pids");
	int rc = 0;

	if (!json_is_array(got) || json_array_size(got) != n) {
		as_err_printf(err, err_len, "the reveal service's answer has not %zu pids", n);
		return AS_E_CORRUPT;
	}
	for (size_t i = 0; !rc && i < n; i++) {
		const char *p = json_string_value(json_array_get(got, i));

		if (p && p[0] == '\0')
			memset(pids[i], 0, AS_PID_LEN);
		else if (!p || strlen(p) != 2 * AS_PID_LEN || as_hex_decode(pids[i], AS_PID_LEN, p))
			rc = AS_E_CORRUPT;
	}
	if (rc)
		as_err_printf(err, err_len, "the reveal service's answer has a bad pid");
	return rc;
}

int cl_reveal_derive_pids(const char *socket_path, const uint8_t (*capsules)[AS_CAPSULE_LEN],
			  size_t n, uint8_t (*pids)[AS_PID_LEN], char *err, size_t err_len)
{
	json_t *list, *a, *req;
	char hex[2 * AS_CAPSULE_LEN + 1];
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > CL_REVEAL_DERIVE_MAX) {
		/* In slices the service takes. */
		for (size_t at = 0; at < n && !rc; at += CL_REVEAL_DERIVE_MAX)
			rc = cl_reveal_derive_pids(socket_path, capsules + at,
						   n - at < CL_REVEAL_DERIVE_MAX ? n - at
										 : CL_REVEAL_DERIVE_MAX,
						   pids + at, err, err_len);
		return rc;
	}
	list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		as_hex_encode(hex, capsules[i], AS_CAPSULE_LEN);
		if (json_array_append_new(list, json_string(hex))) {
			json_decref(list);
			list = NULL;
		}
	}
	req = list ? json_pack("{s:s, s:o}", "op", "derive_pids", "capsules", list) : NULL;
	rc = call(socket_path, req, &a, err, err_len);
	if (rc)
		return rc;
	rc = answer_pids(a, n, pids, err, err_len);
	json_decref(a);
	return rc;
}

int cl_reveal_derive_token_pids(const char *socket_path,
				const uint8_t sealed_key[CL_TOKCAP_SEALED_KEY_LEN],
				const struct cl_feed_issue *issues, size_t n,
				uint8_t (*pids)[AS_PID_LEN], uint8_t (*contacts)[AS_CAPSULE_LEN],
				char *err, size_t err_len)
{
	char key_hex[2 * CL_TOKCAP_SEALED_KEY_LEN + 1];
	char cap_hex[2 * CL_TOKCAP_LEN + 1];
	json_t *list, *a, *req;
	int rc;

	if (n == 0)
		return 0;
	if (n > CL_FEED_MAX_ISSUES) {
		as_err_printf(err, err_len, "at most %d issue capsules per request",
			      CL_FEED_MAX_ISSUES);
		return AS_E_FIELD;
	}
	list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		as_hex_encode(cap_hex, issues[i].capsule, CL_TOKCAP_LEN);
		if (json_array_append_new(list, json_pack("{s:I, s:I, s:i, s:s}", "serial",
							  (json_int_t)issues[i].serial,
							  "expires",
							  (json_int_t)issues[i].expires_at,
							  "count", (int)issues[i].count,
							  "capsule", cap_hex))) {
			json_decref(list);
			list = NULL;
		}
	}
	as_hex_encode(key_hex, sealed_key, CL_TOKCAP_SEALED_KEY_LEN);
	req = list ? json_pack("{s:s, s:s, s:o}", "op", "derive_token_pids", "sealed_key",
			       key_hex, "issues", list) : NULL;
	rc = call(socket_path, req, &a, err, err_len);
	if (rc)
		return rc;
	rc = answer_pids(a, n, pids, err, err_len);
	if (!rc) {
		json_t *got = json_object_get(a, "contacts");

		if (!json_is_array(got) || json_array_size(got) != n)
			rc = AS_E_CORRUPT;
		for (size_t i = 0; !rc && i < n; i++) {
			const char *p = json_string_value(json_array_get(got, i));

			if (p && p[0] == '\0')
				memset(contacts[i], 0, AS_CAPSULE_LEN);
			else if (!p || strlen(p) != 2 * AS_CAPSULE_LEN ||
				 as_hex_decode(contacts[i], AS_CAPSULE_LEN, p))
				rc = AS_E_CORRUPT;
		}
		if (rc)
			as_err_printf(err, err_len, "the reveal service's answer has no contact "
				      "capsule for every issue");
	}
	json_decref(a);
	return rc;
}
