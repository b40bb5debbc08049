/*
 * api_policy.c - GET /api/policy: the policy in force (the signed file in
 * the store directory, checked against sign.pub) and its history, newest
 * first; POST /api/policy {"level"}: a supervisor issues a new policy
 * through the same code as 'anshim-cloud policy set' (policy_set.h), with
 * the account's name in the history.
 *
 * Any handler thread; the files are read whole per request (the policy is
 * small; the history is read up to CS_POLICY_HISTORY_MAX bytes from its
 * end).
 */
#include "api_handlers.h"
#include "jsonin.h"

#include "policy_set.h"

#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CS_POLICY_HISTORY_MAX (256 * 1024)   /* bytes read from the end */
#define CS_POLICY_HISTORY_ROWS 500

/* The policy in force, or JSON null when none is saved yet. */
static int current_policy(const struct cs_ctx *ctx, json_t **out, char *err, size_t err_len)
{
	char path[PATH_MAX], issued[32];
	unsigned char *data = NULL;
	struct as_policy p;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof path, "%s/policy", ctx->cloud->store_dir);
	rc = as_file_read_all(path, AS_POLICY_MAX_BYTES, &data, &len);
	if (rc == -ENOENT) {
		*out = json_null();
		return 0;
	}
	if (!rc)
		rc = as_policy_decode(&p, data, len, ctx->sign_pk);
	free(data);
	if (rc) {
		snprintf(err, err_len, "%s: %s", path, as_strerror(rc));
		return rc;
	}
	*out = json_pack("{s:i, s:I, s:s, s:I, s:I}", "level", p.alert_level, "seq",
			 (json_int_t)p.policy_seq, "issued", as_format_time(issued, p.issued_at),
			 "revoked_gateways", (json_int_t)p.n_revoked_gateways,
			 "revoked_credentials", (json_int_t)p.n_revoked_holders);
	as_policy_free(&p);
	return *out ? 0 : -ENOMEM;
}

/* The history, newest first: the last CS_POLICY_HISTORY_ROWS lines. */
static int policy_history(const struct cs_ctx *ctx, json_t **out, char *err, size_t err_len)
{
	char path[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	off_t start;
	ssize_t n;
	int fd, rc = cl_policy_history_path(ctx->cloud, path, sizeof path);

	*out = json_array();
	if (!*out)
		return -ENOMEM;
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : (snprintf(err, err_len, "%s: %s", path,
						       as_strerror(-errno)), -errno);
	rc = fstat(fd, &st) ? -errno : 0;
	start = !rc && st.st_size > CS_POLICY_HISTORY_MAX ? st.st_size - CS_POLICY_HISTORY_MAX : 0;
	if (!rc && !(buf = malloc(CS_POLICY_HISTORY_MAX + 1)))
		rc = -ENOMEM;
	if (!rc) {
		n = pread(fd, buf, (size_t)(st.st_size - start), start);
		rc = n < 0 ? -errno : 0;
		if (!rc)
			buf[n] = '\0';
	}
	close(fd);
	if (rc) {
		snprintf(err, err_len, "%s: %s", path, as_strerror(rc));
		free(buf);
		return rc;
	}
	/* Lines from the end; a first line cut by the window is skipped. */
	for (char *end = buf + strlen(buf); end > buf && json_array_size(*out) <
	     CS_POLICY_HISTORY_ROWS;) {
		char *line;
		json_t *j;

		*end = '\0';
		line = end;
		while (line > buf && line[-1] != '\n')
			line--;
		if (line == buf && start > 0)
			break;
		j = *line ? json_loads(line, 0, NULL) : NULL;
		if (j && json_array_append_new(*out, j)) {
			free(buf);
			return -ENOMEM;
		}
		end = line > buf ? line - 1 : buf;
	}
	free(buf);
	return 0;
}

int cs_api_policy_get(const struct cs_ctx *ctx, const struct cs_call *call,
		      struct cs_reply *reply)
{
	json_t *current = NULL, *history = NULL;
	char err[PATH_MAX + 128] = "";
	int rc;

	(void)call;
	rc = current_policy(ctx, &current, err, sizeof err);
	if (!rc)
		rc = policy_history(ctx, &history, err, sizeof err);
	if (rc) {
		json_decref(current);
		json_decref(history);
		return cs_reply_error(reply, 500, "reading the policy: %s",
				      err[0] ? err : as_strerror(rc));
	}
	return cs_reply_json(reply, 200, json_pack("{s:o, s:o}", "current", current, "history",
						   history));
}

int cs_api_policy_set(const struct cs_ctx *ctx, const struct cs_call *call,
		      struct cs_reply *reply)
{
	int64_t level = 0;
	struct cl_policy_result res;
	char err[PATH_MAX + 512] = "", issued[32];
	const struct cs_in_field fields[] = {
		{"level", CS_IN_INT, 1, 1, 4, &level, NULL},
	};
	struct cl_policy_request rq = {0};
	int rc;

	if (cs_in_json(call->body, fields, 1, err, sizeof err))
		return cs_reply_error(reply, 400, "%s", err);
	rq.level = (int)level;
	rq.keys_dir = ctx->cloud->keys_dir;
	rq.who = call->user->name;
	rq.publish = 1;
	rc = cl_policy_set(ctx->cloud, ctx->store, &rq, &res, err, sizeof err);
	if (rc == -EACCES || rc == -ENOENT || rc == -EPERM || rc == AS_E_KEY_PERMS)
		return cs_reply_error(reply, 503, "the policy was not issued: %s (the console's "
				      "user needs sign.key and write access to the store directory; "
				      "until then use 'anshim-cloud policy set')", err);
	if (rc)
		return cs_reply_error(reply, 500, "the policy was not issued: %s", err);
	return cs_reply_json(reply, 200,
			     json_pack("{s:i, s:I, s:s, s:b, s:s?}", "level", (int)level, "seq",
				       (json_int_t)res.seq, "issued",
				       as_format_time(issued, res.issued), "published",
				       res.published, "publish_error",
				       res.published ? NULL : res.publish_error));
}
