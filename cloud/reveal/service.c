/*
 * service.c - the reveal service's decisions (see service.h): who may do
 * what, the audit entry, then the answer.
 *
 * Rules.
 *   - Names are never self-asserted: a caller is its Unix user, except the
 *     console's Unix user (reveal_console_user), whose requests carry the
 *     console account that made them; that account must exist in the
 *     accounts file and be enabled, and its role is read there.
 *   - log_trace: anyone (a trace is always recorded).  ask: a console
 *     investigator or supervisor.  decide: a console supervisor who is not
 *     the asker, for a pending request.  open: the asker, for an approved
 *     request; the service runs the request's own trace and opens the
 *     capsules of that trace's contacts only.  break_glass: a caller in
 *     reveal_breakglass_group that is not the console.  derive_pids: pids
 *     of capsules, nothing else of them (the aggregator's paper entries);
 *     derive_token_pids: the same for the capsules of a batch of visit
 *     tokens (tokencapsule.h), which wrap a contact capsule.
 *     pid_of_phone: a case's pid for the command line's --phone (not
 *     audited: the trace that follows is; the number is never logged).
 *   - The audit entry is on disk (cl_audit_append fsyncs) before an answer
 *     is built; if it cannot be written the answer is an error and nothing
 *     is opened.
 *   - Opened contacts live in the answer only; structs holding them are
 *     wiped.  The log never gets a phone, a name or a capsule.
 *
 * Threads: any pool thread; decisions that read the log and append to it
 * hold log_lock, so two supervisors cannot both decide one request.
 */
#include "service.h"

#include "accounts.h"
#include "audit.h"
#include "capsulewire.h"
#include "revealwire.h"
#include "tokencapsule.h"
#include "trace.h"
#include "trace_report.h"

#include "anshim/bytes.h"
#include "anshim/capsule.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PID_HEX (2 * AS_PID_LEN + 1)

/* ---- start-up ------------------------------------------------------------ */

/* A user or group given by name or number. */
static int resolve_id(const char *text, int group, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!text || !text[0])
		return -ENOENT;
	v = strtoul(text, &end, 10);
	if (*end == '\0' && text[0] >= '0' && text[0] <= '9') {
		*out = v;
		return 0;
	}
	if (group) {
		struct group *g = getgrnam(text);
		if (!g)
			return -ENOENT;
		*out = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(text);
		if (!p)
			return -ENOENT;
		*out = p->pw_uid;
	}
	return 0;
}

static int load_keys(struct cl_authority *a, const struct cl_config *cfg, char *err,
		     size_t err_len)
{
	struct cl_authority audit;
	const char *failed = NULL;
	int rc = cl_authority_load(a, cfg->keys_dir, CL_KEY_CONTACT | CL_KEY_PSEUDONYM, &failed);

	if (!rc) {
		rc = cl_authority_load(&audit, cfg->keys_dir, CL_KEY_AUDIT, &failed);
		cl_authority_wipe(&audit);
	}
	if (rc) {
		snprintf(err, err_len, "cannot load authority key %s: %s (%s)",
			 failed ? failed : cfg->keys_dir, as_strerror(rc),
			 rc == -ENOENT ? "a key set made before the reveal service has no "
			 "audit.key: run 'anshim-cloud keys init --audit --dir DIR'" :
			 "contact.key, pseudonym.key and audit.key must be mode 0600, owned by "
			 "the reveal service's user");
		cl_authority_wipe(a);
	}
	return rc;
}

int rv_service_check(const struct cl_config *cfg, char *err, size_t err_len)
{
	struct cl_authority a;
	int rc = load_keys(&a, cfg, err, err_len);

	cl_authority_wipe(&a);
	if (!rc && (!cfg->reveal_socket || !cfg->reveal_socket[0])) {
		snprintf(err, err_len, "no reveal_socket in the configuration");
		rc = AS_E_CONFIG;
	}
	return rc;
}

