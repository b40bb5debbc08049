/*
 * accounts.c - the console's user accounts in one text file (see
 * accounts.h for the contract).
 *
 * File format (text, mode 0600 or 0640), written only by this module:
 *
 *     anshim-accounts 1
 *     # comment lines and blank lines are allowed after the first line
 *     NAME ROLE enabled|disabled CREATED PASSWORD_CHANGED FAILED LOCKED_UNTIL LAST_LOGIN HASH
 *
 * one account a line, fields separated by one space, times in unix
 * seconds, HASH the crypto_pwhash_str string ("$argon2id$v=19$...").  A
 * line that does not parse is an error naming the file and the line; no
 * account is read from a file with such a line.
 *
 * Invariants: every change happens under an exclusive flock on PATH.lock
 * (a lock file beside the accounts file, because a rename replaces the
 * accounts file's inode) and is written back whole with
 * as_file_write_atomic with the mode (0600 or 0640) and the group of the
 * file it replaces (and its owner when root writes it); a new file is
 * 0600.  A file others may read or write, or its group write, is refused.  Reads without the lock see the old or the new file, never a
 * mix.  Passwords are hashed outside the lock, so one slow hash does not
 * hold up other logins.  A login attempt is counted as a failure before
 * its password is checked (and the count reset when it was right), so
 * concurrent guesses cannot get past CL_ACCOUNTS_MAX_FAILED.
 *
 * Any thread: no global state besides libsodium's own.
 */
#include "accounts.h"

#include "anshim/error.h"
#include "anshim/fileio.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACCOUNTS_MAGIC "anshim-accounts 1"
#define ACCOUNTS_MAX_BYTES (4u << 20) /* about 20,000 accounts */
#define ACCOUNTS_FIELDS 9
#define HASH_MAX (crypto_pwhash_STRBYTES - 1)

/*
 * A crypto_pwhash_str of a random password with the interactive limits,
 * verified against for an unknown name so that it costs what a wrong
 * password costs.
 */
const char cl_accounts_dummy_hash[crypto_pwhash_STRBYTES] =
	"$argon2id$v=19$m=65536,t=2,p=1$9X4IbyV/sI0se/CsJdNxKg$"
	"bh+KDecmrnMu9nz3pumk8fECpHy2KP8ATYDLPeJpznk";

struct account_row {
	struct cl_account a;
	char hash[HASH_MAX + 1];
};

struct account_table {
	struct account_row *rows;
	size_t n, cap;
};

static const char *const role_names[] = {
	[CL_ROLE_ANALYST] = "analyst",
	[CL_ROLE_INVESTIGATOR] = "investigator",
	[CL_ROLE_SUPERVISOR] = "supervisor",
};

const char *cl_role_name(enum cl_role role)
{
	if (role >= CL_ROLE_ANALYST && role <= CL_ROLE_SUPERVISOR)
		return role_names[role];
	return "unknown";
}

int cl_role_parse(const char *text, enum cl_role *role)
{
	for (int r = CL_ROLE_ANALYST; r <= CL_ROLE_SUPERVISOR; r++) {
		if (strcmp(text, role_names[r]) == 0) {
			*role = (enum cl_role)r;
			return 0;
		}
	}
	return AS_E_FIELD;
}

static int name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CL_ACCOUNT_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int check_name(const char *name, char *err, size_t err_len)
{
	if (name_valid(name))
		return 0;
	snprintf(err, err_len, "account name '%.80s' is not valid: use 1 to %d of a-z, "
		 "0-9, '.', '_', '-', starting with a letter", name, CL_ACCOUNT_NAME_MAX);
	return AS_E_FIELD;
}

static int check_password(const char *password, char *err, size_t err_len)
{
	size_t n = strlen(password);

	if (n < CL_PASSWORD_MIN) {
		snprintf(err, err_len, "the password is too short (%zu bytes): use at least "
			 "%d", n, CL_PASSWORD_MIN);
		return AS_E_FIELD;
	}
	if (n > CL_PASSWORD_MAX) {
		snprintf(err, err_len, "the password is too long (%zu bytes): use at most %d",
			 n, CL_PASSWORD_MAX);
		return AS_E_FIELD;
	}
	return 0;
}

/* ---- the lock -------------------------------------------------------- */

