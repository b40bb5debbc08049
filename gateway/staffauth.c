/*
 * staffauth.c - the staff PIN, sessions and lock-out (see staffauth.h).
 *
 * Invariants: the PIN itself is never stored or logged, only its argon2id
 * hash; a token is never stored, only its BLAKE2b-256 hash, compared in
 * constant time; an address that is locked out gets no PIN check at all,
 * so a locked-out guesser learns nothing and costs no CPU.  The address
 * table is bounded (ADDRESSES): when it is full, the entry least recently
 * used gives way, but never a locked one while its lock lasts (with the
 * table full of locked addresses, the global lock-out is already on).
 *
 * Threads: any; `lock` guards the tables and the hash, `verify_lock`
 * serialises the slow PIN checks (taken without `lock` held).
 */
#include "staffauth.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/fileio.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ADDRESSES 64
#define ADDRESS_MAX 48

struct address {
	char text[ADDRESS_MAX];
	unsigned fails;
	int64_t locked_until;
	int64_t last_seen;
};

struct session {
	uint8_t hash[32];
	int64_t expires;      /* 0: free */
	int64_t created;
};

struct gw_staffauth {
	pthread_mutex_t lock;
	pthread_mutex_t verify_lock;
	int64_t lockout, session_time;
	char hash[crypto_pwhash_STRBYTES];   /* "" without a PIN */
	struct address addrs[ADDRESSES];
	struct session sessions[GW_STAFF_SESSIONS];
	unsigned fails_all;                  /* in the window from fails_all_since */
	int64_t fails_all_since;
	int64_t all_locked_until;
};

int gw_staffauth_new(struct gw_staffauth **out, int64_t lockout, int64_t session)
{
	struct gw_staffauth *a = calloc(1, sizeof *a);

	*out = NULL;
	if (!a)
		return -ENOMEM;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return -ENOMEM;
	}
	if (pthread_mutex_init(&a->verify_lock, NULL) != 0) {
		pthread_mutex_destroy(&a->lock);
		free(a);
		return -ENOMEM;
	}
	a->lockout = lockout > 0 ? lockout : 1;
	a->session_time = session > 0 ? session : 1;
	*out = a;
	return 0;
}

void gw_staffauth_free(struct gw_staffauth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->verify_lock);
	sodium_memzero(a, sizeof *a);
	free(a);
}

int gw_staffauth_pin_valid(const char *pin)
{
	size_t n = pin ? strlen(pin) : 0;

	if (n < GW_STAFF_PIN_MIN || n > GW_STAFF_PIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return 0;
	return 1;
}

int gw_staffauth_hash_pin(char *out, size_t out_len, const char *pin)
{
	char hash[crypto_pwhash_STRBYTES];

	if (!gw_staffauth_pin_valid(pin))
		return AS_E_FIELD;
	if (out_len < strlen(crypto_pwhash_STRPREFIX) + 2 || out_len < 160)
		return AS_E_FIELD;
	if (crypto_pwhash_str_alg(hash, pin, strlen(pin), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	snprintf(out, out_len, "%s\n", hash);
	return 0;
}

int gw_staffauth_load_pin(struct gw_staffauth *a, const char *path, int *have_pin,
			  char *err, size_t err_len)
{
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	*have_pin = 0;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			rc = -errno;
			snprintf(err, err_len, "staff PIN file %s: %s", path, strerror(errno));
			return rc;
		}
		pthread_mutex_lock(&a->lock);
		if (a->hash[0])
			memset(a->sessions, 0, sizeof a->sessions);
		a->hash[0] = '\0';
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_len, "staff PIN file %s is readable by others (run: chmod 600 %s)",
			 path, path);
		return AS_E_KEY_PERMS;
	}
	rc = as_file_read_all(path, 512, &data, &len);
	if (rc) {
		snprintf(err, err_len, "staff PIN file %s: %s", path, as_strerror(rc));
		return rc;
	}
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	if (len == 0 || len >= crypto_pwhash_STRBYTES ||
	    strncmp((const char *)data, "$argon2id$", 10) != 0 || memchr(data, '\n', len)) {
		free(data);
		snprintf(err, err_len, "staff PIN file %s holds no argon2id hash (set the PIN "
			 "again with 'anshim-gw staff-pin')", path);
		return AS_E_CONFIG;
	}
	pthread_mutex_lock(&a->lock);
	if (strcmp(a->hash, (const char *)data) != 0)
		memset(a->sessions, 0, sizeof a->sessions);
	memcpy(a->hash, data, len + 1);
	pthread_mutex_unlock(&a->lock);
	free(data);
	*have_pin = 1;
	return 0;
}

int gw_staffauth_has_pin(struct gw_staffauth *a)
{
	int have;

	pthread_mutex_lock(&a->lock);
	have = a->hash[0] != '\0';
	pthread_mutex_unlock(&a->lock);
	return have;
}

