/*
 * test_config.c - the table-driven config parser (common/src/config.c).
 *
 * One option table shaped like a gateway's config covers every type.  Each
 * test loads text through as_config_load_string (or a file through
 * as_config_load_file) and checks the values, or checks that the load fails
 * with AS_E_CONFIG, a message naming the file and line, and a target that
 * owns nothing afterwards.  The checked-in bad files under
 * tests/data/config/ are checked against the errors their README.md lists.
 * Single-threaded; run under ASan to catch leaks.
 */
#include "test.h"

#include "anshim/config.h"

#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>

#define ERR_LEN 512
#define REQ "authority_key /etc/anshim/authority.pub\n" /* line 1 of most texts */

static const char *const modes[] = {"strict", "relaxed", "off", NULL};

struct tcfg {
	char *venue_name;
	char *motd;
	char *data_dir;
	char *authority_key;
	char *mqtt_password;
	int64_t port;
	int64_t pin;
	int64_t retention;
	int64_t freshness;
	uint64_t journal_max;
	int tls;
	int mode;
	struct as_config_list upstream;
	struct as_config_list allow;
};

#define OFF(f) offsetof(struct tcfg, f)

static const struct as_config_option table[] = {
	{"venue_name", AS_CFG_STRING, OFF(venue_name), 1, 64, NULL, 0, "Unnamed venue",
	 "Name of the venue, shown on the gateway's screen."},
	{"motd", AS_CFG_STRING, OFF(motd), 0, 0, NULL, 0, NULL,
	 "Message shown under the venue name.  Any length up to a line."},
	{"data_dir", AS_CFG_PATH, OFF(data_dir), 0, 0, NULL, 0, "/var/lib/anshim",
	 "Directory holding the journal and the key files."},
	{"authority_key", AS_CFG_PATH, OFF(authority_key), 0, 0, NULL, AS_CFG_REQUIRED,
	 "/etc/anshim/authority.pub", "The authority's public key file."},
	{"mqtt_password", AS_CFG_STRING, OFF(mqtt_password), 8, 128, NULL, AS_CFG_SECRET,
	 NULL, "Password for the MQTT broker."},
	{"port", AS_CFG_INT, OFF(port), 1, 65535, NULL, 0, "8883",
	 "TCP port of the broker."},
	{"pin", AS_CFG_INT, OFF(pin), 1000, 9999, NULL, AS_CFG_SECRET, "1234",
	 "Staff PIN for manual entry."},
	{"retention", AS_CFG_DURATION, OFF(retention), 86400, 8 * 604800, NULL, 0, "28d",
	 "How long visit records are kept before they are deleted.\n\nThe law asks for "
	 "four weeks; keep it short."},
	{"freshness", AS_CFG_DURATION, OFF(freshness), 1, 3600, NULL, 0, "15m",
	 "How old a pass may be when it is scanned."},
	{"journal_max", AS_CFG_SIZE, OFF(journal_max), 1 << 20, INT64_C(1) << 40, NULL, 0,
	 "64M", "Largest size of the journal file."},
	{"tls", AS_CFG_BOOL, OFF(tls), 0, 0, NULL, 0, "yes",
	 "Use TLS to reach the broker."},
	{"mode", AS_CFG_ENUM, OFF(mode), 0, 0, modes, 0, "strict",
	 "What to do when the policy is stale: refuse (strict), warn (relaxed) or "
	 "ignore it (off)."},
	{"upstream", AS_CFG_LIST, OFF(upstream), 0, 0, NULL, 0, NULL,
	 "A broker URL; give several lines to fail over."},
	{"allow", AS_CFG_LIST, OFF(allow), 1, 64, NULL, 0, "127.0.0.1",
	 "An address allowed to query the gateway."},
	{0}};

static char err[ERR_LEN];

static int load(const char *text, struct tcfg *c)
{
	memset(c, 0, sizeof *c);
	err[0] = '\0';
	return as_config_load_string("test.conf", text, strlen(text), table, c, err,
				     sizeof err);
}

/* After a failed load the target owns nothing. */
static int owns_nothing(const struct tcfg *c)
{
	return !c->venue_name && !c->motd && !c->data_dir && !c->authority_key &&
	       !c->mqtt_password && c->upstream.n == 0 && !c->upstream.items &&
	       c->allow.n == 0 && !c->allow.items;
}

static int has_(const char *haystack, const char *needle, const char *file, int line)
{
	return test_result_(strstr(haystack, needle) != NULL, file, line,
			    "\"%s\" does not contain \"%s\"", haystack, needle);
}

/* haystack contains needle; a failure names the caller's line. */
#define has(haystack, needle) has_((haystack), (needle), __FILE__, __LINE__)

/* text fails to load with AS_E_CONFIG, a message containing want, and a
 * target that owns nothing. */
static void expect_error_(const char *text, const char *want, const char *file, int line)
{
	struct tcfg c;
	int rc = load(text, &c);

	test_ctx("text: %.60s", text);
	test_result_(rc == AS_E_CONFIG, file, line,
		     "load returned %s, expected AS_E_CONFIG", as_errname(rc));
	has_(err, want, file, line);
	test_result_(owns_nothing(&c), file, line,
		     "target still owns values after failure");
	as_config_free(table, &c);
	test_ctx_clear();
}

#define expect_error(text, want) expect_error_((text), (want), __FILE__, __LINE__)

