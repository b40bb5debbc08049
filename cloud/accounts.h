/*
 * accounts.h - the console's user accounts: name, role, argon2id password
 * hash, disabled flag, and the failed-login lockout state.
 *
 * One text file (the cloud configuration's 'accounts'), owned by the
 * console's user, mode 0600 or 0640: the reveal service reads the roles
 * (the two-person rule) as a member of the file's group (anshim-accounts
 * when packaged) and may not write it.  A file others may read or write,
 * or its group write, is refused with an error naming the chmod that fixes
 * it.  Every change rewrites it atomically (temporary file, fsync, rename,
 * fsync of the directory), keeping its mode and group, under an exclusive
 * flock,
 * so a crash leaves either the old or the new file, and the CLI
 * ('anshim-cloud user ...') and the console may change it at the same
 * time.  Passwords are hashed with libsodium's crypto_pwhash_str (argon2id,
 * interactive limits); the password itself is never stored or logged.
 *
 * Lockout: after CL_ACCOUNTS_MAX_FAILED wrong passwords in a row an
 * account is locked for CL_ACCOUNTS_LOCK_SECONDS; a login while locked is
 * refused without checking the password (and does not extend the lock);
 * a good password resets the count.  A login for an unknown name costs the
 * same hashing time as a wrong password.
 *
 * Any thread; each call opens, locks and closes the file.
 */
#ifndef CL_ACCOUNTS_H
#define CL_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#define CL_ACCOUNT_NAME_MAX 63       /* bytes: [a-z0-9._-], starts with a letter */
#define CL_PASSWORD_MIN 10           /* bytes */
#define CL_PASSWORD_MAX 1024         /* bytes */
#define CL_ACCOUNTS_MAX_FAILED 5
#define CL_ACCOUNTS_LOCK_SECONDS (15 * 60)

enum cl_role {
	CL_ROLE_ANALYST = 1,       /* pseudonymous traces only */
	CL_ROLE_INVESTIGATOR = 2,  /* + may ask to reveal */
	CL_ROLE_SUPERVISOR = 3,    /* + approves reveals, gateways, policy */
};

/* A role's bit in a route's or a check's role mask. */
#define CL_ROLE_BIT(r) (1u << (unsigned)(r))
#define CL_ROLES_ALL (CL_ROLE_BIT(CL_ROLE_ANALYST) | CL_ROLE_BIT(CL_ROLE_INVESTIGATOR) | \
		      CL_ROLE_BIT(CL_ROLE_SUPERVISOR))

struct cl_account {
	char name[CL_ACCOUNT_NAME_MAX + 1];
	enum cl_role role;
	int disabled;
	int64_t created;           /* unix seconds */
	int64_t password_changed;  /* unix seconds */
	uint32_t failed;           /* wrong passwords in a row */
	int64_t locked_until;      /* unix seconds; 0 or past: not locked */
	int64_t last_login;        /* unix seconds; 0: never */
};

/* "analyst", "investigator", "supervisor". */
const char *cl_role_name(enum cl_role role);
/* Parse a role name; 0 or AS_E_FIELD. */
int cl_role_parse(const char *text, enum cl_role *role);

/* Each returns 0 or an error; on error err (err_len bytes) names the file
 * or the account and what to do. */
int cl_accounts_add(const char *path, const char *name, enum cl_role role,
		    const char *password, int64_t now, char *err, size_t err_len);
int cl_accounts_passwd(const char *path, const char *name, const char *password,
		       int64_t now, char *err, size_t err_len);
int cl_accounts_disable(const char *path, const char *name, char *err, size_t err_len);
int cl_accounts_get(const char *path, const char *name, struct cl_account *out,
		    char *err, size_t err_len);
/* fn is called for each account in name order; stops at its first nonzero
 * return and returns it. */
int cl_accounts_each(const char *path, int (*fn)(void *ctx, const struct cl_account *a),
		     void *ctx, char *err, size_t err_len);

enum cl_login_result {
	CL_LOGIN_OK = 0,
	CL_LOGIN_BAD = 1,       /* unknown name or wrong password (one answer) */
	CL_LOGIN_LOCKED = 2,    /* *retry_after: seconds until the lock ends */
	CL_LOGIN_DISABLED = 3,
};
/*
 * Check name and password at time now, update the failure count and the
 * lock, and on CL_LOGIN_OK fill *out.  Returns a cl_login_result (>= 0), or
 * a negative error when the file cannot be read or written.
 */
int cl_accounts_login(const char *path, const char *name, const char *password,
		      int64_t now, struct cl_account *out, int64_t *retry_after,
		      char *err, size_t err_len);

/* The argon2id hash an unknown name's password is checked against, with
 * the limits cl_accounts_add uses (so the check costs the same); public so
 * the unit test can hold it to that. */
extern const char cl_accounts_dummy_hash[];

#endif