/* Open and lock PATH.lock (created 0600, owned like the accounts file's
 * directory when root creates it).  Returns the descriptor, or -errno. */
static int accounts_lock(const char *path, char *err, size_t err_len)
{
	char lock[PATH_MAX];
	int fd, rc;

	if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) {
		snprintf(err, err_len, "%.200s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "cannot open the lock file %s: %s (does the directory "
			 "exist, and may this user write to it?)", lock, as_strerror(rc));
		return rc;
	}
	if (geteuid() == 0) {
		/* The console's user must be able to take the lock too. */
		char dir[PATH_MAX];
		const char *slash = strrchr(path, '/');
		struct stat st;
		size_t n = slash ? (size_t)(slash - path) : 0;

		if (n == 0)
			snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
		else
			snprintf(dir, sizeof dir, "%.*s", (int)n, path);
		if (stat(dir, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) < 0) {
			rc = -errno;
			close(fd);
			snprintf(err, err_len, "cannot give %s its directory's owner: %s", lock,
				 as_strerror(rc));
			return rc;
		}
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			snprintf(err, err_len, "cannot lock %s: %s", lock, as_strerror(rc));
			return rc;
		}
	}
	return fd;
}

static void accounts_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ---- reading and writing the file ------------------------------------ */

static void table_free(struct account_table *t)
{
	if (t->rows)
		sodium_memzero(t->rows, t->cap * sizeof *t->rows);
	free(t->rows);
	memset(t, 0, sizeof *t);
}

static struct account_row *table_find(struct account_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].a.name, name) == 0)
			return &t->rows[i];
	return NULL;
}

static struct account_row *table_add(struct account_table *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct account_row *rows = calloc(cap, sizeof *rows);

		if (!rows)
			return NULL;
		if (t->rows) {
			memcpy(rows, t->rows, t->n * sizeof *rows);
			sodium_memzero(t->rows, t->cap * sizeof *rows);
			free(t->rows);
		}
		t->rows = rows;
		t->cap = cap;
	}
	memset(&t->rows[t->n], 0, sizeof t->rows[t->n]);
	return &t->rows[t->n++];
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct account_row *)a)->a.name,
		      ((const struct account_row *)b)->a.name);
}

static int hash_valid(const char *h)
{
	size_t n = strlen(h);

	if (n > HASH_MAX || strncmp(h, "$argon2id$", 10) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (h[i] <= ' ' || h[i] > '~')
			return 0;
	return 1;
}

/* Parse one account line (NUL-terminated, no newline) into row.  On error
 * says which field is wrong in why. */
static int parse_line(char *line, struct account_row *row, char *why, size_t why_len)
{
	char *field[ACCOUNTS_FIELDS];
	int64_t v[5];
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *sp = strchr(p, ' ');
		if (n == ACCOUNTS_FIELDS) {
			snprintf(why, why_len, "more than %d fields", ACCOUNTS_FIELDS);
			return AS_E_CORRUPT;
		}
		field[n++] = p;
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	if (n != ACCOUNTS_FIELDS) {
		snprintf(why, why_len, "%zu fields where %d are expected (name role state "
			 "created password_changed failed locked_until last_login hash)", n,
			 ACCOUNTS_FIELDS);
		return AS_E_CORRUPT;
	}
	if (!name_valid(field[0])) {
		snprintf(why, why_len, "the name '%.80s' is not valid (a-z, 0-9, '.', '_', "
			 "'-', starting with a letter, at most %d)", field[0], CL_ACCOUNT_NAME_MAX);
		return AS_E_CORRUPT;
	}
	snprintf(row->a.name, sizeof row->a.name, "%s", field[0]);
	if (cl_role_parse(field[1], &row->a.role)) {
		snprintf(why, why_len, "the role '%.40s' is not analyst, investigator or "
			 "supervisor", field[1]);
		return AS_E_CORRUPT;
	}
	if (strcmp(field[2], "enabled") == 0) {
		row->a.disabled = 0;
	} else if (strcmp(field[2], "disabled") == 0) {
		row->a.disabled = 1;
	} else {
		snprintf(why, why_len, "the state '%.40s' is not enabled or disabled", field[2]);
		return AS_E_CORRUPT;
	}
	static const char *const names[5] = {"created", "password_changed", "failed",
					     "locked_until", "last_login"};
	for (int i = 0; i < 5; i++) {
		int64_t max = i == 2 ? UINT32_MAX : INT64_MAX;
		if (as_parse_int64(field[3 + i], 0, max, &v[i])) {
			snprintf(why, why_len, "%s '%.40s' is not a number from 0 to %lld",
				 names[i], field[3 + i], (long long)max);
			return AS_E_CORRUPT;
		}
	}
	row->a.created = v[0];
	row->a.password_changed = v[1];
	row->a.failed = (uint32_t)v[2];
	row->a.locked_until = v[3];
	row->a.last_login = v[4];
	if (!hash_valid(field[8])) {
		snprintf(why, why_len, "the password hash is not an argon2id hash");
		return AS_E_CORRUPT;
	}
	snprintf(row->hash, sizeof row->hash, "%s", field[8]);
	return 0;
}

/*
 * The file's mode: 0600, or 0640 to let its group (the reveal service's
 * anshim-accounts) read the roles.  Refused: anything others may read or
 * write, and a group that may write or execute it.
 */
static int check_mode(const char *path, const struct stat *st, char *err, size_t err_len)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (!S_ISREG(st->st_mode))
		return 0; /* reading it says what is wrong */
	if (mode & 0007) {
		snprintf(err, err_len, "%s may be read or written by others (mode %o): it "
			 "holds password hashes; run 'chmod 640 %s' (its group reads it) or "
			 "'chmod 600 %s'", path, mode, path, path);
		return AS_E_KEY_PERMS;
	}
	if (mode & 07130) {
		snprintf(err, err_len, "%s may be written or run by its group, or is set-id "
			 "(mode %o): only its owner may change the accounts; run "
			 "'chmod 640 %s' (its group reads it) or 'chmod 600 %s'", path, mode, path,
			 path);
		return AS_E_KEY_PERMS;
	}
	return 0;
}