static void test_defaults(void)
{
	struct tcfg c;

	memset(&c, 0, sizeof c);
	if (!CHECK_OK(as_config_defaults(table, &c, err, sizeof err)))
		return;
	CHECK_STR(c.venue_name, "Unnamed venue");
	CHECK(c.motd == NULL);
	CHECK_STR(c.data_dir, "/var/lib/anshim");
	CHECK(c.authority_key == NULL); /* required: the sample is not a default */
	CHECK(c.mqtt_password == NULL);
	CHECK_EQ_INT(c.port, 8883);
	CHECK_EQ_INT(c.pin, 1234);
	CHECK_EQ_INT(c.retention, 28 * 86400);
	CHECK_EQ_INT(c.freshness, 900);
	CHECK_EQ_INT(c.journal_max, 64u << 20);
	CHECK_EQ_INT(c.tls, 1);
	CHECK_EQ_INT(c.mode, 0);
	CHECK_EQ_INT(c.upstream.n, 0);
	if (CHECK_EQ_INT(c.allow.n, 1))
		CHECK_STR(c.allow.items[0], "127.0.0.1");
	as_config_free(table, &c);
	CHECK(owns_nothing(&c));
	as_config_free(table, &c); /* twice is harmless */
}

static void test_every_type(void)
{
	struct tcfg c;
	const char *text = "# gateway at the café\n"
			   "venue_name Café Anshim 카페\n"
			   "motd   Welcome back  \n"
			   "data_dir /srv/anshim\n"
			   "authority_key /etc/anshim/auth.pub\n"
			   "mqtt_password correct-horse\n"
			   "port 1883\n"
			   "pin 4321\n"
			   "retention 2w\n"
			   "freshness 90\n"
			   "journal_max 1G\n"
			   "tls off\n"
			   "mode relaxed\n"
			   "upstream mqtt://a.example\n"
			   "upstream mqtt://b.example\n"
			   "allow 10.0.0.1\n";

	if (!CHECK_OK(load(text, &c))) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_STR(c.venue_name, "Café Anshim 카페");
	CHECK_STR(c.motd, "Welcome back");
	CHECK_STR(c.data_dir, "/srv/anshim");
	CHECK_STR(c.authority_key, "/etc/anshim/auth.pub");
	CHECK_STR(c.mqtt_password, "correct-horse");
	CHECK_EQ_INT(c.port, 1883);
	CHECK_EQ_INT(c.pin, 4321);
	CHECK_EQ_INT(c.retention, 14 * 86400);
	CHECK_EQ_INT(c.freshness, 90);
	CHECK_EQ_INT(c.journal_max, UINT64_C(1) << 30);
	CHECK_EQ_INT(c.tls, 0);
	CHECK_EQ_INT(c.mode, 1);
	if (CHECK_EQ_INT(c.upstream.n, 2)) {
		CHECK_STR(c.upstream.items[0], "mqtt://a.example");
		CHECK_STR(c.upstream.items[1], "mqtt://b.example");
	}
	if (CHECK_EQ_INT(c.allow.n, 1)) /* the file replaces the default */
		CHECK_STR(c.allow.items[0], "10.0.0.1");
	as_config_free(table, &c);
}

/* One value line after REQ: the value of key parsed from text, as int64. */
static int load_int(const char *line, int64_t *got, size_t offset, int is_int)
{
	char text[256];
	struct tcfg c;
	int rc;

	snprintf(text, sizeof text, REQ "%s\n", line);
	rc = load(text, &c);
	if (rc == 0)
		*got = is_int ? *(int64_t *)((char *)&c + offset)
			      : *(int *)((char *)&c + offset);
	as_config_free(table, &c);
	return rc;
}

static void test_numbers_and_words(void)
{
	static const struct {
		const char *line;
		size_t offset;
		int is_int;
		int64_t want;
	} ok[] = {
		{"port 1", OFF(port), 1, 1},
		{"port 65535", OFF(port), 1, 65535},
		{"port +80", OFF(port), 1, 80},
		{"freshness 90", OFF(freshness), 1, 90},
		{"freshness 90s", OFF(freshness), 1, 90},
		{"freshness 15m", OFF(freshness), 1, 900},
		{"freshness 1h", OFF(freshness), 1, 3600},
		{"retention 24h", OFF(retention), 1, 86400},
		{"retention 56d", OFF(retention), 1, 56 * 86400},
		{"retention 8w", OFF(retention), 1, 8 * 604800},
		{"tls yes", OFF(tls), 0, 1},
		{"tls no", OFF(tls), 0, 0},
		{"tls true", OFF(tls), 0, 1},
		{"tls false", OFF(tls), 0, 0},
		{"tls on", OFF(tls), 0, 1},
		{"tls OFF", OFF(tls), 0, 0},
		{"tls 1", OFF(tls), 0, 1},
		{"tls 0", OFF(tls), 0, 0},
		{"mode strict", OFF(mode), 0, 0},
		{"mode off", OFF(mode), 0, 2},
	};
	static const struct {
		const char *line;
		uint64_t want;
	} sizes[] = {
		{"journal_max 1048576", 1048576},
		{"journal_max 512k", 512 * 1024},
		{"journal_max 64M", UINT64_C(64) << 20},
		{"journal_max 1G", UINT64_C(1) << 30},
		{"journal_max 1g", UINT64_C(1) << 30},
		{"journal_max 1T", UINT64_C(1) << 40},
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t got = -1;

		test_ctx("%s", ok[i].line);
		if (CHECK_OK(load_int(ok[i].line, &got, ok[i].offset, ok[i].is_int)))
			CHECK_EQ_INT(got, ok[i].want);
		else
			fprintf(stderr, "  %s\n", err);
	}
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char text[128];
		struct tcfg c;

		test_ctx("%s", sizes[i].line);
		snprintf(text, sizeof text, REQ "%s\n", sizes[i].line);
		if (sizes[i].want < (1u << 20)) {
			/* 512k is below journal_max's 1M minimum */
			CHECK_RC(load(text, &c), AS_E_CONFIG);
			has(err, "value 512k out of range (1M..1T)");
		} else if (CHECK_OK(load(text, &c))) {
			CHECK(c.journal_max == sizes[i].want);
		}
		as_config_free(table, &c);
	}
	test_ctx_clear();
}

