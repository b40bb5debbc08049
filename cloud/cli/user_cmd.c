/*
 * user_cmd.c - 'anshim-cloud user add|passwd|disable|list': the console's
 * accounts (accounts.h), in the file the configuration's 'accounts' names.
 *
 * A password never comes from the command line (where ps and the shell's
 * history would see it): from the terminal with echo off, asked twice, or,
 * when standard input is not a terminal, as its first line.  The buffers
 * that held it are wiped.  Single-threaded CLI use.
 */
#include "accounts.h"
#include "cli.h"
#include "commands.h"

#include "anshim/args.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "anshim/strbuf.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
"Usage: anshim-cloud user add NAME --role ROLE [--config FILE]\n"
"       anshim-cloud user passwd NAME [--config FILE]\n"
"       anshim-cloud user disable NAME [--config FILE]\n"
"       anshim-cloud user list [--json] [--config FILE]\n"
"\n"
"Manage the accounts of the investigator console (anshim-consoled): the\n"
"health officials who log in to it. They live in one file, the cloud\n"
"configuration's 'accounts' (default /var/lib/anshim/console/accounts),\n"
"mode 0640 (its group, anshim-accounts when packaged, is the reveal\n"
"service's: it reads the roles) or 0600, rewritten atomically at each\n"
"change, keeping its mode and group; the console reads it at every login,\n"
"so changes take effect at once, without a restart. A file others may read\n"
"or write, or its group write, is refused. Run these commands as the\n"
"console's user or as root (a file root rewrites keeps its owner).\n"
"\n"
"Commands:\n"
"  add NAME --role ROLE\n"
"      Create account NAME (1 to 63 of a-z, 0-9, '.', '_', '-', starting\n"
"      with a letter) with ROLE, one of:\n"
"        analyst       searches cases and traces them; sees pseudonyms only\n"
"        investigator  also asks to reveal a trace's contacts (names, phones)\n"
"        supervisor    also approves or refuses other people's reveal\n"
"                      requests, changes the policy, reads the audit log\n"
"      Then asks for the password (see below).\n"
"  passwd NAME\n"
"      Set a new password for NAME, and clear its failed logins and any\n"
"      lock (so this also unlocks an account).\n"
"  disable NAME\n"
"      NAME can no longer log in. The account stays in the file, so its\n"
"      name is kept in the audit log's history and cannot be taken again.\n"
"  list [--json]\n"
"      Every account: name, role, state (enabled, disabled, or locked until\n"
"      a time), failed logins in a row, when it was created, when its\n"
"      password last changed, and its last login. --json prints\n"
"      {\"accounts\": [{\"name\", \"role\", \"disabled\", \"failed\",\n"
"      \"locked_until\", \"created\", \"password_changed\", \"last_login\"}]},\n"
"      times as ISO 8601 with the offset, or null.\n"
"\n"
"Passwords: never on the command line. On a terminal, the password is\n"
"asked twice with echo off. Otherwise the first line of standard input is\n"
"the password (for scripts: printf '%s\\n' \"$PW\" | anshim-cloud user add\n"
"...). At least 10 and at most 1024 bytes. They are stored only as\n"
"argon2id hashes (libsodium crypto_pwhash). After 5 wrong passwords in a\n"
"row, an account is locked for 15 minutes ('user passwd' unlocks it).\n"
"\n"
"Options:\n"
"      --role ROLE    analyst, investigator or supervisor (add)\n"
"      --json         machine-readable output (list)\n"
"      --config FILE  the cloud's configuration (default " CL_DEFAULT_CONFIG "),\n"
"                     whose 'accounts' names the file\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 on success, 1 on failure (the message says what to do),\n"
"2 on bad usage.\n";

/* ---- reading the password -------------------------------------------- */

static struct termios saved_tio;
static volatile sig_atomic_t echo_off;

