/*
 * witness.c - anshim-cloudd's audit witness (see witness.h).
 *
 * State, all on the loop thread:
 *   - what the log looked like at the last stat (device, inode, size,
 *     mtime); a change marks it dirty;
 *   - known: the newest head witnessed, from our own publish or from the
 *     broker (its retained head at connection, or one someone else
 *     published), and whether the log has been found to hold it;
 *   - published: the last head this process published, and when.
 *
 * Every second the tick stats the log and, when there is something to do
 * (the log changed, a head from the broker to check, a head due), queues
 * one read in the thread pool (never two at a time): the last entry (tail
 * read, signature checked) and, when a head is known, whether the log still
 * holds it: the same entry; or, for a head this process read from the log
 * itself, the entry whose line ends where that head's did (O(1): every line
 * before it has one spelling, so an intact log holds it at the same byte);
 * or, for a head from the broker, a walk of the log up to it (chain and
 * hashes checked: O(log), once per connection).  The answer comes back on the loop, which logs what is
 * wrong or decides to publish.
 *
 * Invariants:
 *   - a head is published only for a last entry whose signature verifies,
 *     and only if the log holds every head witnessed before it: a head is
 *     never published that would hide a cut or a rewrite;
 *   - the first head of a connection waits for the broker's retained one
 *     (checked first) or SETTLE_MS after the subscription;
 *   - an error is logged when it starts or changes, not every second.
 */
#include "witness.h"

#include "audit.h"
#include "audithead.h"

#include "anshim/error.h"
#include "anshim/log.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WITNESS_POLL_MS 1000
#define WITNESS_SETTLE_MS 2000
#define WITNESS_ERR_MAX 600
#define WITNESS_MSG_MAX (WITNESS_ERR_MAX + 300) /* an error with its fix */

/* One read in the thread pool: input (check) and answers. */
struct witness_job {
	struct cl_audit_head check;  /* the head the log must hold (seq 0: none) */
	struct cl_audit_head last;   /* the log's last entry (seq 0: empty) */
	int rc;                      /* reading the log failed: err says why */
	int held;                    /* the log holds check */
	char err[WITNESS_ERR_MAX];
};

struct cl_witness {
	uv_loop_t *loop;
	uv_timer_t tick;
	uv_work_t work;
	char *path;
	struct cl_audit_keys keys;
	uint64_t every, interval_ms;
	cl_witness_publish_fn publish;
	void *ctx;

	int busy, stopping, tick_closed;
	struct stat seen;
	int seen_ok, dirty;

	int connected;
	uint64_t settle_until;       /* uv_now; first head of a connection not before */
	int connect_due;             /* the connection's first head is due */
	int force;                   /* replace the broker's head at once */

	struct cl_audit_head known, published;
	int have_known, known_checked, have_published;
	uint64_t published_at;       /* uv_now */
	int blocked;                 /* the log does not hold known */
	int stuck;                   /* blocked, or the last read failed: read
				      * again only when the log changes */
	char reported[WITNESS_MSG_MAX];

	struct witness_job job;
};

static int same_head(const struct cl_audit_head *a, const struct cl_audit_head *b)
{
	return a->seq == b->seq && a->version == b->version &&
	       sodium_memcmp(a->hash, b->hash, sizeof a->hash) == 0 &&
	       sodium_memcmp(a->sig, b->sig, sizeof a->sig) == 0;
}

/* Log msg at ERR once until it changes or things are well again. */
static void report(struct cl_witness *w, const char *msg)
{
	if (strcmp(w->reported, msg) == 0)
		return;
	snprintf(w->reported, sizeof w->reported, "%s", msg);
	as_log(AS_LOG_ERR, "%s", msg);
}

/* ---- thread pool ---- */