static void test_invalid_values(void)
{
	static const struct {
		const char *line, *want;
	} bad[] = {
		{"port 80x",
		 "test.conf:2: key 'port': '80x' is not an integer (use a whole "
		 "number from 1 to 65535)"},
		{"port 0x50", "'0x50' is not an integer"},
		{"port -", "'-' is not an integer"},
		{"port 1 2", "'1 2' is not an integer"},
		{"tls maybe",
		 "test.conf:2: key 'tls': 'maybe' is not a boolean (use yes or no)"},
		{"tls yess", "'yess' is not a boolean"},
		{"freshness 900x",
		 "test.conf:2: key 'freshness': '900x' is not a duration (use "
		 "e.g. 90s, 15m, 24h, 56d)"},
		{"freshness 15M", "'15M' is not a duration"},
		{"freshness 1.5h", "'1.5h' is not a duration"},
		{"freshness -5s", "'-5s' is not a duration"},
		{"freshness m", "'m' is not a duration"},
		{"freshness 15mm", "'15mm' is not a duration"},
		{"journal_max 64MB",
		 "test.conf:2: key 'journal_max': '64MB' is not a size (use "
		 "e.g. 512k, 64M, 1G)"},
		{"journal_max 1.5G", "'1.5G' is not a size"},
		{"journal_max G", "'G' is not a size"},
		{"mode relaxd",
		 "test.conf:2: key 'mode': 'relaxd' is not one of: strict, "
		 "relaxed, off (did you mean 'relaxed'?)"},
		{"mode Strict", "(did you mean 'strict'?)"},
		{"mode chaos", "'chaos' is not one of: strict, relaxed, off"},
		{"data_dir var/lib/anshim",
		 "test.conf:2: key 'data_dir': 'var/lib/anshim' is "
		 "not an absolute path (start it with '/')"},
		{"data_dir \"\"", "'' is not an absolute path"},
		{"venue_name \"\"",
		 "key 'venue_name': value is 0 bytes long (use 1 to 64 bytes)"},
		{"allow "
		 "a-very-long-name-that-goes-on-and-on-and-on-past-sixty-four-bytes-in-"
		 "all",
		 "key 'allow': value is 72 bytes long (use 1 to 64 bytes)"},
		{"port",
		 "test.conf:2: key 'port' has no value (write 'port <value>', or remove "
		 "the line to use the default)"},
		{"port    # no value", "key 'port' has no value"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];

		snprintf(text, sizeof text, REQ "%s\n", bad[i].line);
		expect_error(text, bad[i].want);
	}
	/* A long bad value is clipped in the message. */
	expect_error(
		REQ
		"mode aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is not one of");
}

static void test_ranges(void)
{
	expect_error(REQ "port 0\n",
		     "test.conf:2: key 'port': value 0 out of range (1..65535)");
	expect_error(REQ "port 65536\n", "value 65536 out of range (1..65535)");
	expect_error(REQ "port 99999999999999999999\n",
		     "value 99999999999999999999 out of range (1..65535)");
	expect_error(REQ "port -1\n", "value -1 out of range (1..65535)");
	expect_error(REQ "freshness 0\n",
		     "key 'freshness': value 0 out of range (1s..1h)");
	expect_error(REQ "freshness 2h\n", "value 2h out of range (1s..1h)");
	expect_error(REQ "freshness 3601s\n", "value 3601s out of range (1s..1h)");
	expect_error(REQ "retention 9w\n", "value 9w out of range (1d..8w)");
	expect_error(REQ "retention 99999999999999999999w\n", "out of range (1d..8w)");
	expect_error(REQ "retention 9999999999999999w\n", "out of range (1d..8w)");
	expect_error(REQ "journal_max 2T\n",
		     "key 'journal_max': value 2T out of range (1M..1T)");
	expect_error(REQ "journal_max 1048575\n", "value 1048575 out of range (1M..1T)");
	expect_error(REQ "journal_max 99999999999T\n", "out of range (1M..1T)");
}

static void test_unknown_keys(void)
{
	expect_error(
		REQ "\n\nretention_dayz 5d\n",
		"test.conf:4: unknown key 'retention_dayz' (did you mean 'retention'?)");
	expect_error(REQ "prot 80\n",
		     "test.conf:2: unknown key 'prot' (did you mean 'port'?)");
	expect_error(REQ "fresness 1m\n",
		     "unknown key 'fresness' (did you mean 'freshness'?)");
	expect_error(REQ "zzzz 1\n",
		     "test.conf:2: unknown key 'zzzz' (not a setting of this "
		     "program; check the example file)");
	expect_error(REQ "Port 80\n",
		     "test.conf:2: 'Port' is not a valid key: keys use only "
		     "a-z, 0-9 and '_' (did you mean 'port'?)");
	expect_error(REQ "port=80\n",
		     "test.conf:2: 'port=80' is not a key: write 'key value' "
		     "with a space, not '=' (did you mean 'port'?)");
	expect_error(REQ "\"port\" 80\n", "'\"port\"' is not a valid key");
}

static void test_duplicates(void)
{
	expect_error(REQ "port 80\n# comment\n\nport 81\n",
		     "test.conf:5: key 'port' is given twice (lines 2 and 5); keep one");
	expect_error("authority_key /a\nauthority_key /a\n",
		     "test.conf:2: key 'authority_key' is given twice (lines 1 and 2)");
}

