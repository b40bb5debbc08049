/*
 * checkin.c - verify, gate, de-duplicate and journal check-ins (see
 * checkin.h).
 *
 * Order of checks for a scan: collecting? -> for a version 2 pass ("AP2:"):
 * offline verification (Base45, framing, issuer key from the policy and its
 * signature, expiry, token-key signature, freshness) -> revoked token id ->
 * duplicate window on the token id -> journal as kind 6 (token id, no
 * capsule); for a version 1 pass: still accepted by the policy? (the v1
 * deadline; cards are not affected) -> offline verification (prefix, Base45, framing,
 * issuer signature, form, validity, holder signature, freshness) ->
 * revoked credential -> duplicate window on the pid -> journal.  Nothing
 * is parsed while not collecting.  The pid or token id is noted in the
 * duplicate table at submission (so two scans racing the same commit are
 * caught) and forgotten again if the commit fails.
 *
 * Invariants: the answer "accepted" is given only from the writer's done
 * callback after a successful commit; every submitted check-in gets exactly
 * one answer; no personal data is logged (the observer sees only outcome,
 * reason, kind, seq and time).  Loop thread only.
 */
#include "checkin.h"

#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/log.h"
#include "anshim/token.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>


struct pending_checkin {
	struct gw_write_req req;    /* first: the writer hands this back */
	struct gw_checkin *checkin;
	gw_outcome_cb cb;
	void *ctx;
	const char *source;
	int noted_recent;
};

const char *gw_outcome_name(enum gw_outcome o)
{
	switch (o) {
	case GW_OUTCOME_ACCEPTED: return "accepted";
	case GW_OUTCOME_DUPLICATE: return "duplicate";
	case GW_OUTCOME_REJECTED: return "rejected";
	case GW_OUTCOME_NOT_COLLECTING: return "not-collecting";
	}
	return "unknown";
}

int gw_checkin_init(struct gw_checkin *c, const struct gw_checkin_config *cfg)
{
	c->cfg = *cfg;
	memset(&c->counters, 0, sizeof c->counters);
	c->last_error = 0;
	c->in_flight = 0;
	return gw_recent_init(&c->recent, cfg->duplicate_window);
}

void gw_checkin_free(struct gw_checkin *c)
{
	gw_recent_free(&c->recent);
}

struct recent_loader {
	struct gw_checkin *c;
	int64_t since, now;
	int rc;
};

static int load_one_recent(void *ctx, const struct as_record *rec)
{
	struct recent_loader *l = ctx;

	/* Records go back in seq order; stop once far past the window (a
	 * manual entry can carry an old time, so allow some slack). */
	if (rec->entry_time < l->since - 86400 && rec->kind != AS_REC_MANUAL)
		return 1;
	if (rec->kind != AS_REC_MANUAL && rec->entry_time >= l->since)
		l->rc = gw_recent_note(&l->c->recent, rec->pid, rec->entry_time, l->now);
	return l->rc != 0;
}

int gw_checkin_load_recent(struct gw_checkin *c, struct gw_journal *j)
{
	struct recent_loader l = {c, 0, gw_clock_now(), 0};
	int rc;

	l.since = l.now - c->cfg.duplicate_window;
	rc = gw_journal_scan(j, UINT64_MAX, 1, 1000000, load_one_recent, &l);
	return rc ? rc : l.rc;
}

static void count_outcome(struct gw_checkin *c, enum gw_outcome o, const char *reason)
{
	switch (o) {
	case GW_OUTCOME_ACCEPTED: c->counters.accepted++; break;
	case GW_OUTCOME_DUPLICATE: c->counters.duplicate++; break;
	case GW_OUTCOME_REJECTED:
		c->counters.rejected++;
		if (strcmp(reason, "storage-full") == 0)
			c->counters.storage_full++;
		break;
	case GW_OUTCOME_NOT_COLLECTING: c->counters.not_collecting++; break;
	}
}

static void answer(struct gw_checkin *c, const struct gw_outcome_event *ev, gw_outcome_cb cb,
		   void *ctx)
{
	count_outcome(c, ev->outcome, ev->reason);
	if (c->observer)
		c->observer(c->observer_ctx, ev);
	if (cb)
		cb(ctx, ev);
}

void gw_checkin_report(struct gw_checkin *c, enum gw_outcome o, const char *reason,
		       const char *source, gw_outcome_cb cb, void *ctx)
{
	struct gw_outcome_event ev = {o, reason ? reason : "", source, 0, 0, 0, 0};

	answer(c, &ev, cb, ctx);
}