/* A signal while echo is off: put the terminal back, then die of it. */
static void restore_echo_and_die(int sig)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Read one line of at most CL_PASSWORD_MAX bytes from in into buf (its
 * newline removed).  Returns its length, -1 at end of input with nothing
 * read, -2 when the line is longer.
 */
static long read_line(FILE *in, char buf[CL_PASSWORD_MAX + 2])
{
	size_t n = 0;
	int c;

	while ((c = getc(in)) != EOF && c != '\n') {
		if (n == CL_PASSWORD_MAX + 1) {
			/* too long: drain the rest of the line */
			while ((c = getc(in)) != EOF && c != '\n')
				;
			return -2;
		}
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return n > CL_PASSWORD_MAX ? -2 : (long)n;
}

/* Ask for a password on the terminal (stdin) with echo off. */
static long ask_tty(const char *prompt, char buf[CL_PASSWORD_MAX + 2])
{
	struct termios tio;
	struct sigaction sa, old_int, old_term, old_hup;
	long n;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -3;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = restore_echo_and_die;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tio.c_lflag |= ICANON;
	/* Echo off before the prompt: what is typed after it is never shown,
	 * and never flushed away. */
	echo_off = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) < 0) {
		echo_off = 0;
		n = -3;
	} else {
		fputs(prompt, stderr);
		fflush(stderr);
		n = read_line(stdin, buf);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		echo_off = 0;
		fputc('\n', stderr);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return n;
}

/*
 * The new password for account name into buf: asked twice on a terminal,
 * else the first line of standard input.  Checks its length.  Returns 0,
 * or 1 after printing why.
 */
static int read_new_password(const char *name, char buf[CL_PASSWORD_MAX + 2])
{
	char again[CL_PASSWORD_MAX + 2], prompt[128];
	long n;
	int rc = 1;

	if (isatty(STDIN_FILENO)) {
		snprintf(prompt, sizeof prompt, "New password for %s: ", name);
		n = ask_tty(prompt, buf);
		if (n >= 0 && n >= CL_PASSWORD_MIN) {
			long m = ask_tty("Type it again: ", again);
			if (m < 0 || strcmp(buf, again) != 0) {
				fputs("anshim-cloud: the two passwords differ; nothing was changed "
				      "(run the command again)\n", stderr);
				goto out;
			}
		}
	} else {
		n = read_line(stdin, buf);
	}
	if (n == -1) {
		fputs("anshim-cloud: no password: type it when asked, or give it as the first "
		      "line of standard input (never on the command line)\n", stderr);
	} else if (n == -2) {
		fprintf(stderr, "anshim-cloud: the password is too long: use at most %d bytes\n",
			CL_PASSWORD_MAX);
	} else if (n == -3) {
		fprintf(stderr, "anshim-cloud: cannot turn off the terminal's echo: %s\n",
			strerror(errno));
	} else if (n < CL_PASSWORD_MIN) {
		fprintf(stderr, "anshim-cloud: the password is too short (%ld bytes): use at "
			"least %d; a few words make a good one; nothing was changed\n", n,
			CL_PASSWORD_MIN);
	} else {
		rc = 0;
	}
out:
	sodium_memzero(again, sizeof again);
	if (rc)
		sodium_memzero(buf, CL_PASSWORD_MAX + 2);
	return rc;
}

/* ---- the commands ------------------------------------------------------ */

struct user_opts {
	const char *verb, *name, *role;
	int json;
};