/*
 * Read path into t (zeroed by the caller; release with table_free).  A
 * missing file is -ENOENT with t empty.  Fails closed: a file that others
 * may read, or any bad line, is an error naming it.
 */
static int table_load(const char *path, struct account_table *t, char *err, size_t err_len)
{
	unsigned char *buf = NULL;
	size_t len = 0, lineno = 0;
	struct stat st;
	char *p, *end;
	int rc;

	if (stat(path, &st) < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			snprintf(err, err_len, "%s does not exist: add the first account with "
				 "'anshim-cloud user add NAME --role supervisor'", path);
		else
			snprintf(err, err_len, "cannot read %s: %s", path, as_strerror(rc));
		return rc;
	}
	if ((rc = check_mode(path, &st, err, err_len)) != 0)
		return rc;
	rc = as_file_read_all(path, ACCOUNTS_MAX_BYTES, &buf, &len);
	if (rc) {
		snprintf(err, err_len, "cannot read %s: %s", path, as_strerror(rc));
		return rc;
	}
	if (strlen((char *)buf) != len) {
		snprintf(err, err_len, "%s holds a NUL byte: it is not an accounts file", path);
		rc = AS_E_CORRUPT;
		goto out;
	}
	for (p = (char *)buf; *p; p = end) {
		char why[200];
		char *nl = strchr(p, '\n');

		lineno++;
		if (!nl) {
			snprintf(err, err_len, "%s:%zu: the last line has no newline (the file was "
				 "cut short?)", path, lineno);
			rc = AS_E_CORRUPT;
			goto out;
		}
		*nl = '\0';
		end = nl + 1;
		if (lineno == 1) {
			if (strcmp(p, ACCOUNTS_MAGIC) != 0) {
				snprintf(err, err_len, "%s:1: not an Anshim accounts file (the first "
					 "line must be '" ACCOUNTS_MAGIC "')", path);
				rc = AS_E_CORRUPT;
				goto out;
			}
			continue;
		}
		if (*p == '\0' || *p == '#')
			continue;
		struct account_row *row = table_add(t);
		if (!row) {
			rc = -ENOMEM;
			snprintf(err, err_len, "%s: out of memory", path);
			goto out;
		}
		if ((rc = parse_line(p, row, why, sizeof why)) != 0) {
			snprintf(err, err_len, "%s:%zu: %s; fix or remove the line (e.g. restore "
				 "the file from a backup)", path, lineno, why);
			goto out;
		}
		for (size_t i = 0; i + 1 < t->n; i++) {
			if (strcmp(t->rows[i].a.name, row->a.name) == 0) {
				snprintf(err, err_len, "%s:%zu: account '%s' appears twice; remove "
					 "one of the lines", path, lineno, row->a.name);
				rc = AS_E_CORRUPT;
				goto out;
			}
		}
	}
	if (lineno == 0) {
		snprintf(err, err_len, "%s is empty: not an accounts file (the first line "
			 "must be '" ACCOUNTS_MAGIC "')", path);
		rc = AS_E_CORRUPT;
	}
out:
	if (rc)
		table_free(t);
	else if (t->n > 1)
		qsort(t->rows, t->n, sizeof *t->rows, row_cmp);
	sodium_memzero(buf, len);
	free(buf);
	return rc;
}