int rv_service_init(struct rv_service *s, const struct cl_config *cfg, char *err,
		    size_t err_len)
{
	unsigned long id = 0;
	int rc;

	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	if ((rc = load_keys(&s->keys, cfg, err, err_len)) != 0)
		return rc;
	if (resolve_id(cfg->reveal_console_user, 0, &id) == 0) {
		s->has_console = 1;
		s->console_uid = (uid_t)id;
	} else {
		as_log(AS_LOG_WARNING, "reveal_console_user '%s' is no user here: no console "
		       "account can ask, approve or open a reveal",
		       cfg->reveal_console_user ? cfg->reveal_console_user : "");
	}
	if (resolve_id(cfg->reveal_breakglass_group, 1, &id) == 0) {
		s->has_breakglass = 1;
		s->breakglass_gid = (gid_t)id;
	} else {
		as_log(AS_LOG_WARNING, "reveal_breakglass_group '%s' is no group here: nobody "
		       "can use the break-glass reveal ('anshim-cloud trace --reveal'); create "
		       "the group and add the officials who may",
		       cfg->reveal_breakglass_group ? cfg->reveal_breakglass_group : "");
	}
	uv_mutex_init(&s->log_lock);
	uv_mutex_init(&s->store_lock);
	s->locks = 1;
	return 0;
}

void rv_service_free(struct rv_service *s)
{
	if (s->store)
		cl_store_close(s->store);
	if (s->locks) {
		uv_mutex_destroy(&s->log_lock);
		uv_mutex_destroy(&s->store_lock);
	}
	cl_authority_wipe(&s->keys);
	s->store = NULL;
	s->locks = 0;
}

void rv_peer_name(struct rv_peer *peer)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(peer->uid, &pw, buf, sizeof buf, &res) == 0 && res &&
	    cl_revealwire_text_ok(res->pw_name, 1, sizeof peer->user - 1))
		snprintf(peer->user, sizeof peer->user, "%s", res->pw_name);
	else
		snprintf(peer->user, sizeof peer->user, "uid:%lu", (unsigned long)peer->uid);
}

/* ---- one call ------------------------------------------------------------ */

struct call {
	struct rv_service *s;
	const struct rv_peer *peer;
	json_t *req;
	const char *op;
	int is_console;
	char who[64];                /* the account or the Unix user */
	struct cl_account account;   /* is_console: the account */
	int rc;                      /* the refusal, if any */
	char why[512];
	json_t *answer;              /* on success */
};

__attribute__((format(printf, 3, 4))) static int refuse(struct call *c, int rc,
							const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	c->rc = rc;
	return rc;
}

/* An account name as accounts.h spells them (so it is safe in a log line). */
static int account_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CL_ACCOUNT_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Set c->who: the console's account (checked) or the caller's Unix user. */
static int identify(struct call *c, const char *who_field, unsigned roles)
{
	char err[300];
	int rc;

	if (!c->is_console) {
		snprintf(c->who, sizeof c->who, "%s", c->peer->user);
		return 0;
	}
	if (!who_field || !who_field[0])
		return refuse(c, AS_E_FIELD, "a console request must name its account in 'who'");
	if (!account_name_ok(who_field))
		return refuse(c, AS_E_FIELD, "'who' is not an account name ([a-z0-9._-], 1 to %d "
			      "bytes, starting with a letter)", CL_ACCOUNT_NAME_MAX);
	rc = cl_accounts_get(c->s->cfg->accounts, who_field, &c->account, err, sizeof err);
	if (rc == AS_E_NOT_FOUND)
		return refuse(c, -EPERM, "account '%s' does not exist", who_field);
	if (rc)
		return refuse(c, AS_E_STORE, "cannot read the accounts: %s", err);
	if (c->account.disabled)
		return refuse(c, -EPERM, "account '%s' is disabled", who_field);
	if (!(roles & CL_ROLE_BIT(c->account.role)))
		return refuse(c, -EPERM, "account '%s' is %s: %s may not %s", who_field,
			      cl_role_name(c->account.role), cl_role_name(c->account.role), c->op);
	snprintf(c->who, sizeof c->who, "%s", c->account.name);
	return 0;
}

static void entry_from_scope(struct cl_audit_entry *e, const char *action, const char *who,
			     const struct cl_reveal_scope *sc)
{
	memset(e, 0, sizeof *e);
	snprintf(e->action, sizeof e->action, "%s", action);
	snprintf(e->who, sizeof e->who, "%s", who);
	as_hex_encode(e->case_ref, sc->params.pid, AS_PID_LEN);
	e->window_from = sc->params.from;
	e->window_to = sc->params.to;
	e->depth = sc->params.depth;
	e->min_overlap = sc->params.min_overlap;
	e->risk_period = sc->params.risk_period;
	e->incubation = sc->params.incubation;
	snprintf(e->case_no, sizeof e->case_no, "%s", sc->case_ref);
	snprintf(e->reason, sizeof e->reason, "%s", sc->reason);
}