static void witness__read(uv_work_t *req)
{
	struct cl_witness *w = req->data;
	struct witness_job *j = &w->job;
	uint8_t hash[CL_AUDIT_HASH_LEN];
	uint64_t n = 0, bad = 0;
	char why[300];
	int reached = 0;

	j->held = 1;
	j->rc = cl_audit_last(w->path, &w->keys, &j->last, j->err, sizeof j->err);
	if (j->rc == -ENOENT) {
		j->rc = 0; /* no log yet (or it was removed): no entries */
		memset(&j->last, 0, sizeof j->last);
	}
	if (j->rc || j->check.seq == 0)
		return;
	if (j->last.seq < j->check.seq) {
		j->held = 0;
		snprintf(j->err, sizeof j->err, "it has %" PRIu64 " entries, but entry %" PRIu64
			 " was witnessed: entries were cut off its end (or the log was removed)",
			 j->last.seq, j->check.seq);
		return;
	}
	if (j->last.seq == j->check.seq) {
		memcpy(hash, j->last.hash, sizeof hash);
	} else if (j->check.end > 0) {
		/* Read from this log before: where its line ended (O(1)). */
		struct cl_audit_head at;
		int rc = cl_audit_entry_ending(w->path, &w->keys, j->check.end, &at, why,
					       sizeof why);

		if (rc < 0 && rc > AS_ERR_BASE) { /* -errno: cannot read */
			j->rc = rc;
			snprintf(j->err, sizeof j->err, "%s", why);
			return;
		}
		if (rc || at.seq != j->check.seq) {
			j->held = 0;
			snprintf(j->err, sizeof j->err, "its entry %" PRIu64 " is not the one "
				 "witnessed (not where it was): the log was rewritten from that "
				 "entry or before", j->check.seq);
			return;
		}
		memcpy(hash, at.hash, sizeof hash);
	} else {
		j->rc = cl_audit_verify_at(w->path, NULL, j->check.seq, hash, &reached, &n, &bad,
					   why, sizeof why);
		if (j->rc) {
			snprintf(j->err, sizeof j->err, "audit log %s: entry %" PRIu64 " is broken: "
				 "%s (run 'anshim-cloud audit verify')", w->path, bad, why);
			return;
		}
		if (!reached) { /* it shrank meanwhile */
			j->held = 0;
			snprintf(j->err, sizeof j->err, "it has %" PRIu64 " entries, but entry %"
				 PRIu64 " was witnessed: entries were cut off its end", n,
				 j->check.seq);
			return;
		}
	}
	if (sodium_memcmp(hash, j->check.hash, sizeof hash) != 0) {
		j->held = 0;
		snprintf(j->err, sizeof j->err, "its entry %" PRIu64 " is not the one witnessed "
			 "(another hash): the log was rewritten from that entry or before",
			 j->check.seq);
	}
}

static void witness__free(struct cl_witness *w)
{
	if (!w->tick_closed || w->busy)
		return;
	free(w->path);
	sodium_memzero(w, sizeof *w);
	free(w);
}

/* Publish j->last if one is due; loop thread, the read just came back. */
static void witness__maybe_publish(struct cl_witness *w)
{
	const struct cl_audit_head *last = &w->job.last;
	uint64_t now = uv_now(w->loop);
	uint8_t msg[CL_AUDIT_HEAD_LEN];
	char reason[96];
	int len;

	if (!w->connected || now < w->settle_until || last->seq == 0)
		return;
	if (w->connect_due)
		snprintf(reason, sizeof reason, "on connecting");
	else if (w->force)
		snprintf(reason, sizeof reason, "replacing another head on the broker");
	else if (!w->have_published)
		snprintf(reason, sizeof reason, "first head");
	else if (last->seq >= w->published.seq + w->every)
		snprintf(reason, sizeof reason, "%" PRIu64 " new entries",
			 last->seq - w->published.seq);
	else if (now - w->published_at >= w->interval_ms)
		snprintf(reason, sizeof reason, "interval");
	else
		return;
	len = cl_audit_head_encode(msg, sizeof msg, last);
	if (len < 0 || w->publish(w->ctx, msg, (size_t)len) != 0) {
		as_log(AS_LOG_WARNING, "cannot publish the audit head (entry %" PRIu64 "); "
		       "trying again", last->seq);
		return;
	}
	as_log(AS_LOG_INFO, "published the audit head: entry %" PRIu64 " (%s)", last->seq,
	       reason);
	w->published = *last;
	w->have_published = 1;
	w->published_at = now;
	w->known = *last;
	w->have_known = w->known_checked = 1;
	w->connect_due = w->force = 0;
}

static void witness__read_done(uv_work_t *req, int status)
{
	struct cl_witness *w = req->data;
	struct witness_job *j = &w->job;
	char msg[WITNESS_MSG_MAX];

	w->busy = 0;
	if (w->stopping) {
		witness__free(w);
		return;
	}
	if (status != 0)
		return;
	if (w->have_known && (j->check.seq == 0 || !same_head(&j->check, &w->known)))
		return; /* a head arrived meanwhile: the next read checks it */
	w->known_checked = 1;
	if (j->rc) {
		snprintf(msg, sizeof msg, "%s; the audit head is not published until this is "
			 "fixed", j->err);
		w->stuck = 1;
		report(w, msg);
		return;
	}
	if (j->check.seq && !j->held) {
		snprintf(msg, sizeof msg, "audit log %s does not hold the witnessed head: %s. "
			 "No new head is published while it does not (so the broker keeps "
			 "the evidence): restore the log from a copy, and run 'anshim-cloud "
			 "audit verify --witness'", w->path, j->err);
		w->blocked = w->stuck = 1;
		report(w, msg);
		return;
	}
	if (w->blocked)
		as_log(AS_LOG_NOTICE, "audit log %s holds the witnessed head (entry %" PRIu64
		       ") again", w->path, j->check.seq);
	w->blocked = w->stuck = 0;
	w->reported[0] = '\0';
	as_log(AS_LOG_DEBUG, "audit log at entry %" PRIu64 "; head published: entry %" PRIu64,
	       j->last.seq, w->have_published ? w->published.seq : 0);
	witness__maybe_publish(w);
}