static void test_quoted_values(void)
{
	struct tcfg c;

	if (CHECK_OK(load(REQ "motd \"  spaced # not a comment \\\"q\\\" \\\\ \"  # c\n"
			      "venue_name \"\\\\\"\n",
			  &c))) {
		CHECK_STR(c.motd, "  spaced # not a comment \"q\" \\ ");
		CHECK_STR(c.venue_name, "\\");
	}
	as_config_free(table, &c);
	if (CHECK_OK(load(REQ "motd \"\"\n", &c)))
		CHECK_STR(c.motd, "");
	as_config_free(table, &c);
	/* A quote later in an unquoted value is an ordinary character. */
	if (CHECK_OK(load(REQ "motd say \"hi\" \\n\n", &c)))
		CHECK_STR(c.motd, "say \"hi\" \\n");
	as_config_free(table, &c);

	expect_error(
		REQ "motd \"open\n",
		"test.conf:2: key 'motd': quoted value has no closing '\"' (add one at "
		"its end)");
	expect_error(REQ "motd \"a\\nb\"\n",
		     "test.conf:2: key 'motd': a '\\' in a quoted "
		     "value must be followed by '\"' or '\\'");
	expect_error(REQ "motd \"a\\\n", "must be followed by");
	expect_error(REQ "motd \"a\" b\n",
		     "test.conf:2: key 'motd': text after the closing "
		     "quote");
	expect_error(REQ "motd \"a\"# c\n", "text after the closing quote");
}

static void test_comments_and_blanks(void)
{
	struct tcfg c;

	if (CHECK_OK(load("# full-line comment\n"
			  "   \t# indented comment\n"
			  "\n"
			  "   \t  \n"
			  "\tauthority_key\t/k   # trailing comment\n"
			  "motd a#b\n"
			  "venue_name x\t#c\n"
			  "allow 1 # c # d\n"
			  "allow 3\n",
			  &c))) {
		CHECK_STR(c.authority_key, "/k");
		CHECK_STR(c.motd, "a#b"); /* '#' not after whitespace */
		CHECK_STR(c.venue_name, "x");
		if (CHECK_EQ_INT(c.allow.n, 2)) {
			CHECK_STR(c.allow.items[0], "1");
			CHECK_STR(c.allow.items[1], "3");
		}
	}
	as_config_free(table, &c);
	/* the comment starts right after the key: no value */
	expect_error(REQ "allow #2\n", "test.conf:2: key 'allow' has no value");
	/* nothing at all: only the required key is missing */
	expect_error("", "test.conf: missing required key 'authority_key'");
}

static void test_line_ends_and_bytes(void)
{
	struct tcfg c;

	if (CHECK_OK(load("authority_key /k\r\nmotd hello \r\ntls no\r\nport 2\r\n",
			  &c))) {
		CHECK_STR(c.authority_key, "/k");
		CHECK_STR(c.motd, "hello");
		CHECK_EQ_INT(c.tls, 0);
		CHECK_EQ_INT(c.port, 2);
	}
	as_config_free(table, &c);
	/* no newline at the end, a byte order mark at the start */
	if (CHECK_OK(load("\xEF\xBB\xBF"
			  "authority_key /k\nport 3",
			  &c)))
		CHECK_EQ_INT(c.port, 3);
	as_config_free(table, &c);

	expect_error("authority_key /k\r\ntls maybe\r\n",
		     "test.conf:2: key 'tls': 'maybe' is not a boolean");
	expect_error(REQ "motd a\rb\n",
		     "test.conf:2: control character 0x0d at column 7");
	expect_error(REQ "motd \x1b[31m\n", "test.conf:2: control character 0x1b");
	expect_error(REQ "motd caf\xe9\n",
		     "test.conf:2: byte 0xe9 at column 9 is not valid "
		     "UTF-8 (save the file as UTF-8)");
	expect_error(REQ "motd \xed\xa0\x80\n", "is not valid UTF-8"); /* surrogate */
	expect_error(REQ "motd \xc0\xaf\n", "is not valid UTF-8");     /* overlong */
	expect_error(REQ "motd \xf0\x9f\x98\n", "is not valid UTF-8"); /* truncated */

	/* A NUL byte, which strlen-based helpers would not see. */
	{
		static const char text[] = REQ "motd a\0b\n";

		memset(&c, 0, sizeof c);
		CHECK_RC(as_config_load_string("nul.conf", text, sizeof text - 1, table,
					       &c, err, sizeof err),
			 AS_E_CONFIG);
		has(err, "nul.conf:2: NUL byte at column 7");
		CHECK(owns_nothing(&c));
	}
}

static void test_long_lines(void)
{
	size_t sizes[] = {AS_CONFIG_LINE_MAX, AS_CONFIG_LINE_MAX + 1, 5000};

	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k], head = strlen(REQ "\nmotd ");
		char *text = malloc(head + n + 16);
		struct tcfg c;

		if (!CHECK(text != NULL))
			return;
		test_ctx("line of %zu bytes", n);
		memcpy(text, REQ "\nmotd ", head);
		memset(text + head, 'x', n - 5);
		memcpy(text + head + n - 5, "\r\nport 5\n", 10); /* CRLF not counted */
		if (n <= AS_CONFIG_LINE_MAX) {
			if (CHECK_OK(load(text, &c)))
				CHECK_EQ_INT(strlen(c.motd), n - 5);
		} else {
			char want[100];

			snprintf(want, sizeof want,
				 "test.conf:3: line is %zu bytes long; the "
				 "limit is 4096 (shorten it)",
				 n);
			CHECK_RC(load(text, &c), AS_E_CONFIG);
			has(err, want);
			CHECK(owns_nothing(&c));
		}
		as_config_free(table, &c);
		free(text);
	}
	test_ctx_clear();
}