static void scope_from_entry(struct cl_reveal_scope *sc, const struct cl_audit_entry *e)
{
	memset(sc, 0, sizeof *sc);
	cl_trace_params_init(&sc->params);
	as_hex_decode(sc->params.pid, AS_PID_LEN, e->case_ref);
	sc->params.from = e->window_from;
	sc->params.to = e->window_to;
	sc->params.depth = e->depth;
	sc->params.min_overlap = e->min_overlap;
	sc->params.risk_period = e->risk_period;
	sc->params.incubation = e->incubation;
	snprintf(sc->reason, sizeof sc->reason, "%s", e->reason);
	snprintf(sc->case_ref, sizeof sc->case_ref, "%s", e->case_no);
}

static int append(struct call *c, struct cl_audit_entry *e, uint64_t *seq)
{
	char err[1024];
	int rc = cl_audit_append(c->s->cfg, e, seq, err, sizeof err);

	if (rc) {
		as_log(AS_LOG_ERR, "cannot write the audit entry (%s by %s): %s", e->action,
		       e->who, err);
		return refuse(c, rc, "the audit entry cannot be written, so nothing was done: %s",
			      err);
	}
	return 0;
}

/* The contacts of a trace, in trace order. */
struct pid_list {
	uint8_t (*pid)[AS_PID_LEN];
	size_t n, cap;
};

static int collect_contact(void *ctx, const struct cl_trace_contact *tc)
{
	struct pid_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		uint8_t (*v)[AS_PID_LEN] = realloc(l->pid, cap * sizeof *v);

		if (!v)
			return -ENOMEM;
		l->pid = v;
		l->cap = cap;
	}
	memcpy(l->pid[l->n++], tc->pid, AS_PID_LEN);
	return 0;
}

/* The store, opened read-only at its first use (it may not exist yet when
 * the service starts, before anshim-cloudd has run). */
static struct cl_store *service_store(struct call *c)
{
	struct cl_store *st;
	char err[512];

	uv_mutex_lock(&c->s->store_lock);
	if (!c->s->store &&
	    cl_store_open(&c->s->store, c->s->cfg->store_dir, c->s->cfg->map_size, 1, err,
			  sizeof err) != 0) {
		c->s->store = NULL;
		refuse(c, AS_E_STORE, "cannot open the store: %s", err);
	}
	st = c->s->store;
	uv_mutex_unlock(&c->s->store_lock);
	return st;
}

static int run_trace(struct call *c, const struct cl_reveal_scope *sc, struct pid_list *l)
{
	struct cl_trace_sink sink = {l, NULL, collect_contact, NULL};
	struct cl_store *st = service_store(c);
	struct cl_trace_params p = sc->params;
	struct cl_trace_order total;
	int rc;

	if (!st)
		return c->rc;
	p.memory_budget = (size_t)c->s->cfg->trace_memory; /* as the console and the CLI */
	rc = cl_trace_run(st, &p, &sink, &total);

	if (rc) {
		free(l->pid);
		l->pid = NULL;
		l->n = 0;
		if (rc == AS_E_BUDGET) {
			struct cl_trace_report_counts counts = {.orders = total.order,
								.people = total.people};
			char text[600];

			return refuse(c, rc, "%s", cl_trace_budget_text(text, sizeof text,
									c->s->cfg->trace_memory,
									&counts));
		}
		return refuse(c, rc == AS_E_FIELD ? AS_E_FIELD : rc, "the trace failed: %s",
			      as_strerror(rc));
	}
	return 0;
}

