/*
 * keyfile.h - key files: typed, hex-encoded, written atomically, and
 * refused when a secret is readable by anyone but its owner.
 *
 * File format (text): "ANSHIM-KEY-1 <kind>\n<hex of the key>\n".  The kind
 * line stops a public key being loaded where a secret is expected, or a
 * contact key where a signing key is.
 */
#ifndef ANSHIM_KEYFILE_H
#define ANSHIM_KEYFILE_H

#include <stddef.h>

enum as_key_kind {
	AS_KEY_SIGN_SECRET,    /* Ed25519 secret key, 64 bytes (libsodium form) */
	AS_KEY_SIGN_PUBLIC,    /* Ed25519 public key, 32 bytes */
	AS_KEY_CONTACT_SECRET, /* X25519 secret key, 32 bytes */
	AS_KEY_CONTACT_PUBLIC, /* X25519 public key, 32 bytes */
	AS_KEY_PSEUDONYM       /* 32-byte secret for keyed BLAKE2b */
};

/* Length in bytes of a key of this kind. */
size_t as_key_len(enum as_key_kind kind);
/* The kind's name as written in the file ("ed25519-secret", ...). */
const char *as_key_kind_name(enum as_key_kind kind);
/* Nonzero for kinds that are secrets (mode 0600 and permission-checked). */
int as_key_is_secret(enum as_key_kind kind);

/*
 * Write key (as_key_len(kind) bytes, borrowed) to path atomically.  Secrets
 * get mode 0600, public keys 0644.  flags: AS_WRITE_EXCLUSIVE refuses to
 * replace an existing file (AS_E_EXISTS).  Returns 0 or an error.
 */
int as_keyfile_write(const char *path, enum as_key_kind kind, const void *key,
		     int flags);

/*
 * Read a key of the given kind from path into key (caller-owned,
 * as_key_len(kind) bytes).  Fails with AS_E_KEY_PERMS if a secret key file
 * is readable or writable by group or others, AS_E_KEY_FORMAT if the file is
 * not a key of that kind, -errno if it cannot be read.  The caller should
 * sodium_memzero() secrets when done.
 */
int as_keyfile_read(const char *path, enum as_key_kind kind, void *key);

#endif