static void test_required(void)
{
	struct tcfg c;

	expect_error("port 1\n",
		     "test.conf: missing required key 'authority_key' (add a line "
		     "'authority_key <value>')");
	/* a comment is not a value */
	expect_error("#authority_key /k\n", "missing required key 'authority_key'");
	if (CHECK_OK(load("authority_key /k\n", &c)))
		CHECK_STR(c.authority_key, "/k");
	as_config_free(table, &c);
}

static void test_lists(void)
{
	struct tcfg c;
	char *text;
	size_t len = 0, cap = strlen(REQ) + (AS_CONFIG_LIST_MAX + 1) * 16 + 1;

	if (CHECK_OK(load(
		    REQ "upstream a\nport 1\nupstream b\nupstream c\nupstream \" d \"\n",
		    &c)) &&
	    CHECK_EQ_INT(c.upstream.n, 4)) {
		CHECK_STR(c.upstream.items[0], "a");
		CHECK_STR(c.upstream.items[1], "b");
		CHECK_STR(c.upstream.items[2], "c");
		CHECK_STR(c.upstream.items[3], " d ");
		if (CHECK_EQ_INT(c.allow.n, 1)) /* the default, untouched */
			CHECK_STR(c.allow.items[0], "127.0.0.1");
	}
	as_config_free(table, &c);
	CHECK(owns_nothing(&c));

	/* the list limit: AS_CONFIG_LIST_MAX lines are fine, one more is not */
	text = malloc(cap);
	if (!CHECK(text != NULL))
		return;
	len = (size_t)snprintf(text, cap, REQ);
	for (int i = 0; i < AS_CONFIG_LIST_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "upstream u%d\n", i);
	if (CHECK_OK(load(text, &c)) && CHECK_EQ_INT(c.upstream.n, AS_CONFIG_LIST_MAX))
		CHECK_STR(c.upstream.items[AS_CONFIG_LIST_MAX - 1], "u1023");
	as_config_free(table, &c);
	snprintf(text + len, cap - len, "upstream more\n");
	CHECK_RC(load(text, &c), AS_E_CONFIG);
	has(err, "test.conf:1026: key 'upstream': more than 1024 values");
	CHECK(owns_nothing(&c));
	free(text);
}

static void test_secrets_masked(void)
{
	struct tcfg c;

	expect_error(REQ "pin 12ab\n",
		     "test.conf:2: key 'pin': (hidden) is not an integer");
	CHECK(strstr(err, "12ab") == NULL);
	expect_error(REQ "pin 99999\n",
		     "key 'pin': value (hidden) out of range (1000..9999)");
	CHECK(strstr(err, "99999") == NULL);
	expect_error(REQ "mqtt_password hunter2\n",
		     "key 'mqtt_password': value is 7 bytes long (use 8 to 128 bytes)");
	CHECK(strstr(err, "hunter2") == NULL);
	if (CHECK_OK(load(REQ "mqtt_password \"long enough\"\n", &c)))
		CHECK_STR(c.mqtt_password, "long enough");
	as_config_free(table, &c);
	CHECK(c.mqtt_password == NULL);
}

/* ---- defaults and tables ------------------------------------------------ */

struct small {
	int64_t freshness;
	char *key;
	int mode;
};

/* as_config_defaults on a one-option table; returns its result. */
static int defaults_of(const struct as_config_option *t)
{
	struct small s;
	int rc;

	memset(&s, 0, sizeof s);
	err[0] = '\0';
	rc = as_config_defaults(t, &s, err, sizeof err);
	as_config_free(t, &s);
	return rc;
}

