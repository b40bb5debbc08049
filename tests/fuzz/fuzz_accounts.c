/*
 * fuzz_accounts.c - the console's accounts file parser (cloud/accounts.c):
 * the input is the file, written to a private temp dir with mode 0600.
 *
 * Properties: a file that does not load is refused with a message naming
 * it; one that loads lists valid accounts (name, role) in name order, and
 * a get of each finds it unchanged; disabling the first one rewrites the
 * file (the writer's side), which loads again with the same accounts and
 * that one disabled.  No password is hashed (each costs 64 MiB and a
 * tenth of a second), so no login is tried here; test_accounts does that.
 */
#include "fuzz.h"

#include "accounts.h"

#include "anshim/fileio.h"

#include <unistd.h>

#define MAX_LISTED 64

static char dir[64], path[96];

struct listed {
	struct cl_account a[MAX_LISTED];
	size_t n;
};

static int collect(void *ctx, const struct cl_account *a)
{
	struct listed *l = ctx;

	if (l->n < MAX_LISTED)
		l->a[l->n++] = *a;
	return 0;
}

static int same_account(const struct cl_account *x, const struct cl_account *y)
{
	return strcmp(x->name, y->name) == 0 && x->role == y->role &&
	       x->disabled == y->disabled && x->created == y->created &&
	       x->password_changed == y->password_changed && x->failed == y->failed &&
	       x->locked_until == y->locked_until && x->last_login == y->last_login;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CL_ACCOUNT_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* At exit: the file, its lock and the private directory go. */
static void remove_dir(void)
{
	char lock[128];

	snprintf(lock, sizeof lock, "%s.lock", path);
	unlink(path);
	unlink(lock);
	rmdir(dir);
}

/* The private directory, made at the first input. */
static void make_dir(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof dir, "/tmp/anshim-fuzz-accounts.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/accounts", dir);
	atexit(remove_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct listed first, again;
	char err[1024] = "";
	struct cl_account got;
	int rc;

	make_dir();
	if (as_file_write_atomic(path, data, size, 0600, 0) != 0)
		abort();
	memset(&first, 0, sizeof first);
	rc = cl_accounts_each(path, collect, &first, err, sizeof err);
	if (rc != 0) {
		if (rc > 0)
			fuzz_fail("each answered %d without calling back nonzero", rc);
		if (!strstr(err, path))
			fuzz_fail("refused (%d) without naming the file: '%s'", rc, err);
		return 0;
	}
	for (size_t i = 0; i < first.n; i++) {
		const struct cl_account *a = &first.a[i];

		if (!valid_name(a->name))
			fuzz_fail("listed an invalid name '%s'", a->name);
		if (a->role < CL_ROLE_ANALYST || a->role > CL_ROLE_SUPERVISOR)
			fuzz_fail("listed role %d", (int)a->role);
		if (i && strcmp(first.a[i - 1].name, a->name) >= 0)
			fuzz_fail("not in name order, or a name twice: '%s', '%s'",
				  first.a[i - 1].name, a->name);
		if (cl_accounts_get(path, a->name, &got, err, sizeof err) != 0 ||
		    !same_account(&got, a))
			fuzz_fail("get '%s' does not find what each listed", a->name);
	}
	if (first.n == 0 || first.n == MAX_LISTED)
		return 0;
	if (cl_accounts_disable(path, first.a[0].name, err, sizeof err) != 0)
		fuzz_fail("disable '%s' of a file that loads: %s", first.a[0].name, err);
	memset(&again, 0, sizeof again);
	if (cl_accounts_each(path, collect, &again, err, sizeof err) != 0)
		fuzz_fail("the rewritten file does not load: %s", err);
	if (again.n != first.n)
		fuzz_fail("%zu accounts before the rewrite, %zu after", first.n, again.n);
	first.a[0].disabled = 1;
	for (size_t i = 0; i < first.n; i++)
		if (!same_account(&first.a[i], &again.a[i]))
			fuzz_fail("account '%s' changed in the rewrite", first.a[i].name);
	return 0;
}