/* Open each contact's capsule into a JSON array; *opened counts them. */
static json_t *open_contacts(struct call *c, const struct pid_list *l, uint32_t *opened)
{
	json_t *list = json_array();

	*opened = 0;
	for (size_t i = 0; list && i < l->n; i++) {
		uint8_t capsule[AS_CAPSULE_LEN];
		struct as_contact who;
		char pid[PID_HEX];
		const char *why = NULL;
		json_t *o;
		int rc = cl_store_capsule(c->s->store, l->pid[i], capsule);

		if (!rc)
			rc = as_capsule_open(&who, capsule, c->s->keys.contact_pk,
					     c->s->keys.contact_sk);
		if (rc)
			why = rc == AS_E_NOT_FOUND ? "no capsule stored" : as_strerror(rc);
		as_hex_encode(pid, l->pid[i], AS_PID_LEN);
		o = rc ? json_pack("{s:s, s:b, s:s}", "pid", pid, "opened", 0, "why", why)
		       : json_pack("{s:s, s:b, s:s, s:s}", "pid", pid, "opened", 1, "phone",
				   who.phone, "name", who.name);
		if (!rc)
			(*opened)++;
		sodium_memzero(&who, sizeof who);
		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

static int check_text(struct call *c, const char *field, const char *v, size_t min, size_t max)
{
	if (!cl_revealwire_text_ok(v, min, max))
		return refuse(c, AS_E_FIELD, "'%s' must be %zu to %zu bytes of text", field, min,
			      max);
	return 0;
}

/* ---- the operations ------------------------------------------------------- */

static int op_log_trace(struct call *c)
{
	json_error_t je;
	json_t *scope_j;
	const char *who;
	json_int_t contacts;
	struct cl_reveal_scope sc;
	struct cl_audit_entry e;
	uint64_t seq = 0;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:s, s:o, s:I}", "op", &c->op, "who",
			   &who, "scope", &scope_j, "contacts", &contacts))
		return refuse(c, AS_E_FIELD, "log_trace: %s", je.text);
	if (contacts < 0 || contacts > UINT32_MAX)
		return refuse(c, AS_E_FIELD, "'contacts' out of range");
	if (cl_revealwire_scope_from_json(scope_j, &sc, c->why, sizeof c->why))
		return refuse(c, AS_E_FIELD, "%s", c->why);
	if (identify(c, who, CL_ROLES_ALL))
		return c->rc;
	entry_from_scope(&e, CL_AUDIT_TRACE, c->who, &sc);
	e.contacts = (uint32_t)contacts;
	uv_mutex_lock(&c->s->log_lock);
	append(c, &e, &seq);
	uv_mutex_unlock(&c->s->log_lock);
	if (c->rc)
		return c->rc;
	c->answer = json_pack("{s:I}", "seq", (json_int_t)seq);
	return 0;
}

static int console_only(struct call *c)
{
	if (!c->is_console)
		return refuse(c, -EPERM, "%s: only the console (its accounts) may ask, decide and "
			      "open reveals; the command line has the break-glass reveal", c->op);
	return 0;
}

static int op_ask(struct call *c)
{
	json_error_t je;
	json_t *scope_j;
	const char *who;
	struct cl_reveal_scope sc;
	struct cl_audit_entry e;
	struct pid_list l = {0};
	uint64_t seq = 0;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:s, s:o}", "op", &c->op, "who", &who,
			   "scope", &scope_j))
		return refuse(c, AS_E_FIELD, "ask: %s", je.text);
	if (cl_revealwire_scope_from_json(scope_j, &sc, c->why, sizeof c->why))
		return refuse(c, AS_E_FIELD, "%s", c->why);
	if (console_only(c) ||
	    identify(c, who, CL_ROLE_BIT(CL_ROLE_INVESTIGATOR) | CL_ROLE_BIT(CL_ROLE_SUPERVISOR)))
		return c->rc;
	if (run_trace(c, &sc, &l))
		return c->rc;
	entry_from_scope(&e, CL_AUDIT_ASK, c->who, &sc);
	e.contacts = l.n > UINT32_MAX ? UINT32_MAX : (uint32_t)l.n;
	free(l.pid);
	uv_mutex_lock(&c->s->log_lock);
	append(c, &e, &seq);
	uv_mutex_unlock(&c->s->log_lock);
	if (c->rc)
		return c->rc;
	as_log(AS_LOG_NOTICE, "reveal request %llu asked by %s", (unsigned long long)seq, c->who);
	c->answer = json_pack("{s:I}", "request", (json_int_t)seq);
	return 0;
}