static void test_defaults_validated(void)
{
	static const char *const none[] = {NULL};
	const struct as_config_option bad_duration[] = {
		{"freshness", AS_CFG_DURATION, offsetof(struct small, freshness), 1, 3600,
		 NULL, 0, "900x", "h"},
		{0}};
	const struct as_config_option bad_range[] = {{"freshness", AS_CFG_DURATION,
						      offsetof(struct small, freshness),
						      1, 3600, NULL, 0, "2h", "h"},
						     {0}};
	const struct as_config_option bad_sample[] = {
		{"key", AS_CFG_PATH, offsetof(struct small, key), 0, 0, NULL,
		 AS_CFG_REQUIRED, "relative", "h"},
		{0}};
	const struct as_config_option no_help[] = {{"key", AS_CFG_PATH,
						    offsetof(struct small, key), 0, 0,
						    NULL, 0, NULL, NULL},
						   {0}};
	const struct as_config_option min_max[] = {{"freshness", AS_CFG_INT,
						    offsetof(struct small, freshness), 5,
						    4, NULL, 0, NULL, "h"},
						   {0}};
	const struct as_config_option bad_key[] = {{"Fresh", AS_CFG_INT,
						    offsetof(struct small, freshness), 0,
						    9, NULL, 0, NULL, "h"},
						   {0}};
	const struct as_config_option twice[] = {
		{"key", AS_CFG_PATH, offsetof(struct small, key), 0, 0, NULL, 0, "/a",
		 "h"},
		{"key", AS_CFG_PATH, offsetof(struct small, key), 0, 0, NULL, 0, "/b",
		 "h"},
		{0}};
	const struct as_config_option no_choices[] = {{"mode", AS_CFG_ENUM,
						       offsetof(struct small, mode), 0, 0,
						       none, 0, NULL, "h"},
						      {0}};
	const struct as_config_option bad_type[] = {{"mode", (enum as_config_type)99,
						     offsetof(struct small, mode), 0, 0,
						     NULL, 0, NULL, "h"},
						    {0}};
	const struct as_config_option good_then_bad[] = {
		{"key", AS_CFG_PATH, offsetof(struct small, key), 0, 0, NULL, 0, "/a",
		 "h"},
		{"mode", AS_CFG_ENUM, offsetof(struct small, mode), 0, 0, modes, 0,
		 "loud", "h"},
		{0}};
	struct small s;
	struct tcfg c;

	CHECK_RC(defaults_of(bad_duration), AS_E_CONFIG);
	has(err, "built-in defaults: key 'freshness': '900x' is not a duration (use e.g. "
		 "90s, 15m, 24h, 56d)");
	CHECK_RC(defaults_of(bad_range), AS_E_CONFIG);
	has(err, "built-in defaults: key 'freshness': value 2h out of range (1s..1h)");
	CHECK_RC(defaults_of(bad_sample), AS_E_CONFIG);
	has(err, "key 'key': sample value: 'relative' is not an absolute path");
	CHECK_RC(defaults_of(no_help), AS_E_CONFIG);
	has(err, "option table: key 'key' has no help text");
	CHECK_RC(defaults_of(min_max), AS_E_CONFIG);
	has(err, "option table: key 'freshness': min > max");
	CHECK_RC(defaults_of(bad_key), AS_E_CONFIG);
	has(err, "option table: key 'Fresh' is not [a-z0-9_]+");
	CHECK_RC(defaults_of(twice), AS_E_CONFIG);
	has(err, "option table: key 'key' is listed twice");
	CHECK_RC(defaults_of(no_choices), AS_E_CONFIG);
	has(err, "option table: key 'mode': choices must hold");
	CHECK_RC(defaults_of(bad_type), AS_E_CONFIG);
	has(err, "option table: key 'mode': unknown type 99");
	CHECK_RC(as_config_write_example(stdout, bad_type, NULL), AS_E_CONFIG);

	/* a failing default frees what earlier defaults set */
	memset(&s, 0, sizeof s);
	CHECK_RC(as_config_defaults(good_then_bad, &s, err, sizeof err), AS_E_CONFIG);
	has(err, "'loud' is not one of: strict, relaxed, off");
	CHECK(s.key == NULL);
	/* a load with a bad table reports the table, not the file */
	memset(&s, 0, sizeof s);
	CHECK_RC(
		as_config_load_string("x.conf", "", 0, bad_duration, &s, err, sizeof err),
		AS_E_CONFIG);
	has(err, "built-in defaults: key 'freshness'");
	/* no error buffer is fine */
	CHECK_RC(as_config_defaults(bad_range, &s, NULL, 0), AS_E_CONFIG);
	memset(&c, 0, sizeof c);
	CHECK_RC(as_config_load_string("x.conf", "port 0\n", 7, table, &c, NULL, 0),
		 AS_E_CONFIG);
	/* a tiny buffer is truncated, still NUL-terminated */
	{
		char tiny[12];

		memset(&c, 0, sizeof c);
		CHECK_RC(as_config_load_string("x.conf", "port 0\n", 7, table, &c, tiny,
					       sizeof tiny),
			 AS_E_CONFIG);
		CHECK_STR(tiny, "x.conf:1: k");
	}
}

/* ---- example and dump --------------------------------------------------- */

/* Run fn into a malloc'd string. */
static char *capture(int (*fn)(FILE *, const void *), const void *arg, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		perror("open_memstream");
		exit(2);
	}
	*rc = fn(f, arg);
	fclose(f);
	return buf;
}

static int write_example(FILE *f, const void *arg)
{
	(void)arg;
	return as_config_write_example(f, table,
				       "anshim-gatewayd.conf - example configuration "
				       "of the test table");
}

static int dump(FILE *f, const void *arg)
{
	return as_config_dump(f, table, arg);
}

