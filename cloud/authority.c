/*
 * authority.c - authority key set creation, loading and credential
 * issuance (see authority.h).
 *
 * Invariants: key creation is all-or-nothing from the caller's view (it
 * checks every name first and creates each file exclusively); secret keys
 * live only in the caller's struct and are wiped by cl_authority_wipe.
 * Used from single-threaded CLI commands and from cloudd's loop thread.
 */
#include "authority.h"

#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/keyfile.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct key_file {
	const char *name;
	enum as_key_kind kind;
	unsigned group;
	size_t offset;
};

static const struct key_file key_files[] = {
	{"sign.key", AS_KEY_SIGN_SECRET, CL_KEY_SIGN, offsetof(struct cl_authority, sign_sk)},
	{"sign.pub", AS_KEY_SIGN_PUBLIC, CL_KEY_SIGN | CL_KEY_SIGN_PUBLIC,
	 offsetof(struct cl_authority, sign_pk)},
	{"contact.key", AS_KEY_CONTACT_SECRET, CL_KEY_CONTACT,
	 offsetof(struct cl_authority, contact_sk)},
	{"contact.pub", AS_KEY_CONTACT_PUBLIC, CL_KEY_CONTACT | CL_KEY_CONTACT_PUBLIC,
	 offsetof(struct cl_authority, contact_pk)},
	{"pseudonym.key", AS_KEY_PSEUDONYM, CL_KEY_PSEUDONYM,
	 offsetof(struct cl_authority, pseudonym_key)},
	{"audit.key", AS_KEY_SIGN_SECRET, CL_KEY_AUDIT, offsetof(struct cl_authority, audit_sk)},
	{"audit.pub", AS_KEY_SIGN_PUBLIC, CL_KEY_AUDIT | CL_KEY_AUDIT_PUBLIC,
	 offsetof(struct cl_authority, audit_pk)},
	{"tokenid.key", AS_KEY_PSEUDONYM, CL_KEY_TOKEN_ID,
	 offsetof(struct cl_authority, token_id_key)},
};
#define N_KEY_FILES (sizeof key_files / sizeof key_files[0])

static char failed_path_buf[PATH_MAX];

static int key_path(char *out, const char *dir, const char *name)
{
	return snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static void note_failure(const char **failed_path, const char *path)
{
	snprintf(failed_path_buf, sizeof failed_path_buf, "%s", path);
	if (failed_path)
		*failed_path = failed_path_buf;
}

/* Create the files of key_files whose group meets `which` (none may exist
 * yet) from a. */
static int create_files(const char *dir, const struct cl_authority *a, unsigned which,
			const char **failed_path)
{
	char path[PATH_MAX];
	int rc;

	rc = as_mkdir_p(dir, 0700);
	if (rc) {
		note_failure(failed_path, dir);
		return rc;
	}
	for (size_t i = 0; i < N_KEY_FILES; i++) {
		if (!(key_files[i].group & which))
			continue;
		if ((rc = key_path(path, dir, key_files[i].name)) != 0)
			return rc;
		if (access(path, F_OK) == 0) {
			note_failure(failed_path, path);
			return AS_E_EXISTS;
		}
	}
	for (size_t i = 0; i < N_KEY_FILES && !rc; i++) {
		if (!(key_files[i].group & which))
			continue;
		rc = key_path(path, dir, key_files[i].name);
		if (!rc)
			rc = as_keyfile_write(path, key_files[i].kind,
					      (const uint8_t *)a + key_files[i].offset,
					      AS_WRITE_EXCLUSIVE);
		if (rc)
			note_failure(failed_path, path);
	}
	return rc;
}

int cl_authority_create(const char *dir, const char **failed_path)
{
	struct cl_authority a;
	int rc;

	crypto_sign_keypair(a.sign_pk, a.sign_sk);
	crypto_box_keypair(a.contact_pk, a.contact_sk);
	randombytes_buf(a.pseudonym_key, sizeof a.pseudonym_key);
	crypto_sign_keypair(a.audit_pk, a.audit_sk);
	randombytes_buf(a.token_id_key, sizeof a.token_id_key);
	rc = create_files(dir, &a, CL_KEY_SIGN | CL_KEY_CONTACT | CL_KEY_PSEUDONYM | CL_KEY_AUDIT |
			  CL_KEY_TOKEN_ID, failed_path);
	cl_authority_wipe(&a);
	return rc;
}

int cl_authority_create_audit(const char *dir, const char **failed_path)
{
	struct cl_authority a;
	int rc;

	memset(&a, 0, sizeof a);
	crypto_sign_keypair(a.audit_pk, a.audit_sk);
	rc = create_files(dir, &a, CL_KEY_AUDIT, failed_path);
	cl_authority_wipe(&a);
	return rc;
}

int cl_authority_create_token_id(const char *dir, const char **failed_path)
{
	struct cl_authority a;
	int rc;

	memset(&a, 0, sizeof a);
	randombytes_buf(a.token_id_key, sizeof a.token_id_key);
	rc = create_files(dir, &a, CL_KEY_TOKEN_ID, failed_path);
	cl_authority_wipe(&a);
	return rc;
}

int cl_authority_load(struct cl_authority *a, const char *dir, unsigned what,
		      const char **failed_path)
{
	char path[PATH_MAX];
	int rc;

	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < N_KEY_FILES; i++) {
		if (!(key_files[i].group & what))
			continue;
		rc = key_path(path, dir, key_files[i].name);
		if (!rc)
			rc = as_keyfile_read(path, key_files[i].kind,
					     (uint8_t *)a + key_files[i].offset);
		if (rc) {
			note_failure(failed_path, path);
			cl_authority_wipe(a);
			return rc;
		}
	}
	a->loaded = what;
	for (int k = 0; k < 2; k++) {
		unsigned bit = k ? CL_KEY_AUDIT : CL_KEY_SIGN;
		const uint8_t *sk = k ? a->audit_sk : a->sign_sk, *pk = k ? a->audit_pk : a->sign_pk;
		uint8_t derived[AS_SIGN_PK_LEN];

		if (!(what & bit))
			continue;
		crypto_sign_ed25519_sk_to_pk(derived, sk);
		if (memcmp(derived, pk, sizeof derived) != 0) {
			key_path(path, dir, k ? "audit.pub" : "sign.pub");
			note_failure(failed_path, path);
			cl_authority_wipe(a);
			return AS_E_KEY_FORMAT;
		}
	}
	return 0;
}

void cl_authority_wipe(struct cl_authority *a)
{
	sodium_memzero(a, sizeof *a);
}

int cl_authority_issue(const struct cl_authority *a, const struct as_contact *contact,
		       const uint8_t *holder_pk, int64_t now, int64_t valid_seconds,
		       struct as_credential *out)
{
	unsigned need = CL_KEY_SIGN | CL_KEY_PSEUDONYM;
	int rc;

	if ((a->loaded & need) != need || !(a->loaded & (CL_KEY_CONTACT | CL_KEY_CONTACT_PUBLIC)) ||
	    valid_seconds <= 0)
		return AS_E_USAGE;
	memset(out, 0, sizeof *out);
	if (holder_pk)
		memcpy(out->holder_pk, holder_pk, AS_SIGN_PK_LEN);
	else
		out->flags = AS_CRED_CARD;
	as_pid_derive(out->pid, a->pseudonym_key, contact->phone);
	out->issued_at = now;
	out->expires_at = now + valid_seconds;
	rc = as_capsule_seal(out->capsule, contact, a->contact_pk);
	if (rc)
		return rc;
	return as_credential_sign(out, a->sign_sk);
}
