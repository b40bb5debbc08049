/*
 * sessions.c - the console's server-side sessions (see sessions.h).
 *
 * The table is a fixed array of max slots, allocated once; a slot is free
 * when its key is all zero.  The key is BLAKE2b-256 of the session id's
 * 32 random bytes: a lookup hashes the cookie's bytes and compares keys,
 * so neither the table nor the timing of a lookup gives away a usable id.
 * Expired sessions are forgotten when found, and swept before a new one
 * takes a slot.  With the few hundred sessions of a health office a
 * linear scan costs microseconds.
 *
 * Invariants: a live slot's created <= last_used; a session is live while
 * now - last_used < idle and now - created < absolute; at most max live.
 *
 * Threads: any; every function takes the one mutex.
 */
#include "sessions.h"

#include "anshim/error.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ID_LEN 32
#define KEY_LEN 32

struct slot {
	uint8_t key[KEY_LEN];            /* BLAKE2b(id); all zero: free */
	struct cs_session session;
};

struct cs_sessions {
	pthread_mutex_t lock;
	size_t max;
	int64_t idle, absolute;
	struct slot *slots;
};

static int slot_free(const struct slot *sl)
{
	return sodium_is_zero(sl->key, KEY_LEN);
}

static int slot_live(const struct cs_sessions *s, const struct slot *sl, int64_t now)
{
	return now - sl->session.last_used < s->idle && now - sl->session.created < s->absolute;
}

static void slot_clear(struct slot *sl)
{
	sodium_memzero(sl, sizeof *sl);
}

/* The key of a hex id; -1 when the text is not 64 hex digits. */
static int id_key(const char *hex, uint8_t key[KEY_LEN])
{
	uint8_t id[ID_LEN];
	size_t len = 0;

	if (!hex || strlen(hex) != CS_TOKEN_HEX ||
	    sodium_hex2bin(id, sizeof id, hex, CS_TOKEN_HEX, NULL, &len, NULL) != 0 ||
	    len != ID_LEN)
		return -1;
	crypto_generichash(key, KEY_LEN, id, sizeof id, NULL, 0);
	sodium_memzero(id, sizeof id);
	return 0;
}

int cs_sessions_new(struct cs_sessions **out, size_t max, int64_t idle, int64_t absolute)
{
	struct cs_sessions *s;

	*out = NULL;
	if (max < 1 || idle < 1 || absolute < 1)
		return -EINVAL;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->slots = calloc(max, sizeof *s->slots);
	if (!s->slots) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->max = max;
	s->idle = idle;
	s->absolute = absolute;
	*out = s;
	return 0;
}

void cs_sessions_free(struct cs_sessions *s)
{
	if (!s)
		return;
	sodium_memzero(s->slots, s->max * sizeof *s->slots);
	free(s->slots);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int cs_sessions_create(struct cs_sessions *s, const struct cs_user *user, int64_t now,
		       char id[CS_TOKEN_HEX + 1], char csrf[CS_TOKEN_HEX + 1])
{
	uint8_t raw[ID_LEN], key[KEY_LEN];
	struct slot *free_slot = NULL;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->max; i++) {
		struct slot *sl = &s->slots[i];
		if (!slot_free(sl) && !slot_live(s, sl, now))
			slot_clear(sl);
		if (slot_free(sl) && !free_slot)
			free_slot = sl;
	}
	if (!free_slot) {
		pthread_mutex_unlock(&s->lock);
		return AS_E_FULL;
	}
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(id, CS_TOKEN_HEX + 1, raw, sizeof raw);
	crypto_generichash(key, KEY_LEN, raw, sizeof raw, NULL, 0);
	memcpy(free_slot->key, key, KEY_LEN);
	free_slot->session.user = *user;
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(free_slot->session.csrf, sizeof free_slot->session.csrf, raw, sizeof raw);
	memcpy(csrf, free_slot->session.csrf, CS_TOKEN_HEX + 1);
	free_slot->session.created = now;
	free_slot->session.last_used = now;
	pthread_mutex_unlock(&s->lock);
	sodium_memzero(raw, sizeof raw);
	return 0;
}

/* The slot holding the session with this key, or NULL.  Lock held. */
static struct slot *slot_of(struct cs_sessions *s, const uint8_t key[KEY_LEN])
{
	for (size_t i = 0; i < s->max; i++) {
		struct slot *sl = &s->slots[i];
		if (!slot_free(sl) && memcmp(sl->key, key, KEY_LEN) == 0)
			return sl;
	}
	return NULL;
}

int cs_sessions_find(struct cs_sessions *s, const char *id, int64_t now,
		     struct cs_session *out)
{
	uint8_t key[KEY_LEN];
	struct slot *sl;
	int rc = AS_E_NOT_FOUND;

	if (id_key(id, key) != 0)
		return AS_E_NOT_FOUND;
	pthread_mutex_lock(&s->lock);
	sl = slot_of(s, key);
	if (sl && !slot_live(s, sl, now)) {
		slot_clear(sl);
		rc = AS_E_EXPIRED;
	} else if (sl) {
		if (now > sl->session.last_used)
			sl->session.last_used = now;
		*out = sl->session;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int cs_sessions_end(struct cs_sessions *s, const char *id)
{
	uint8_t key[KEY_LEN];
	struct slot *sl;

	if (id_key(id, key) != 0)
		return AS_E_NOT_FOUND;
	pthread_mutex_lock(&s->lock);
	sl = slot_of(s, key);
	if (sl)
		slot_clear(sl);
	pthread_mutex_unlock(&s->lock);
	return sl ? 0 : AS_E_NOT_FOUND;
}

size_t cs_sessions_end_user(struct cs_sessions *s, const char *name)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->max; i++) {
		struct slot *sl = &s->slots[i];
		if (!slot_free(sl) && strcmp(sl->session.user.name, name) == 0) {
			slot_clear(sl);
			n++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t cs_sessions_count(struct cs_sessions *s, int64_t now)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->max; i++) {
		struct slot *sl = &s->slots[i];
		if (slot_free(sl))
			continue;
		if (slot_live(s, sl, now))
			n++;
		else
			slot_clear(sl);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int cs_csrf_ok(const struct cs_session *session, const char *sent)
{
	if (!sent || strlen(sent) != CS_TOKEN_HEX)
		return 0;
	return sodium_memcmp(session->csrf, sent, CS_TOKEN_HEX) == 0;
}