static void test_example_reparses(void)
{
	struct tcfg want, got;
	char *text;
	int rc;

	text = capture(write_example, NULL, &rc);
	CHECK_OK(rc);
	if (getenv("TEST_CONFIG_SHOW"))
		fputs(text, stdout);
	for (size_t i = 0; table[i].key; i++) {
		char line[64];

		snprintf(line, sizeof line, "\n%s%s",
			 table[i].flags & AS_CFG_REQUIRED ? "" : "#", table[i].key);
		test_ctx("key %s", table[i].key);
		has(text, line);
	}
	test_ctx_clear();
	has(text, "\nauthority_key /etc/anshim/authority.pub\n");
	has(text, "\n#retention 28d\n");
	has(text, "\n#venue_name Unnamed venue\n");
	has(text, "# A duration from 1s to 1h (e.g. 90s, 15m, 24h, 56d, 8w).\n");
	has(text, "# One of: strict, relaxed, off.\n");
	has(text, "# Text of 8 to 128 bytes. Not set by default. Secret: keep this file");
	has(text, "#\n# The law asks"); /* the paragraph break in retention's help */
	/* comment lines are wrapped */
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (!CHECK(n <= 76))
			fprintf(stderr, "  long line: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}

	memset(&want, 0, sizeof want);
	CHECK_OK(as_config_defaults(table, &want, err, sizeof err));
	if (CHECK_OK(load(text, &got))) {
		CHECK_STR(got.venue_name, want.venue_name);
		CHECK(got.motd == NULL);
		CHECK_STR(got.data_dir, want.data_dir);
		CHECK_STR(got.authority_key,
			  "/etc/anshim/authority.pub"); /* the sample */
		CHECK(got.mqtt_password == NULL);
		CHECK_EQ_INT(got.port, want.port);
		CHECK_EQ_INT(got.pin, want.pin);
		CHECK_EQ_INT(got.retention, want.retention);
		CHECK_EQ_INT(got.freshness, want.freshness);
		CHECK(got.journal_max == want.journal_max);
		CHECK_EQ_INT(got.tls, want.tls);
		CHECK_EQ_INT(got.mode, want.mode);
		CHECK_EQ_INT(got.upstream.n, 0);
		if (CHECK_EQ_INT(got.allow.n, 1))
			CHECK_STR(got.allow.items[0], want.allow.items[0]);
	} else {
		fprintf(stderr, "  %s\n", err);
	}
	as_config_free(table, &got);
	as_config_free(table, &want);
	free(text);
}

static void test_dump(void)
{
	struct tcfg c, again;
	char *text;
	int rc;

	if (!CHECK_OK(load(REQ "motd \" edge # spaces \"\nmqtt_password s3cret-value\n"
			       "freshness 120\nretention 14d\njournal_max 3145728\n"
			       "upstream a\nupstream \"\"\nmode off\n",
			   &c)))
		return;
	text = capture(dump, &c, &rc);
	CHECK_OK(rc);
	if (getenv("TEST_CONFIG_SHOW"))
		fputs(text, stdout);
	has(text, "venue_name Unnamed venue\n");
	has(text, "motd \" edge # spaces \"\n");
	has(text, "authority_key /etc/anshim/authority.pub\n");
	has(text, "# mqtt_password is set (value hidden)\n");
	has(text, "# pin is set (value hidden)\n");
	has(text, "freshness 2m\n");
	has(text, "retention 2w\n");
	has(text, "journal_max 3M\n");
	has(text, "tls yes\n");
	has(text, "mode off\n");
	has(text, "upstream a\nupstream \"\"\n");
	CHECK(strstr(text, "s3cret") == NULL);
	CHECK(strstr(text, "1234") == NULL);

	/* the dump is itself a config that means the same (secrets aside) */
	if (CHECK_OK(load(text, &again))) {
		CHECK_STR(again.motd, c.motd);
		CHECK_EQ_INT(again.freshness, c.freshness);
		CHECK_EQ_INT(again.retention, c.retention);
		CHECK(again.journal_max == c.journal_max);
		CHECK_EQ_INT(again.mode, c.mode);
		if (CHECK_EQ_INT(again.upstream.n, 2))
			CHECK_STR(again.upstream.items[1], "");
		CHECK(again.mqtt_password == NULL);
	} else {
		fprintf(stderr, "  %s\n", err);
	}
	as_config_free(table, &again);
	as_config_free(table, &c);
	free(text);

	/* unset values are comments */
	memset(&c, 0, sizeof c);
	text = capture(dump, &c, &rc);
	has(text, "# motd is not set\n");
	has(text, "# upstream is empty\n");
	has(text, "# mqtt_password is not set\n");
	free(text);

	/* a stream that cannot be written */
	{
		FILE *full = fopen("/dev/full", "w");

		if (full) {
			CHECK_RC(as_config_write_example(full, table, NULL), -EIO);
			fclose(full);
		}
	}
}

/* A value the dump need not quote is printed as it is: quoting a long one
 * doubled its '"' and '\\' and made a line longer than the parser accepts
 * (found by tests/fuzz/fuzz_config).  Values that must be quoted still are. */
static void test_dump_long_values(void)
{
	static const struct {
		const char *line, *printed;
	} cases[] = {
		{"motd a#b\"c\\d", "motd a#b\"c\\d\n"},
		{"motd \"# start\"", "motd \"# start\"\n"},
		{"motd \"a #b\"", "motd \"a #b\"\n"},
		{"motd \"a\t#b\"", "motd \"a\t#b\"\n"},
	};
	size_t head = strlen(REQ "motd x#"), n = AS_CONFIG_LINE_MAX - strlen("motd x#");
	char *text = malloc(head + n + 2), *printed;
	struct tcfg c, again;
	int rc;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char line[64];

		test_ctx("%s", cases[i].line);
		snprintf(line, sizeof line, REQ "%s\n", cases[i].line);
		if (CHECK_OK(load(line, &c))) {
			printed = capture(dump, &c, &rc);
			has(printed, cases[i].printed);
			free(printed);
		}
		as_config_free(table, &c);
	}
	test_ctx_clear();

	/* a longest line of a value full of quotes prints and loads again */
	if (!CHECK(text != NULL))
		return;
	memcpy(text, REQ "motd x#", head);
	memset(text + head, '"', n);
	memcpy(text + head + n, "\n", 2);
	if (!CHECK_OK(load(text, &c))) {
		fprintf(stderr, "  %s\n", err);
		free(text);
		return;
	}
	printed = capture(dump, &c, &rc);
	CHECK_OK(rc);
	if (CHECK_OK(load(printed, &again)))
		CHECK_STR(again.motd, c.motd);
	else
		fprintf(stderr, "  %s\n", err);
	as_config_free(table, &again);
	as_config_free(table, &c);
	free(printed);
	free(text);
}

/* ---- files -------------------------------------------------------------- */

static const char *data_dir(void)
{
	const char *d = getenv("ANSHIM_TEST_DATA");

	return d && *d ? d : "tests/data";
}