/* ---- loop ---- */

static int stat_changed(struct cl_witness *w)
{
	struct stat st;

	if (stat(w->path, &st) != 0)
		memset(&st, 0, sizeof st);
	if (w->seen_ok && st.st_dev == w->seen.st_dev && st.st_ino == w->seen.st_ino &&
	    st.st_size == w->seen.st_size && st.st_mtim.tv_sec == w->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == w->seen.st_mtim.tv_nsec)
		return 0;
	w->seen = st;
	w->seen_ok = 1;
	return 1;
}

static void on_tick(uv_timer_t *t)
{
	struct cl_witness *w = t->data;
	uint64_t now = uv_now(w->loop);
	int due;

	if (stat_changed(w))
		w->dirty = 1;
	if (w->busy || w->stopping)
		return;
	due = w->connected && !w->stuck && now >= w->settle_until &&
	      (w->connect_due || w->force ||
	       (w->have_published && now - w->published_at >= w->interval_ms));
	if (!w->dirty && !due && !(w->have_known && !w->known_checked))
		return;
	memset(&w->job, 0, sizeof w->job);
	if (w->have_known)
		w->job.check = w->known;
	w->work.data = w;
	if (uv_queue_work(w->loop, &w->work, witness__read, witness__read_done) == 0) {
		w->busy = 1;
		w->dirty = 0;
	}
}

int cl_witness_start(struct cl_witness **out, uv_loop_t *loop,
		     const struct cl_witness_options *opts, cl_witness_publish_fn publish,
		     void *ctx)
{
	struct cl_witness *w = calloc(1, sizeof *w);
	int rc;

	*out = NULL;
	if (!w || !(w->path = strdup(opts->audit_log))) {
		free(w);
		return -ENOMEM;
	}
	w->loop = loop;
	w->keys = *opts->log_keys;
	w->every = opts->every ? opts->every : 1;
	w->interval_ms = opts->interval_ms;
	w->publish = publish;
	w->ctx = ctx;
	w->dirty = 1;
	if ((rc = uv_timer_init(loop, &w->tick)) != 0) {
		free(w->path);
		free(w);
		return rc;
	}
	w->tick.data = w;
	uv_timer_start(&w->tick, on_tick, 0, WITNESS_POLL_MS);
	*out = w;
	return 0;
}

void cl_witness_connected(struct cl_witness *w)
{
	w->connected = 1;
	w->connect_due = 1;
	w->settle_until = uv_now(w->loop) + WITNESS_SETTLE_MS;
}

void cl_witness_disconnected(struct cl_witness *w)
{
	w->connected = 0;
}

void cl_witness_message(struct cl_witness *w, const uint8_t *payload, size_t len)
{
	struct cl_audit_head h;
	int rc;

	if (len == 0) {
		as_log(AS_LOG_WARNING, "the audit head on %s was removed from the broker; "
		       "publishing it again", CL_AUDIT_HEAD_TOPIC);
		w->force = 1;
		return;
	}
	rc = cl_audit_head_decode(&h, payload, len, &w->keys);
	if (rc) {
		as_log(AS_LOG_ERR, "malformed audit head on %s (%zu bytes): %s; ignored, and "
		       "replaced by the current head. Only anshim-cloudd may publish there: "
		       "check the broker's ACL", CL_AUDIT_HEAD_TOPIC, len,
		       rc == AS_E_SIGNATURE ? "its signature does not verify with the key that "
		       "signs the audit log" : as_strerror(rc));
		w->force = 1;
		return;
	}
	if ((w->have_published && same_head(&h, &w->published)) ||
	    (w->have_known && same_head(&h, &w->known)))
		return; /* our own, or one checked already */
	if (w->have_known && h.seq < w->known.seq) {
		as_log(AS_LOG_WARNING, "an older audit head (entry %" PRIu64 ") than the one "
		       "witnessed (entry %" PRIu64 ") was published on %s by someone else; "
		       "publishing the current head again", h.seq, w->known.seq,
		       CL_AUDIT_HEAD_TOPIC);
		w->force = 1;
		return;
	}
	as_log(AS_LOG_INFO, "the broker holds the audit head entry %" PRIu64 "; checking that "
	       "the log holds it", h.seq);
	w->known = h;
	w->have_known = 1;
	w->known_checked = 0;
	w->stuck = 0;
	if (w->have_published && h.seq > w->published.seq)
		w->force = 1; /* a head we did not publish: ours replaces it once checked */
}

static void on_tick_closed(uv_handle_t *h)
{
	struct cl_witness *w = h->data;

	w->tick_closed = 1;
	witness__free(w);
}

void cl_witness_stop(struct cl_witness *w)
{
	if (!w)
		return;
	w->stopping = 1;
	uv_timer_stop(&w->tick);
	uv_close((uv_handle_t *)&w->tick, on_tick_closed);
}
