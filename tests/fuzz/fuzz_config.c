/*
 * fuzz_config.c - the `key value` configuration parser (common/config.c)
 * over the gateway's and the cloud's real option tables: the first input
 * byte picks the table (even: gateway, odd: cloud), the rest is the file.
 *
 * Properties: a failed load leaves the target owning nothing, with an
 * error message; a loaded configuration prints (as --check-config does)
 * text that loads again and prints the same (unless a secret was set,
 * which is printed hidden).  LeakSanitizer checks every string is freed.
 */
#include "fuzz.h"

#include "anshim/config.h"
#include "clconfig.h"
#include "gwconfig.h"

/* The dump of target as a malloc'd string (*len bytes). */
static char *dump(const struct as_config_option *table, const void *target, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	if (as_config_dump(f, table, target) != 0)
		fuzz_fail("config dump failed");
	if (fclose(f) != 0)
		abort();
	return text;
}

static void one(const struct as_config_option *table, void *a, void *b, const char *text,
		size_t len)
{
	char err[512] = "";
	char *d1, *d2;
	size_t n1, n2;
	int rc;

	rc = as_config_load_string("<fuzz>", text, len, table, a, err, sizeof err);
	if (rc != 0) {
		if (err[0] == '\0')
			fuzz_fail("config load failed (%d) without a message", rc);
		return;
	}
	d1 = dump(table, a, &n1);
	as_config_free(table, a);
	if (strstr(d1, "(value hidden)") == NULL) {
		rc = as_config_load_string("<dump>", d1, n1, table, b, err, sizeof err);
		if (rc != 0)
			fuzz_fail("printed configuration does not load again: %s", err);
		d2 = dump(table, b, &n2);
		as_config_free(table, b);
		if (n1 != n2 || memcmp(d1, d2, n1) != 0)
			fuzz_fail("printed configuration prints differently when loaded again");
		free(d2);
	}
	free(d1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0) {
		struct gw_config a, b;
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		one(gw_config_table, &a, &b, (const char *)data + 1, size - 1);
	} else {
		struct cl_config a, b;
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		one(cl_config_table, &a, &b, (const char *)data + 1, size - 1);
	}
	return 0;
}