static void on_committed(struct gw_write_req *req)
{
	struct pending_checkin *p = (struct pending_checkin *)req;
	struct gw_checkin *c = p->checkin;
	struct gw_outcome_event ev = {GW_OUTCOME_ACCEPTED, "", p->source, req->rec.kind,
				      req->rec.seq, req->rec.entry_time, req->rec.headcount};

	c->in_flight--;
	if (req->status == 0 && req->duplicate) {
		ev.outcome = GW_OUTCOME_DUPLICATE;
		ev.seq = 0;
	} else if (req->status != 0) {
		if (p->noted_recent)
			gw_recent_forget(&c->recent, req->rec.pid, req->rec.entry_time);
		ev.outcome = GW_OUTCOME_REJECTED;
		ev.reason = req->status == AS_E_FULL ? "storage-full" : "storage-error";
		ev.seq = 0;
		if (c->last_error != req->status)
			as_log(AS_LOG_ERR, "journal write failed: %s", as_strerror(req->status));
		c->last_error = req->status;
	} else {
		c->last_error = 0;
	}
	answer(c, &ev, p->cb, p->ctx);
	free(p);
}

static void submit(struct gw_checkin *c, struct pending_checkin *p)
{
	p->checkin = c;
	p->req.kind = GW_WRITE_APPEND;
	p->req.done = on_committed;
	c->in_flight++;
	gw_writer_submit(c->writer, &p->req);
}

static struct pending_checkin *pending_new(const char *source, gw_outcome_cb cb, void *ctx)
{
	struct pending_checkin *p = calloc(1, sizeof *p);

	if (p) {
		p->source = source;
		p->cb = cb;
		p->ctx = ctx;
	}
	return p;
}

/* The checks and journaling every verified scan shares: revocation of its
 * id (credential or token id), the duplicate window on its key (pid or
 * token id), then the record. */
static void journal_scan(struct gw_checkin *c, struct gw_outcome_event *ev,
			 const uint8_t revocation_id[AS_HOLDER_ID_LEN],
			 const uint8_t key[AS_PID_LEN], int64_t expires,
			 const uint8_t *capsule, int64_t now, gw_outcome_cb cb, void *ctx)
{
	struct pending_checkin *p;

	if (gw_policy_store_credential_revoked(c->policy, revocation_id)) {
		ev->reason = "revoked";
		answer(c, ev, cb, ctx);
		return;
	}
	if (gw_recent_seen(&c->recent, key, now)) {
		ev->outcome = GW_OUTCOME_DUPLICATE;
		answer(c, ev, cb, ctx);
		return;
	}
	p = pending_new(ev->source, cb, ctx);
	if (!p) {
		ev->reason = "out-of-memory";
		answer(c, ev, cb, ctx);
		return;
	}
	p->req.rec.kind = ev->kind;
	p->req.rec.headcount = 1;
	p->req.rec.credential_expires = expires;
	memcpy(p->req.rec.pid, key, AS_PID_LEN);
	if (capsule)
		memcpy(p->req.rec.capsule, capsule, AS_CAPSULE_LEN);
	gw_clock_stamp(c->clock, &p->req.rec);
	p->noted_recent = gw_recent_note(&c->recent, key, p->req.rec.entry_time, now) == 0;
	submit(c, p);
}

/* A version 2 pass: a visit token checked against the policy's issuer
 * keys.  Journaled as kind 6 with the token id and no capsule. */
static void scan_token(struct gw_checkin *c, const char *line, size_t len,
		       struct gw_outcome_event *ev, int64_t now, gw_outcome_cb cb, void *ctx)
{
	struct as_pass2_verify_params params = {&c->policy->policy, now, c->cfg.freshness};
	struct as_pass2 pass;
	int rc = as_pass2_verify_text(&pass, line, len, &params);

	ev->kind = AS_REC_TOKEN;
	if (rc) {
		if (rc == AS_E_BASE45)
			ev->kind = 0;
		ev->reason = as_scan_reason(rc);
		answer(c, ev, cb, ctx);
		return;
	}
	journal_scan(c, ev, pass.token.token_id, pass.token.token_id, pass.token.expires_at,
		     NULL, now, cb, ctx);
}

static int is_v1_pass_text(const char *line, size_t len)
{
	return len >= 4 && memcmp(line, AS_PASS_PREFIX, 4) == 0;
}