/* The request id's request from the log (under log_lock). */
static int find_request(struct call *c, uint64_t id, struct cl_request *out)
{
	struct cl_request *all = NULL;
	size_t n = 0;
	char err[512];
	int rc = cl_audit_requests(c->s->cfg->audit_log, &all, &n, err, sizeof err);

	if (rc)
		return refuse(c, rc, "%s", err);
	rc = refuse(c, AS_E_NOT_FOUND, "no reveal request %llu", (unsigned long long)id);
	for (size_t i = 0; i < n; i++)
		if (all[i].id == id) {
			*out = all[i];
			c->rc = rc = 0;
			break;
		}
	free(all);
	return rc;
}

static int op_decide(struct call *c)
{
	json_error_t je;
	const char *who, *reason;
	json_int_t id;
	int approve;
	struct cl_request q;
	struct cl_reveal_scope sc;
	struct cl_audit_entry e;
	uint64_t seq = 0;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:s, s:I, s:b, s:s}", "op", &c->op,
			   "who", &who, "request", &id, "approve", &approve, "reason", &reason))
		return refuse(c, AS_E_FIELD, "decide: %s", je.text);
	if (id <= 0)
		return refuse(c, AS_E_FIELD, "'request' must be a request id");
	if (console_only(c) || identify(c, who, CL_ROLE_BIT(CL_ROLE_SUPERVISOR)) ||
	    check_text(c, "reason", reason, approve ? 0 : 1, CL_REASON_MAX))
		return c->rc;
	uv_mutex_lock(&c->s->log_lock);
	if (find_request(c, (uint64_t)id, &q) == 0) {
		if (strcmp(q.ask.who, c->who) == 0)
			refuse(c, -EPERM, "two-person rule: %s asked for request %llu and may not "
			       "decide it; another supervisor must", c->who, (unsigned long long)id);
		else if (q.state != CL_REQUEST_PENDING)
			refuse(c, -EALREADY, "request %llu is already %s", (unsigned long long)id,
			       cl_request_state_name(q.state));
	}
	if (!c->rc) {
		scope_from_entry(&sc, &q.ask);
		entry_from_scope(&e, approve ? CL_AUDIT_APPROVE : CL_AUDIT_REFUSE, c->who, &sc);
		snprintf(e.reason, sizeof e.reason, "%s", reason);
		e.request = (uint64_t)id;
		e.contacts = q.ask.contacts;
		append(c, &e, &seq);
	}
	uv_mutex_unlock(&c->s->log_lock);
	if (c->rc)
		return c->rc;
	as_log(AS_LOG_NOTICE, "reveal request %llu %s by %s", (unsigned long long)id,
	       approve ? "approved" : "refused", c->who);
	c->answer = json_pack("{s:I}", "seq", (json_int_t)seq);
	return 0;
}

/* Run sc's trace, open its contacts, write the entry e (action, who,
 * request already set), then answer the contacts. */
static int reveal_scope(struct call *c, const struct cl_reveal_scope *sc,
			struct cl_audit_entry *e)
{
	struct pid_list l = {0};
	uint32_t opened = 0;
	json_t *list;
	uint64_t seq = 0;

	if (run_trace(c, sc, &l))
		return c->rc;
	list = open_contacts(c, &l, &opened);
	free(l.pid);
	if (!list)
		return refuse(c, -ENOMEM, "out of memory");
	e->contacts = l.n > UINT32_MAX ? UINT32_MAX : (uint32_t)l.n;
	e->revealed = opened;
	if (append(c, e, &seq)) {
		json_decref(list);
		return c->rc;
	}
	as_log(AS_LOG_NOTICE, "%s by %s: %u of %zu contacts opened (audit entry %llu)",
	       e->action, e->who, opened, l.n, (unsigned long long)seq);
	c->answer = json_pack("{s:I, s:o}", "seq", (json_int_t)seq, "contacts", list);
	return 0;
}

