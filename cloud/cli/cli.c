/*
 * cli.c - helpers shared by anshim-cloud's subcommands (see cli.h).
 * Single-threaded.
 */
#include "cli.h"

#include "revealwire.h"

#include "anshim/bytes.h"
#include "anshim/error.h"
#include "anshim/identity.h"
#include "anshim/keyfile.h"
#include "anshim/parse.h"
#include "anshim/usage.h"

#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cl_usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = as_usage_verror("anshim-cloud", fmt, ap);
	va_end(ap);
	return rc;
}

const char *cl_cli_config_path(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

int cl_cli_load_config(struct cl_config *cfg, int argc, char **argv)
{
	char err[PATH_MAX + 512];
	const char *path = cl_cli_config_path(argc, argv);
	int rc;

	if (!path && access(CL_DEFAULT_CONFIG, F_OK) == 0)
		path = CL_DEFAULT_CONFIG;
	memset(cfg, 0, sizeof *cfg);
	rc = cl_config_load(cfg, path, err, sizeof err);
	if (rc)
		fprintf(stderr, "anshim-cloud: %s\n", err);
	return rc;
}

int cl_cli_open_store(struct cl_store **out, const struct cl_config *cfg, int readonly)
{
	char err[PATH_MAX + 512];
	int rc = cl_store_open(out, cl_config_store(cfg), cfg->map_size, readonly, err, sizeof err);

	if (rc)
		fprintf(stderr, "anshim-cloud: %s%s\n", err,
			readonly ? " (is this the cloud's store_dir? pass --config FILE)" : "");
	return rc;
}

int cl_cli_gateway_arg(const char *arg, uint8_t id[16], uint8_t pk[32], int *have_pk)
{
	*have_pk = 0;
	if (strlen(arg) == 2 * AS_GWID_LEN)
		return as_hex_decode(id, AS_GWID_LEN, arg);
	if (strlen(arg) != 2 * AS_SIGN_PK_LEN || as_hex_decode(pk, AS_SIGN_PK_LEN, arg) != 0) {
		int rc = as_keyfile_read(arg, AS_KEY_SIGN_PUBLIC, pk);
		if (rc)
			return rc;
	}
	as_gateway_id(id, pk);
	*have_pk = 1;
	return 0;
}

int cl_cli_parse_until(const char *text, int64_t *out)
{
	int y, m, d, n = 0;
	struct tm tm;
	time_t t;

	if (as_parse_time(text, out))
		return AS_E_TIME;
	if (strlen(text) != 10 || sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return 0;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + 1;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return AS_E_TIME;
	*out = (int64_t)t - 1;
	return 0;
}

void cl_cli_unix_user(char out[CL_CLI_USER_MAX + 1])
{
	struct passwd *pw = getpwuid(getuid());
	size_t n = pw && pw->pw_name ? strlen(pw->pw_name) : 0;

	if (n > 0 && cl_revealwire_text_ok(pw->pw_name, 1, CL_CLI_USER_MAX))
		snprintf(out, CL_CLI_USER_MAX + 1, "%s", pw->pw_name);
	else
		snprintf(out, CL_CLI_USER_MAX + 1, "uid:%lu", (unsigned long)getuid());
}