/* The entry of client, made if need be.  Under a->lock. */
static struct address *address_of(struct gw_staffauth *a, const char *client, int64_t now)
{
	struct address *victim = NULL;

	for (size_t i = 0; i < ADDRESSES; i++) {
		struct address *e = &a->addrs[i];
		if (e->text[0] && strcmp(e->text, client) == 0) {
			e->last_seen = now;
			return e;
		}
		if (e->locked_until > now)
			continue;
		if (!victim || !e->text[0] || (victim->text[0] && e->last_seen < victim->last_seen))
			victim = e;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof *victim);
	snprintf(victim->text, sizeof victim->text, "%s", client);
	victim->last_seen = now;
	return victim;
}

static void token_hash(uint8_t out[32], const char *token)
{
	crypto_generichash(out, 32, (const unsigned char *)token, strlen(token), NULL, 0);
}

/* Start a session; fill token.  Under a->lock. */
static void session_start(struct gw_staffauth *a, int64_t now, char *token)
{
	uint8_t raw[GW_STAFF_TOKEN_LEN / 2];
	struct session *slot = &a->sessions[0];

	for (size_t i = 0; i < GW_STAFF_SESSIONS; i++) {
		struct session *s = &a->sessions[i];
		if (s->expires <= now) {
			slot = s;
			break;
		}
		if (s->created < slot->created)
			slot = s;
	}
	randombytes_buf(raw, sizeof raw);
	as_hex_encode(token, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	token_hash(slot->hash, token);
	slot->created = now;
	slot->expires = now + a->session_time;
}

enum gw_login_result gw_staffauth_login(struct gw_staffauth *a, const char *client,
					const char *pin, int64_t now, char *token,
					unsigned *tries_left, int64_t *retry_after)
{
	char hash[crypto_pwhash_STRBYTES];
	struct address *e;
	int ok;

	*tries_left = 0;
	*retry_after = 0;
	pthread_mutex_lock(&a->lock);
	if (!a->hash[0]) {
		pthread_mutex_unlock(&a->lock);
		return GW_LOGIN_NO_PIN;
	}
	e = address_of(a, client, now);
	if (a->all_locked_until > now || !e || e->locked_until > now) {
		int64_t until = a->all_locked_until > now ? a->all_locked_until :
				e && e->locked_until > now ? e->locked_until : now + a->lockout;
		*retry_after = until - now;
		pthread_mutex_unlock(&a->lock);
		return GW_LOGIN_LOCKED;
	}
	memcpy(hash, a->hash, sizeof hash);
	pthread_mutex_unlock(&a->lock);

	pthread_mutex_lock(&a->verify_lock);
	ok = gw_staffauth_pin_valid(pin) &&
	     crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0;
	pthread_mutex_unlock(&a->verify_lock);

	pthread_mutex_lock(&a->lock);
	e = address_of(a, client, now);
	if (ok && e && e->locked_until <= now && a->all_locked_until <= now) {
		e->fails = 0;
		session_start(a, now, token);
		pthread_mutex_unlock(&a->lock);
		return GW_LOGIN_OK;
	}
	if (ok) { /* locked meanwhile by other tries */
		*retry_after = a->lockout;
		pthread_mutex_unlock(&a->lock);
		return GW_LOGIN_LOCKED;
	}
	if (a->fails_all_since + a->lockout <= now) {
		a->fails_all = 0;
		a->fails_all_since = now;
	}
	if (++a->fails_all >= GW_STAFF_TRIES_ALL) {
		a->all_locked_until = now + a->lockout;
		a->fails_all = 0;
	}
	if (e && ++e->fails >= GW_STAFF_TRIES) {
		e->fails = 0;
		e->locked_until = now + a->lockout;
	}
	if (a->all_locked_until > now || !e || e->locked_until > now) {
		*retry_after = a->lockout;
		pthread_mutex_unlock(&a->lock);
		return GW_LOGIN_LOCKED;
	}
	*tries_left = GW_STAFF_TRIES - e->fails;
	pthread_mutex_unlock(&a->lock);
	return GW_LOGIN_WRONG;
}

int gw_staffauth_session_ok(struct gw_staffauth *a, const char *token, int64_t now)
{
	uint8_t h[32];
	int ok = 0;

	if (!token || strlen(token) != GW_STAFF_TOKEN_LEN)
		return 0;
	token_hash(h, token);
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < GW_STAFF_SESSIONS; i++)
		if (a->sessions[i].expires > now && sodium_memcmp(a->sessions[i].hash, h, 32) == 0)
			ok = 1;
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void gw_staffauth_logout(struct gw_staffauth *a, const char *token)
{
	uint8_t h[32];

	if (!token || strlen(token) != GW_STAFF_TOKEN_LEN)
		return;
	token_hash(h, token);
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < GW_STAFF_SESSIONS; i++)
		if (sodium_memcmp(a->sessions[i].hash, h, 32) == 0)
			memset(&a->sessions[i], 0, sizeof a->sessions[i]);
	pthread_mutex_unlock(&a->lock);
}