static int parse_opts(int argc, char **argv, struct user_opts *o, int *help)
{
	static const struct option options[] = {
		{"role", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *operands[3];
	int c, n = 0;

	memset(o, 0, sizeof *o);
	*help = 0;
	optind = 2;
	while ((c = as_args_next("anshim-cloud", argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'r': o->role = optarg; break;
		case 'j': o->json = 1; break;
		case 'c': break; /* read by cl_cli_load_config */
		case 'h': *help = 1; return 0;
		default: return CL_EXIT_USAGE; /* as_args_next printed why */
		}
	}
	/* getopt_long moved the operands (verb, NAME) after the options. */
	for (; optind < argc; optind++) {
		if (n == 2)
			return cl_usage_error("unexpected argument '%s' for 'user'", argv[optind]);
		operands[n++] = argv[optind];
	}
	if (n == 0)
		return cl_usage_error("%s", "user needs a command: add, passwd, disable or list");
	o->verb = operands[0];
	o->name = n > 1 ? operands[1] : NULL;
	if (strcmp(o->verb, "list") == 0) {
		if (o->name)
			return cl_usage_error("unexpected argument '%s' for 'user list'", o->name);
	} else if (strcmp(o->verb, "add") == 0 || strcmp(o->verb, "passwd") == 0 ||
		   strcmp(o->verb, "disable") == 0) {
		if (!o->name)
			return cl_usage_error("'user %s' needs the account's NAME", o->verb);
		if (o->json)
			return cl_usage_error("--json is for 'user list' only");
	} else {
		return cl_usage_error("unknown user command '%s' (add, passwd, disable or list)",
				      o->verb);
	}
	if (o->role && strcmp(o->verb, "add") != 0)
		return cl_usage_error("--role is for 'user add' only");
	if (strcmp(o->verb, "add") == 0) {
		enum cl_role role;
		if (!o->role)
			return cl_usage_error("%s", "'user add' needs --role analyst, investigator "
					      "or supervisor");
		if (cl_role_parse(o->role, &role))
			return cl_usage_error("--role '%s': give analyst, investigator or "
					      "supervisor", o->role);
	}
	return 0;
}

struct list_ctx {
	int json;
	unsigned n;
	int64_t now;
	struct as_strbuf out;
};

static void json_time_or_null(struct as_strbuf *b, const char *key, int64_t t)
{
	char buf[32];

	if (t > 0)
		as_strbuf_printf(b, ",\"%s\":\"%s\"", key, as_format_time(buf, t));
	else
		as_strbuf_printf(b, ",\"%s\":null", key);
}

static int list_one(void *vctx, const struct cl_account *a)
{
	struct list_ctx *l = vctx;
	char t1[32], t2[32], t3[32], state[48];

	if (l->json) {
		as_strbuf_add(&l->out, l->n ? "," : "");
		as_strbuf_add(&l->out, "{\"name\":");
		as_strbuf_add_json(&l->out, a->name);
		as_strbuf_printf(&l->out, ",\"role\":\"%s\",\"disabled\":%s,\"failed\":%u",
				 cl_role_name(a->role), a->disabled ? "true" : "false", a->failed);
		json_time_or_null(&l->out, "locked_until", a->locked_until > l->now ?
				  a->locked_until : 0);
		json_time_or_null(&l->out, "created", a->created);
		json_time_or_null(&l->out, "password_changed", a->password_changed);
		json_time_or_null(&l->out, "last_login", a->last_login);
		as_strbuf_add(&l->out, "}");
	} else {
		if (l->n == 0)
			as_strbuf_printf(&l->out, "%-20s %-12s %-32s %6s %-25s %-25s %s\n", "NAME",
					 "ROLE", "STATE", "FAILED", "CREATED", "PASSWORD CHANGED",
					 "LAST LOGIN");
		if (a->disabled)
			snprintf(state, sizeof state, "disabled");
		else if (a->locked_until > l->now)
			snprintf(state, sizeof state, "locked until %s",
				 as_format_time(t1, a->locked_until));
		else
			snprintf(state, sizeof state, "enabled");
		as_strbuf_printf(&l->out, "%-20s %-12s %-32s %6u %-25s %-25s %s\n", a->name,
				 cl_role_name(a->role), state, a->failed,
				 as_format_time(t1, a->created),
				 as_format_time(t2, a->password_changed),
				 a->last_login ? as_format_time(t3, a->last_login) : "never");
	}
	l->n++;
	return 0;
}

static int cmd_list(const char *path, int json)
{
	char err[PATH_MAX + 512];
	struct list_ctx l = {.json = json, .now = (int64_t)time(NULL)};
	int rc;

	if (json)
		as_strbuf_add(&l.out, "{\"accounts\":[");
	rc = cl_accounts_each(path, list_one, &l, err, sizeof err);
	if (rc == -ENOENT) {
		/* No file yet: no accounts, and say how to make the first. */
		rc = 0;
		if (!json)
			fprintf(stderr, "anshim-cloud: no accounts yet (%s does not exist); add the "
				"first with 'anshim-cloud user add NAME --role supervisor'\n", path);
	}
	if (rc) {
		fprintf(stderr, "anshim-cloud: %s\n", err);
		as_strbuf_free(&l.out);
		return 1;
	}
	if (json)
		as_strbuf_add(&l.out, "]}\n");
	if (l.out.failed) {
		fputs("anshim-cloud: out of memory\n", stderr);
		rc = 1;
	} else if (l.out.len && fwrite(l.out.p, 1, l.out.len, stdout) != l.out.len) {
		rc = 1;
	}
	as_strbuf_free(&l.out);
	return rc;
}

int cl_cmd_user(int argc, char **argv)
{
	char err[PATH_MAX + 512], password[CL_PASSWORD_MAX + 2];
	struct user_opts o;
	struct cl_config cfg;
	struct cl_account a;
	enum cl_role role = CL_ROLE_ANALYST;
	int64_t now = (int64_t)time(NULL);
	int help, rc = parse_opts(argc, argv, &o, &help);

	if (rc)
		return rc;
	if (help)
		return fputs(usage_text, stdout), 0;
	if (o.role)
		cl_role_parse(o.role, &role);
	if (cl_cli_load_config(&cfg, argc, argv))
		return 1;
	if (strcmp(o.verb, "list") == 0) {
		rc = cmd_list(cfg.accounts, o.json);
		cl_config_free(&cfg);
		return rc;
	}
	if (strcmp(o.verb, "disable") == 0) {
		rc = cl_accounts_get(cfg.accounts, o.name, &a, err, sizeof err);
		if (!rc && a.disabled)
			printf("account %s was already disabled\n", o.name);
		else if (!rc && (rc = cl_accounts_disable(cfg.accounts, o.name, err, sizeof err)) == 0)
			printf("account %s disabled: it can no longer log in\n", o.name);
	} else {
		/* add, passwd: check what can be checked before asking. */
		rc = cl_accounts_get(cfg.accounts, o.name, &a, err, sizeof err);
		if (strcmp(o.verb, "add") == 0) {
			if (rc == 0) {
				snprintf(err, sizeof err, "account '%s' already exists in %s (change "
					 "its password with 'anshim-cloud user passwd %s')", o.name,
					 cfg.accounts, o.name);
				rc = AS_E_EXISTS;
			} else if (rc == AS_E_NOT_FOUND || rc == -ENOENT) {
				rc = 0; /* a new account, or the first one */
			}
		}
		if (!rc && read_new_password(o.name, password)) {
			cl_config_free(&cfg);
			return 1;
		}
		if (!rc && strcmp(o.verb, "add") == 0) {
			rc = cl_accounts_add(cfg.accounts, o.name, role, password, now, err,
					     sizeof err);
			if (!rc)
				printf("account %s added (%s) to %s\n", o.name, cl_role_name(role),
				       cfg.accounts);
		} else if (!rc) {
			rc = cl_accounts_passwd(cfg.accounts, o.name, password, now, err, sizeof err);
			if (!rc)
				printf("password of %s changed; its failed logins and any lock are "
				       "cleared\n", o.name);
		}
		sodium_memzero(password, sizeof password);
	}
	if (rc)
		fprintf(stderr, "anshim-cloud: %s\n", err);
	cl_config_free(&cfg);
	return rc ? 1 : 0;
}