static int op_open(struct call *c)
{
	json_error_t je;
	const char *who;
	json_int_t id;
	struct cl_request q;
	struct cl_reveal_scope sc;
	struct cl_audit_entry e;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:s, s:I}", "op", &c->op, "who", &who,
			   "request", &id))
		return refuse(c, AS_E_FIELD, "open: %s", je.text);
	if (id <= 0)
		return refuse(c, AS_E_FIELD, "'request' must be a request id");
	if (console_only(c) ||
	    identify(c, who, CL_ROLE_BIT(CL_ROLE_INVESTIGATOR) | CL_ROLE_BIT(CL_ROLE_SUPERVISOR)))
		return c->rc;
	uv_mutex_lock(&c->s->log_lock);
	if (find_request(c, (uint64_t)id, &q) == 0) {
		if (strcmp(q.ask.who, c->who) != 0)
			refuse(c, -EPERM, "request %llu is %s's: only its asker may open it",
			       (unsigned long long)id, q.ask.who);
		else if (q.state == CL_REQUEST_PENDING)
			refuse(c, -EALREADY, "request %llu is not approved yet",
			       (unsigned long long)id);
		else if (q.state == CL_REQUEST_REFUSED)
			refuse(c, -EALREADY, "request %llu was refused by %s",
			       (unsigned long long)id, q.decided_by);
	}
	if (!c->rc) {
		scope_from_entry(&sc, &q.ask);
		entry_from_scope(&e, CL_AUDIT_REVEAL, c->who, &sc);
		e.request = (uint64_t)id;
		reveal_scope(c, &sc, &e);
	}
	uv_mutex_unlock(&c->s->log_lock);
	return c->rc;
}

static int in_group(const struct rv_peer *p, gid_t g)
{
	if (p->gid == g)
		return 1;
	for (size_t i = 0; i < p->ngroups; i++)
		if (p->groups[i] == g)
			return 1;
	return 0;
}

static int op_break_glass(struct call *c)
{
	json_error_t je;
	json_t *scope_j;
	struct cl_reveal_scope sc;
	struct cl_audit_entry e;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:o}", "op", &c->op, "scope",
			   &scope_j))
		return refuse(c, AS_E_FIELD, "break_glass: %s", je.text);
	if (cl_revealwire_scope_from_json(scope_j, &sc, c->why, sizeof c->why))
		return refuse(c, AS_E_FIELD, "%s", c->why);
	if (c->is_console)
		return refuse(c, -EPERM, "the console has no break-glass reveal: ask, and have "
			      "another supervisor approve");
	if (!c->s->has_breakglass || !in_group(c->peer, c->s->breakglass_gid)) {
		as_log(AS_LOG_WARNING, "break-glass reveal refused to %s: not in group %s",
		       c->peer->user, c->s->cfg->reveal_breakglass_group);
		return refuse(c, -EPERM, "break-glass reveal refused: Unix user %s is not in the "
			      "group %s (reveal_breakglass_group); ask for a reveal in the console "
			      "instead", c->peer->user, c->s->cfg->reveal_breakglass_group);
	}
	snprintf(c->who, sizeof c->who, "%s", c->peer->user);
	entry_from_scope(&e, CL_AUDIT_BREAK_GLASS, c->who, &sc);
	uv_mutex_lock(&c->s->log_lock);
	reveal_scope(c, &sc, &e);
	uv_mutex_unlock(&c->s->log_lock);
	return c->rc;
}

static int op_pid_of_phone(struct call *c)
{
	json_error_t je;
	const char *phone;
	uint8_t pid[AS_PID_LEN];
	char hex[PID_HEX];

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:s}", "op", &c->op, "phone", &phone))
		return refuse(c, AS_E_FIELD, "pid_of_phone: %s", je.text);
	/* The number is never repeated in an answer or the log. */
	if (as_pid_from_phone(pid, c->s->keys.pseudonym_key, phone) != 0)
		return refuse(c, AS_E_FIELD, "not a phone number we accept (examples: "
			      "010-1234-5678, +82 10 1234 5678)");
	as_hex_encode(hex, pid, AS_PID_LEN);
	c->answer = json_pack("{s:s}", "pid", hex);
	return 0;
}

/* The pid of one contact capsule, hex into hex ("" when it does not open). */
static int contact_pid_hex(struct call *c, const uint8_t capsule[AS_CAPSULE_LEN],
			   char hex[PID_HEX])
{
	struct as_contact who;
	uint8_t pid[AS_PID_LEN];
	int rc = as_capsule_open(&who, capsule, c->s->keys.contact_pk, c->s->keys.contact_sk);

	hex[0] = '\0';
	if (rc == 0) {
		as_pid_derive(pid, c->s->keys.pseudonym_key, who.phone);
		as_hex_encode(hex, pid, AS_PID_LEN);
	}
	sodium_memzero(&who, sizeof who);
	return rc;
}