static void test_load_file(void)
{
	char dir[64], path[256];
	struct tcfg c;
	FILE *f;

	test_tmpdir(dir);
	snprintf(path, sizeof path, "%s/gw.conf", dir);
	memset(&c, 0, sizeof c);
	CHECK_RC(as_config_load_file(path, table, &c, err, sizeof err), -ENOENT);
	has(err, "/gw.conf: cannot read: ");
	CHECK_RC(as_config_load_file(dir, table, &c, err, sizeof err), AS_E_CONFIG);
	has(err, ": not a regular file");

	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		goto out;
	fputs(REQ "port 8080\n\nfreshness 900x\n", f);
	fclose(f);
	CHECK_RC(as_config_load_file(path, table, &c, err, sizeof err), AS_E_CONFIG);
	{
		char want[400];

		snprintf(want, sizeof want,
			 "%s:4: key 'freshness': '900x' is not a duration", path);
		has(err, want);
	}
	CHECK(owns_nothing(&c));

	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		goto out;
	fputs(REQ "port 8080\n", f);
	fclose(f);
	if (CHECK_OK(as_config_load_file(path, table, &c, err, sizeof err)))
		CHECK_EQ_INT(c.port, 8080);
	as_config_free(table, &c);

	/* A file that sets a secret may not be readable by every user. */
	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		goto out;
	fputs(REQ "mqtt_password hunter2hunter2\n", f);
	fclose(f);
	CHECK_OK(chmod(path, 0644));
	CHECK_RC(as_config_load_file(path, table, &c, err, sizeof err), AS_E_CONFIG);
	has(err, "sets the secret 'mqtt_password' but every user of this machine may read "
	    "it (mode 0644)");
	has(err, "chmod o-rwx ");
	CHECK(strstr(err, "hunter2") == NULL);
	CHECK(owns_nothing(&c));
	CHECK_OK(chmod(path, 0640));
	if (CHECK_OK(as_config_load_file(path, table, &c, err, sizeof err)))
		CHECK_STR(c.mqtt_password, "hunter2hunter2");
	as_config_free(table, &c);
	/* Without a secret, a world-readable file is fine. */
	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		goto out;
	fputs(REQ "port 8080\n", f);
	fclose(f);
	CHECK_OK(chmod(path, 0644));
	CHECK_OK(as_config_load_file(path, table, &c, err, sizeof err));
	as_config_free(table, &c);

	/* too large to be a config file */
	if (CHECK_OK(truncate(path, AS_CONFIG_FILE_MAX + 1))) {
		CHECK_RC(as_config_load_file(path, table, &c, err, sizeof err),
			 AS_E_CONFIG);
		has(err, "file is larger than 1048576 bytes");
	}
out:
	test_rmdir(dir);
}

/* Every *.conf in tests/data/config is listed in its README.md table as
 * "| `file` | `expected error` |" (or `none` for a file that must parse),
 * and loads with that error. */
static void test_data_files(void)
{
	char dir[512], path[700], line[8192];
	int listed = 0, found = 0;
	FILE *readme;
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof dir, "%s/config", data_dir());
	snprintf(path, sizeof path, "%s/README.md", dir);
	readme = fopen(path, "r");
	if (!CHECK(readme != NULL)) {
		fprintf(stderr, "  cannot open %s (set ANSHIM_TEST_DATA)\n", path);
		return;
	}
	for (int i = 0; i < 1000 && fgets(line, sizeof line, readme); i++) {
		char *name, *want, *end;
		struct tcfg c;
		int rc;

		if (strncmp(line, "| `", 3) != 0)
			continue;
		name = line + 3;
		end = strchr(name, '`');
		if (!CHECK(end != NULL))
			continue;
		*end = '\0';
		want = strchr(end + 1, '`');
		if (!CHECK(want != NULL))
			continue;
		want++;
		end = strrchr(want, '`');
		if (!CHECK(end != NULL))
			continue;
		*end = '\0';
		listed++;
		test_ctx("%s", name);
		snprintf(path, sizeof path, "%s/%.100s", dir, name);
		memset(&c, 0, sizeof c);
		rc = as_config_load_file(path, table, &c, err, sizeof err);
		if (strcmp(want, "none") == 0) {
			if (!CHECK_OK(rc))
				fprintf(stderr, "  %s\n", err);
		} else if (CHECK_RC(rc, AS_E_CONFIG)) {
			has(err, want);
			CHECK(owns_nothing(&c));
		}
		as_config_free(table, &c);
	}
	test_ctx_clear();
	fclose(readme);

	d = opendir(dir);
	if (!CHECK(d != NULL))
		return;
	for (int i = 0; i < 1000 && (e = readdir(d)) != NULL; i++) {
		size_t n = strlen(e->d_name);

		if (n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0)
			found++;
	}
	closedir(d);
	CHECK(listed >= 10);
	CHECK_EQ_INT(found, listed); /* every file is listed, every listed file exists */
}

int main(void)
{
	TEST_RUN(test_defaults);
	TEST_RUN(test_every_type);
	TEST_RUN(test_numbers_and_words);
	TEST_RUN(test_invalid_values);
	TEST_RUN(test_ranges);
	TEST_RUN(test_unknown_keys);
	TEST_RUN(test_duplicates);
	TEST_RUN(test_quoted_values);
	TEST_RUN(test_comments_and_blanks);
	TEST_RUN(test_line_ends_and_bytes);
	TEST_RUN(test_long_lines);
	TEST_RUN(test_required);
	TEST_RUN(test_lists);
	TEST_RUN(test_secrets_masked);
	TEST_RUN(test_defaults_validated);
	TEST_RUN(test_example_reparses);
	TEST_RUN(test_dump);
	TEST_RUN(test_dump_long_values);
	TEST_RUN(test_load_file);
	TEST_RUN(test_data_files);
	return TEST_DONE();
}