/* As table_load, but a missing file is an empty table. */
static int table_load_or_new(const char *path, struct account_table *t, char *err,
			     size_t err_len)
{
	int rc = table_load(path, t, err, err_len);

	if (rc == -ENOENT) {
		if (err_len)
			err[0] = '\0';
		return 0;
	}
	return rc;
}

static int table_save(const char *path, struct account_table *t, char *err, size_t err_len)
{
	struct as_strbuf b = {0};
	int rc;

	qsort(t->rows, t->n, sizeof *t->rows, row_cmp);
	as_strbuf_add(&b, ACCOUNTS_MAGIC "\n"
		      "# The console's accounts. Change them with 'anshim-cloud user', not by hand.\n"
		      "# name role state created password_changed failed locked_until last_login hash\n");
	for (size_t i = 0; i < t->n; i++) {
		const struct cl_account *a = &t->rows[i].a;
		as_strbuf_printf(&b, "%s %s %s %lld %lld %u %lld %lld %s\n", a->name,
				 cl_role_name(a->role), a->disabled ? "disabled" : "enabled",
				 (long long)a->created, (long long)a->password_changed, a->failed,
				 (long long)a->locked_until, (long long)a->last_login,
				 t->rows[i].hash);
	}
	if (b.failed) {
		as_strbuf_free(&b);
		snprintf(err, err_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* Keep the group's read (0640) and the group itself across the
	 * rewrite; a new file is 0600. */
	mode_t mode = 0600;
	struct stat st;
	if (stat(path, &st) == 0)
		mode |= st.st_mode & 0040;
	rc = as_file_write_atomic(path, b.p, b.len, mode,
				  AS_WRITE_KEEP_OWNER | AS_WRITE_KEEP_GROUP);
	if (rc == -EPERM)
		snprintf(err, err_len, "cannot write %s: it belongs to a group this user is "
			 "not in (run 'anshim-cloud user' as the file's owner, e.g. "
			 "'runuser -u anshim-console -- anshim-cloud user ...'); nothing was "
			 "changed", path);
	else if (rc)
		snprintf(err, err_len, "cannot write %s: %s (nothing was changed)", path,
			 as_strerror(rc));
	sodium_memzero(b.p, b.len);
	as_strbuf_free(&b);
	return rc;
}

static int not_found(const char *path, const char *name, char *err, size_t err_len)
{
	snprintf(err, err_len, "no account '%s' in %s (see 'anshim-cloud user list')", name,
		 path);
	return AS_E_NOT_FOUND;
}

/* ---- changes ----------------------------------------------------------- */

/* What a change under the lock works on. */
struct change {
	const char *path, *name;
	int save;                      /* set by the change: write the table back */
	/* inputs and outputs of the individual changes */
	enum cl_role role;
	int64_t now;
	char hash[HASH_MAX + 1];
	int64_t retry_after;
	struct cl_account account;
};

typedef int (*change_fn)(struct account_table *t, struct change *c, char *err, size_t err_len);

/*
 * Read-modify-write under the lock: load the file (a missing one is an
 * empty table when may_create), let fn change the table, and write it
 * back when fn set c->save.  Returns fn's result (>= 0) or an error.
 */
static int table_update(struct change *c, int may_create, change_fn fn, char *err,
			size_t err_len)
{
	struct account_table t = {0};
	int rc, fd = accounts_lock(c->path, err, err_len);

	if (fd < 0)
		return fd;
	c->save = 0;
	rc = may_create ? table_load_or_new(c->path, &t, err, err_len)
			: table_load(c->path, &t, err, err_len);
	if (!rc)
		rc = fn(&t, c, err, err_len);
	if (rc >= 0 && c->save) {
		int saved = table_save(c->path, &t, err, err_len);
		if (saved)
			rc = saved;
	}
	accounts_unlock(fd);
	table_free(&t);
	return rc;
}

static struct account_row *find_or_say(struct account_table *t, const struct change *c,
				       char *err, size_t err_len)
{
	struct account_row *row = table_find(t, c->name);

	if (!row)
		not_found(c->path, c->name, err, err_len);
	return row;
}

static int hash_password(char hash[HASH_MAX + 1], const char *password, char *err,
			 size_t err_len)
{
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(hash, password, strlen(password),
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, err_len, "cannot hash the password (out of memory? argon2id "
			 "needs %zu MiB)", (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20);
		return AS_E_CRYPTO;
	}
	return 0;
}

static int change_add(struct account_table *t, struct change *c, char *err, size_t err_len)
{
	struct account_row *row;

	if (table_find(t, c->name)) {
		snprintf(err, err_len, "account '%s' already exists in %s (change its password "
			 "with 'anshim-cloud user passwd %s')", c->name, c->path, c->name);
		return AS_E_EXISTS;
	}
	if (!(row = table_add(t))) {
		snprintf(err, err_len, "%s: out of memory", c->path);
		return -ENOMEM;
	}
	snprintf(row->a.name, sizeof row->a.name, "%s", c->name);
	row->a.role = c->role;
	row->a.created = c->now;
	row->a.password_changed = c->now;
	memcpy(row->hash, c->hash, sizeof row->hash);
	c->save = 1;
	return 0;
}

int cl_accounts_add(const char *path, const char *name, enum cl_role role,
		    const char *password, int64_t now, char *err, size_t err_len)
{
	struct change c = {.path = path, .name = name, .role = role, .now = now};
	int rc;

	if ((rc = check_name(name, err, err_len)) || (rc = check_password(password, err, err_len)))
		return rc;
	if (role < CL_ROLE_ANALYST || role > CL_ROLE_SUPERVISOR) {
		snprintf(err, err_len, "role %d is not analyst, investigator or supervisor",
			 (int)role);
		return AS_E_FIELD;
	}
	if ((rc = hash_password(c.hash, password, err, err_len)) == 0)
		rc = table_update(&c, 1, change_add, err, err_len);
	sodium_memzero(&c, sizeof c);
	return rc;
}

static int change_passwd(struct account_table *t, struct change *c, char *err, size_t err_len)
{
	struct account_row *row = find_or_say(t, c, err, err_len);

	if (!row)
		return AS_E_NOT_FOUND;
	memcpy(row->hash, c->hash, sizeof row->hash);
	row->a.password_changed = c->now;
	row->a.failed = 0;
	row->a.locked_until = 0;
	c->save = 1;
	return 0;
}

int cl_accounts_passwd(const char *path, const char *name, const char *password,
		       int64_t now, char *err, size_t err_len)
{
	struct change c = {.path = path, .name = name, .now = now};
	int rc;

	if ((rc = check_name(name, err, err_len)) || (rc = check_password(password, err, err_len)))
		return rc;
	if ((rc = hash_password(c.hash, password, err, err_len)) == 0)
		rc = table_update(&c, 0, change_passwd, err, err_len);
	sodium_memzero(&c, sizeof c);
	return rc;
}

static int change_disable(struct account_table *t, struct change *c, char *err, size_t err_len)
{
	struct account_row *row = find_or_say(t, c, err, err_len);

	if (!row)
		return AS_E_NOT_FOUND;
	c->save = !row->a.disabled;
	row->a.disabled = 1;
	return 0;
}

int cl_accounts_disable(const char *path, const char *name, char *err, size_t err_len)
{
	struct change c = {.path = path, .name = name};
	int rc = check_name(name, err, err_len);

	return rc ? rc : table_update(&c, 0, change_disable, err, err_len);
}

int cl_accounts_get(const char *path, const char *name, struct cl_account *out,
		    char *err, size_t err_len)
{
	struct account_table t = {0};
	struct account_row *row;
	int rc;

	if ((rc = check_name(name, err, err_len)) != 0)
		return rc;
	if ((rc = table_load(path, &t, err, err_len)) != 0)
		return rc;
	row = table_find(&t, name);
	if (row)
		*out = row->a;
	else
		rc = not_found(path, name, err, err_len);
	table_free(&t);
	return rc;
}

int cl_accounts_each(const char *path, int (*fn)(void *ctx, const struct cl_account *a),
		     void *ctx, char *err, size_t err_len)
{
	struct account_table t = {0};
	int rc = table_load(path, &t, err, err_len);

	for (size_t i = 0; !rc && i < t.n; i++)
		rc = fn(ctx, &t.rows[i].a);
	table_free(&t);
	return rc;
}

/* ---- login ------------------------------------------------------------- */

/* Spend what checking a wrong password costs, and answer CL_LOGIN_BAD. */
static int login_bad_unknown(const char *password)
{
	size_t n = strlen(password);

	/* Its answer is always "no": only the time it takes matters. */
	if (sodium_init() >= 0 &&
	    crypto_pwhash_str_verify(cl_accounts_dummy_hash, password,
				     n > CL_PASSWORD_MAX ? CL_PASSWORD_MAX : n) == 0)
		return CL_LOGIN_BAD;
	return CL_LOGIN_BAD;
}

#define LOGIN_UNKNOWN 100 /* change_count's answer for a name not in the file */

/* Before the password is checked: refuse a locked account, else count the
 * attempt as a failure and take the hash to check against. */
static int change_count(struct account_table *t, struct change *c, char *err, size_t err_len)
{
	struct account_row *row = table_find(t, c->name);

	if (!row)
		return LOGIN_UNKNOWN;
	if (row->a.locked_until > c->now) {
		c->retry_after = row->a.locked_until - c->now;
		return CL_LOGIN_LOCKED;
	}
	if (row->a.locked_until != 0) { /* the lock has run out: a fresh start */
		row->a.locked_until = 0;
		row->a.failed = 0;
	}
	if (row->a.failed < UINT32_MAX)
		row->a.failed++;
	if (row->a.failed >= CL_ACCOUNTS_MAX_FAILED)
		row->a.locked_until = c->now + CL_ACCOUNTS_LOCK_SECONDS;
	memcpy(c->hash, row->hash, sizeof c->hash);
	c->save = 1;
	return CL_LOGIN_OK;
}

/* After a good password: reset the count (unless the password changed
 * meanwhile, when the login is bad). */
static int change_good(struct account_table *t, struct change *c, char *err, size_t err_len)
{
	struct account_row *row = table_find(t, c->name);

	if (!row || strcmp(row->hash, c->hash) != 0)
		return CL_LOGIN_BAD;
	row->a.failed = 0;
	row->a.locked_until = 0;
	if (!row->a.disabled)
		row->a.last_login = c->now;
	c->account = row->a;
	c->save = 1;
	return row->a.disabled ? CL_LOGIN_DISABLED : CL_LOGIN_OK;
}

int cl_accounts_login(const char *path, const char *name, const char *password,
		      int64_t now, struct cl_account *out, int64_t *retry_after,
		      char *err, size_t err_len)
{
	struct change c = {.path = path, .name = name, .now = now};
	int rc;

	if (retry_after)
		*retry_after = 0;
	if (err_len)
		err[0] = '\0';
	if (!name_valid(name) || strlen(password) > CL_PASSWORD_MAX)
		return login_bad_unknown(password);
	/* 1. Count the attempt as a failure before checking it. */
	rc = table_update(&c, 0, change_count, err, err_len);
	if (rc == LOGIN_UNKNOWN)
		rc = login_bad_unknown(password);
	else if (rc == CL_LOGIN_LOCKED && retry_after)
		*retry_after = c.retry_after;
	/* 2. The slow part, with the file unlocked; 3. a good password resets
	 * the count. */
	else if (rc == CL_LOGIN_OK)
		rc = crypto_pwhash_str_verify(c.hash, password, strlen(password)) != 0
			? CL_LOGIN_BAD : table_update(&c, 0, change_good, err, err_len);
	if (rc == CL_LOGIN_OK && out)
		*out = c.account;
	sodium_memzero(&c, sizeof c);
	return rc;
}