void gw_checkin_scan(struct gw_checkin *c, const char *line, size_t len, const char *source,
		     gw_outcome_cb cb, void *ctx)
{
	struct as_verify_params params;
	struct as_scan scan;
	struct gw_outcome_event ev = {GW_OUTCOME_REJECTED, "", source, 0, 0, 0, 1};
	uint8_t cred_id[AS_HOLDER_ID_LEN];
	int64_t now;
	int rc;

	if (!gw_policy_store_collecting(c->policy, c->cfg.min_level)) {
		ev.outcome = GW_OUTCOME_NOT_COLLECTING;
		answer(c, &ev, cb, ctx);
		return;
	}
	now = gw_clock_trusted_now(c->clock);
	if (as_pass2_is_text(line, len)) {
		scan_token(c, line, len, &ev, now, cb, ctx);
		return;
	}
	if (is_v1_pass_text(line, len) && !as_policy_v1_accepted(&c->policy->policy, now)) {
		/* The migration period is over: version 1 phone passes are
		 * refused before anything is parsed.  Printed cards stay: they
		 * are for people without a phone that could hold tokens. */
		ev.kind = AS_REC_PASS;
		ev.reason = "v1-retired";
		answer(c, &ev, cb, ctx);
		return;
	}
	params.authority_pk = c->authority_pk;
	params.now = now;
	params.freshness = c->cfg.freshness;
	rc = as_scan_verify(&scan, line, len, &params);
	ev.kind = scan.kind == AS_SCAN_CARD ? AS_REC_CARD : AS_REC_PASS;
	if (rc) {
		if (rc == AS_E_PREFIX || rc == AS_E_BASE45)
			ev.kind = 0;
		ev.reason = as_scan_reason(rc);
		answer(c, &ev, cb, ctx);
		return;
	}
	as_credential_id(cred_id, &scan.cred);
	journal_scan(c, &ev, cred_id, scan.cred.pid, scan.cred.expires_at, scan.cred.capsule, now,
		     cb, ctx);
}

void gw_checkin_manual(struct gw_checkin *c, const struct gw_manual_entry *m,
		       const char *source, gw_outcome_cb cb, void *ctx)
{
	struct gw_outcome_event ev = {GW_OUTCOME_REJECTED, "", source, AS_REC_MANUAL, 0,
				      m->entry_time, m->headcount};
	struct pending_checkin *p;
	int64_t now = gw_clock_trusted_now(c->clock);

	if (!gw_policy_store_collecting(c->policy, c->cfg.min_level)) {
		ev.outcome = GW_OUTCOME_NOT_COLLECTING;
		answer(c, &ev, cb, ctx);
		return;
	}
	/* The CLI validated the entry; the daemon checks again and trusts
	 * nothing that came over the socket. */
	if (m->headcount < 1 || m->headcount > AS_HEADCOUNT_MAX)
		ev.reason = "bad-headcount";
	else if (m->entry_time > now + GW_TIME_SKEW || m->exit_time > now + GW_TIME_SKEW)
		ev.reason = "in-the-future";
	else if (m->entry_time < now - c->cfg.retention)
		ev.reason = "older-than-retention";
	else if (m->exit_time != 0 && m->exit_time <= m->entry_time)
		ev.reason = "exit-before-entry";
	else if (m->exit_time != 0 && m->exit_time > m->entry_time + GW_MAX_STAY)
		ev.reason = "exit-too-late";
	if (ev.reason[0]) {
		answer(c, &ev, cb, ctx);
		return;
	}
	p = pending_new(source, cb, ctx);
	if (!p) {
		ev.reason = "out-of-memory";
		answer(c, &ev, cb, ctx);
		return;
	}
	gw_clock_stamp(c->clock, &p->req.rec);
	p->req.rec.flags = 0; /* staff typed the time: the clock state is irrelevant */
	p->req.rec.kind = AS_REC_MANUAL;
	p->req.rec.entry_time = m->entry_time;
	p->req.rec.exit_time = m->exit_time;
	p->req.rec.headcount = m->headcount;
	p->req.rec.entered_by = m->entered_by;
	memcpy(p->req.rec.capsule, m->capsule, AS_CAPSULE_LEN);
	if (m->has_row_digest) {
		/* Keyed with the device's import key, so the stored value cannot
		 * be tested against guessed rows without that key. */
		crypto_generichash(p->req.import_key, GW_IMPORT_KEY_LEN, m->row_digest,
				   sizeof m->row_digest, c->import_key, 32);
		p->req.has_import_key = 1;
	}
	submit(c, p);
}
