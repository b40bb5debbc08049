/*
 * test_args.c - the strict option parser (common/src/args.c): exact long
 * names only, values taken from the next argument never mistaken for
 * options, "--" ends the options, and every usage error is '?'.
 */
#include "test.h"

#include "anshim/args.h"

static const struct option opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"count", required_argument, NULL, 'n'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Parse argv (NULL-terminated) and write the options seen as "c=VAL j ..."
 * into out; returns the last result (-1 at a clean end, '?' on error) and
 * *first the first operand's index. */
static int parse(char **argv, char *out, size_t cap, int *first)
{
	int argc = 0, c;
	size_t used = 0;

	while (argv[argc])
		argc++;
	out[0] = '\0';
	optind = 1;
	while ((c = as_args_next("test", argc, argv, "c:vh", opts, NULL)) != -1) {
		if (c == '?')
			return c;
		used += (size_t)snprintf(out + used, cap - used, "%s%c%s%s", used ? " " : "", c,
					 optarg && (c == 'c' || c == 'n') ? "=" : "",
					 optarg && (c == 'c' || c == 'n') ? optarg : "");
	}
	*first = optind;
	return -1;
}

#define ARGV(...) ((char *[]){"test", __VA_ARGS__, NULL})

static void test_exact_names(void)
{
	char out[256];
	int first = 0;

	CHECK_EQ_INT(parse(ARGV("--config", "a.conf", "--json"), out, sizeof out, &first), -1);
	CHECK_STR(out, "c=a.conf j");
	CHECK_EQ_INT(parse(ARGV("--config=b.conf"), out, sizeof out, &first), -1);
	CHECK_STR(out, "c=b.conf");
	/* abbreviations, unique or not, are refused */
	CHECK_EQ_INT(parse(ARGV("--conf", "a.conf"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("--co", "a.conf"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("--js"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("--json", "--js"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("--configx", "a"), out, sizeof out, &first), '?');
}

static void test_values(void)
{
	char out[256];
	int first = 0;

	/* a value that looks like an option is the value */
	CHECK_EQ_INT(parse(ARGV("--config", "--conf"), out, sizeof out, &first), -1);
	CHECK_STR(out, "c=--conf");
	CHECK_EQ_INT(parse(ARGV("-c", "--conf"), out, sizeof out, &first), -1);
	CHECK_STR(out, "c=--conf");
	CHECK_EQ_INT(parse(ARGV("-vc", "--conf"), out, sizeof out, &first), -1);
	CHECK_STR(out, "v c=--conf");
	CHECK_EQ_INT(parse(ARGV("-cX", "--json"), out, sizeof out, &first), -1);
	CHECK_STR(out, "c=X j");
	/* missing values and values for flags */
	CHECK_EQ_INT(parse(ARGV("--config"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("-c"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("--json=yes"), out, sizeof out, &first), '?');
	CHECK_EQ_INT(parse(ARGV("-x"), out, sizeof out, &first), '?');
}

static void test_operands(void)
{
	char out[256];
	char *argv[] = {"test", "file.csv", "--json", "-", NULL};
	char *argv2[] = {"test", "--json", "--", "--conf", "-x", NULL};
	int first = 0;

	/* operands may come first (getopt permutes them to the end) */
	CHECK_EQ_INT(parse(argv, out, sizeof out, &first), -1);
	CHECK_STR(out, "j");
	if (CHECK_EQ_INT(first, 2)) {
		CHECK_STR(argv[first], "file.csv");
		CHECK_STR(argv[first + 1], "-");
	}
	/* after "--" nothing is an option */
	CHECK_EQ_INT(parse(argv2, out, sizeof out, &first), -1);
	CHECK_STR(out, "j");
	if (CHECK_EQ_INT(first, 3))
		CHECK_STR(argv2[first], "--conf");
}

int main(void)
{
	TEST_RUN(test_exact_names);
	TEST_RUN(test_values);
	TEST_RUN(test_operands);
	return TEST_DONE();
}