static int op_derive_pids(struct call *c)
{
	json_error_t je;
	json_t *caps, *v, *out;
	size_t i;
	unsigned unreadable = 0;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:o}", "op", &c->op, "capsules",
			   &caps))
		return refuse(c, AS_E_FIELD, "derive_pids: %s", je.text);
	if (!json_is_array(caps) || json_array_size(caps) > CL_REVEAL_DERIVE_MAX)
		return refuse(c, AS_E_FIELD, "'capsules' must be an array of at most %d",
			      CL_REVEAL_DERIVE_MAX);
	out = json_array();
	json_array_foreach(caps, i, v) {
		uint8_t capsule[AS_CAPSULE_LEN];
		char hex[PID_HEX] = "";
		const char *t = json_string_value(v);

		if (!t || strlen(t) != 2 * AS_CAPSULE_LEN ||
		    as_hex_decode(capsule, AS_CAPSULE_LEN, t)) {
			json_decref(out);
			return refuse(c, AS_E_FIELD, "capsule %zu is not %d hex digits", i,
				      2 * AS_CAPSULE_LEN);
		}
		if (contact_pid_hex(c, capsule, hex) != 0)
			unreadable++;
		if (!out || json_array_append_new(out, json_string(hex))) {
			json_decref(out);
			return refuse(c, -ENOMEM, "out of memory");
		}
	}
	if (unreadable)
		as_log(AS_LOG_WARNING, "derive_pids: %u capsule(s) sealed to another contact key",
		       unreadable);
	c->answer = json_pack("{s:o}", "pids", out);
	return 0;
}

/* The capsules of issues of visit tokens (tokencapsule.h) of one capsule
 * batch: the batch key opens with contact.key, each capsule with the batch
 * key, and the
 * contact capsule inside gives the pid as for a paper entry.  The answer
 * has each issue's pid and its contact capsule (still sealed to the
 * authority: the store keeps it as the person's, for a reveal).  A capsule
 * that does not open (altered, or another key) gets "" for both. */
static int op_derive_token_pids(struct call *c)
{
	json_error_t je;
	json_t *list, *v, *out, *contacts;
	const char *sealed_hex;
	uint8_t sealed[CL_TOKCAP_SEALED_KEY_LEN], key[CL_TOKCAP_KEY_LEN];
	int key_ok;
	size_t i;
	unsigned unreadable = 0;

	if (json_unpack_ex(c->req, &je, JSON_STRICT, "{s:s, s:s, s:o}", "op", &c->op,
			   "sealed_key", &sealed_hex, "issues", &list))
		return refuse(c, AS_E_FIELD, "derive_token_pids: %s", je.text);
	if (strlen(sealed_hex) != 2 * CL_TOKCAP_SEALED_KEY_LEN ||
	    as_hex_decode(sealed, CL_TOKCAP_SEALED_KEY_LEN, sealed_hex))
		return refuse(c, AS_E_FIELD, "'sealed_key' is not %d hex digits",
			      2 * CL_TOKCAP_SEALED_KEY_LEN);
	if (!json_is_array(list) || json_array_size(list) > CL_FEED_MAX_ISSUES)
		return refuse(c, AS_E_FIELD, "'issues' must be an array of at most %d",
			      CL_FEED_MAX_ISSUES);
	key_ok = cl_tokcap_open_key(key, sealed, c->s->keys.contact_pk,
				    c->s->keys.contact_sk) == 0;
	out = json_array();
	contacts = json_array();
	json_array_foreach(list, i, v) {
		uint8_t cap[CL_TOKCAP_LEN], contact[AS_CAPSULE_LEN];
		const char *cap_hex;
		json_int_t serial, expires, count;
		char hex[PID_HEX] = "", contact_hex[2 * AS_CAPSULE_LEN + 1] = "";

		if (json_unpack_ex(v, &je, JSON_STRICT, "{s:I, s:I, s:I, s:s}", "serial", &serial,
				   "expires", &expires, "count", &count, "capsule", &cap_hex) ||
		    serial < 1 || count < 1 || count > CL_ISSUE_MAX_TOKENS ||
		    strlen(cap_hex) != 2 * CL_TOKCAP_LEN ||
		    as_hex_decode(cap, CL_TOKCAP_LEN, cap_hex)) {
			json_decref(out);
			json_decref(contacts);
			sodium_memzero(key, sizeof key);
			return refuse(c, AS_E_FIELD, "issue %zu is not {\"serial\": 1 or more, "
				      "\"expires\": unix seconds, \"count\": 1..%d, \"capsule\": %d "
				      "hex digits}", i, CL_ISSUE_MAX_TOKENS, 2 * CL_TOKCAP_LEN);
		}
		if (!key_ok || cl_tokcap_open(contact, key, (uint64_t)serial, (int64_t)expires,
					    (uint8_t)count, cap) != 0 ||
		    contact_pid_hex(c, contact, hex) != 0)
			unreadable++;
		else
			as_hex_encode(contact_hex, contact, AS_CAPSULE_LEN);
		if (!out || !contacts || json_array_append_new(out, json_string(hex)) ||
		    json_array_append_new(contacts, json_string(contact_hex))) {
			json_decref(out);
			json_decref(contacts);
			sodium_memzero(key, sizeof key);
			return refuse(c, -ENOMEM, "out of memory");
		}
	}
	sodium_memzero(key, sizeof key);
	if (unreadable)
		as_log(AS_LOG_WARNING, "derive_token_pids: %u issue capsule(s) do not open (%s)",
		       unreadable, key_ok ? "altered, or sealed to another contact key"
				          : "the batch key is sealed to another contact key");
	c->answer = json_pack("{s:o, s:o}", "pids", out, "contacts", contacts);
	return 0;
}

char *rv_service_answer(struct rv_service *s, const struct rv_peer *peer, const char *req,
			size_t len, size_t *answer_len)
{
	static const struct {
		const char *op;
		int (*fn)(struct call *c);
	} ops[] = {
		{"log_trace", op_log_trace}, {"ask", op_ask}, {"decide", op_decide},
		{"open", op_open}, {"break_glass", op_break_glass},
		{"derive_pids", op_derive_pids}, {"pid_of_phone", op_pid_of_phone},
		{"derive_token_pids", op_derive_token_pids},
	};
	struct call c;
	json_error_t je;
	json_t *answer;
	const char *op;
	char *text;

	memset(&c, 0, sizeof c);
	c.s = s;
	c.peer = peer;
	c.is_console = s->has_console && peer->uid == s->console_uid;
	c.req = json_loadb(req, len, JSON_REJECT_DUPLICATES, &je);
	op = json_string_value(json_object_get(c.req, "op"));
	c.op = "request"; /* the known op's name once it is found (never raw input in a log) */
	if (!c.req || !json_is_object(c.req))
		refuse(&c, AS_E_FIELD, "the request is not one JSON object: %s", je.text);
	else if (!op)
		refuse(&c, AS_E_FIELD, "the request has no \"op\"");
	else {
		size_t i;

		for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
			if (strcmp(op, ops[i].op) == 0)
				break;
		if (i == sizeof ops / sizeof ops[0])
			refuse(&c, AS_E_FIELD, "unknown op (log_trace, ask, decide, open, "
			       "break_glass, derive_pids, pid_of_phone, derive_token_pids)");
		else if ((c.op = ops[i].op, ops[i].fn(&c)) == 0 && !c.answer)
			refuse(&c, -ENOMEM, "out of memory");
	}
	if (c.rc) {
		char shown[sizeof c.why];

		/* The reason may quote the request: no control bytes in the log. */
		for (size_t i = 0; i < sizeof shown; i++) {
			unsigned char ch = (unsigned char)c.why[i];

			shown[i] = ch == 0 ? 0 : ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
			if (!ch)
				break;
		}
		json_decref(c.answer);
		if (c.rc != -EPERM && c.rc != AS_E_FIELD && c.rc != -EALREADY &&
		    c.rc != AS_E_NOT_FOUND)
			as_log(AS_LOG_ERR, "%s from %s failed: %s", c.op, peer->user, shown);
		else
			as_log(AS_LOG_NOTICE, "%s from %s refused: %s", c.op, peer->user, shown);
		answer = json_pack("{s:s, s:s}", "error", c.why, "code", cl_revealwire_code(c.rc));
	} else {
		answer = c.answer;
	}
	json_decref(c.req);
	text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
	json_decref(answer);
	*answer_len = text ? strlen(text) : 0;
	return text;
}
