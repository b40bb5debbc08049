/*
 * console_load_client - load for a running anshim-consoled: N sessions, each
 * logged in with its own cookie and CSRF token, send case searches
 * (GET /api/case?pid=...) and traces (POST /api/trace) back to back, one
 * request in flight per session, and the latency of each is recorded.
 * Driven by bench/console_load, which builds the world and starts the
 * daemons; see bench/README.md.
 *
 * Each session is one thread with one libcurl easy handle (its own
 * connection, kept alive, and its own cookie store).  A run sends
 * --requests requests per session of one kind, then of the other; the
 * p50/p99 of each run are printed, then the medians over --runs runs.
 * Any answer other than 200 is counted and printed: a run with errors is
 * reported as such, never hidden.  A benchmark reports; it never asserts
 * (exit 0 when it ran, 1 when it could not log in or read its inputs).
 */
#include "stats.h"

#include "anshim/args.h"
#include "anshim/parse.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 1000
#define MAX_CASES 10000

static const char usage_text[] =
"Usage: console_load_client --url URL --cases FILE --user-prefix P --accounts A\n"
"                           --password-file FILE [--sessions N] [--requests R]\n"
"                           [--runs K] [--depth D] [--reason TEXT]\n"
"\n"
"Log in N sessions (account P1..PA round-robin; the password is the first\n"
"line of FILE), then, in each of K runs, send R case searches per session\n"
"(GET /api/case?pid=PID) with all N sessions at once, one request in flight\n"
"each, then R traces per session (POST /api/trace, depth D, the case's\n"
"window from the cases file that bench/visits_gen --cases writes: 'pid from\n"
"to visits' a line). Prints each run's p50/p99/max latency and rate, and the\n"
"medians over the runs.\n"
"\n"
"  --url URL            the console, e.g. http://127.0.0.1:8080\n"
"  --cases FILE         the cases (visits_gen --cases)\n"
"  --user-prefix P      account names P1, P2, ... (default bench)\n"
"  --accounts A         how many such accounts exist (default 1)\n"
"  --password-file F    their password, first line\n"
"  --sessions N         concurrent sessions (default 10, at most 1000)\n"
"  --requests R         requests of each kind per session per run (default 50)\n"
"  --runs K             runs (default 5)\n"
"  --depth D            trace depth (default 1)\n"
"  --reason TEXT        the traces' reason (default 'console load benchmark')\n";

struct bench_case {
	char pid[33];
	int64_t from, to;
};

struct session {
	CURL *curl;
	struct curl_slist *headers; /* Content-Type and X-CSRF-Token */
	char csrf[128];
	char body[65536];           /* the last answer, truncated */
	size_t body_len;
	/* one run's work */
	int kind;                   /* 0 case, 1 trace */
	int index;
	double *lat;                /* ms, R of them */
	unsigned errors;
	long last_status;
	char last_error[200];
};

static struct {
	const char *url, *cases_file, *prefix, *password_file, *reason;
	int64_t accounts, sessions, requests, runs, depth;
	struct bench_case *cases;
	size_t ncases;
	char password[1100];
} opt = {.prefix = "bench", .reason = "console load benchmark", .accounts = 1,
	 .sessions = 10, .requests = 50, .runs = 5, .depth = 1};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct session *s = ctx;
	size_t len = size * n, room = sizeof s->body - 1 - s->body_len;

	memcpy(s->body + s->body_len, p, len < room ? len : room);
	s->body_len += len < room ? len : room;
	s->body[s->body_len] = '\0';
	return len;
}

/* One request; returns the HTTP status (0 on a transport error) and
 * leaves the answer in s->body. */
static long request(struct session *s, const char *path, const char *post)
{
	char url[512];
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof url, "%s%s", opt.url, path);
	s->body_len = 0;
	s->body[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	if (post) {
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, post);
	} else {
		curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(s->curl);
	if (rc != CURLE_OK) {
		snprintf(s->last_error, sizeof s->last_error, "%s", curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static int session_open(struct session *s, int i)
{
	char name[80], *post;
	json_t *login, *ans;
	json_error_t jerr;
	const char *csrf;
	long status;

	s->curl = curl_easy_init();
	if (!s->curl)
		return -1;
	curl_easy_setopt(s->curl, CURLOPT_COOKIEFILE, ""); /* cookie engine on */
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L); /* loopback, test cert */
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	s->headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	snprintf(name, sizeof name, "%s%d", opt.prefix, (int)(i % opt.accounts) + 1);
	login = json_pack("{s:s, s:s}", "name", name, "password", opt.password);
	post = login ? json_dumps(login, JSON_COMPACT) : NULL;
	json_decref(login);
	if (!post)
		return -1;
	status = request(s, "/api/login", post);
	free(post);
	if (status != 200) {
		fprintf(stderr, "console_load_client: login as %s: HTTP %ld %s%s\n", name, status,
			s->body, status ? "" : s->last_error);
		return -1;
	}
	ans = json_loads(s->body, 0, &jerr);
	csrf = ans ? json_string_value(json_object_get(ans, "csrf")) : NULL;
	if (!csrf || strlen(csrf) >= sizeof s->csrf - 20) {
		fprintf(stderr, "console_load_client: login as %s: no csrf in %s\n", name, s->body);
		json_decref(ans);
		return -1;
	}
	snprintf(s->csrf, sizeof s->csrf, "X-CSRF-Token: %s", csrf);
	json_decref(ans);
	s->headers = curl_slist_append(s->headers, s->csrf);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	return 0;
}

static void *session_run(void *arg)
{
	struct session *s = arg;
	char path[128], post[1024];

	for (int64_t r = 0; r < opt.requests; r++) {
		const struct bench_case *c = &opt.cases[(size_t)(s->index + r * opt.sessions) %
							  opt.ncases];
		double t0;
		long status;

		if (s->kind == 0) {
			snprintf(path, sizeof path, "/api/case?pid=%s", c->pid);
			t0 = bench_now_sec();
			status = request(s, path, NULL);
		} else {
			json_t *body = json_pack("{s:s, s:I, s:I, s:I, s:s}", "pid", c->pid, "from",
						 (json_int_t)c->from, "to", (json_int_t)c->to,
						 "depth", (json_int_t)opt.depth, "reason", opt.reason);
			size_t len = body ? json_dumpb(body, post, sizeof post - 1, JSON_COMPACT) : 0;

			json_decref(body);
			if (len == 0 || len >= sizeof post) {
				s->errors++;
				continue;
			}
			post[len] = '\0';
			t0 = bench_now_sec();
			status = request(s, "/api/trace", post);
		}
		s->lat[r] = (bench_now_sec() - t0) * 1e3;
		if (status != 200) {
			s->errors++;
			s->last_status = status;
			if (status)
				snprintf(s->last_error, sizeof s->last_error, "%.190s", s->body);
		}
	}
	return NULL;
}

static int read_cases(void)
{
	FILE *f = fopen(opt.cases_file, "r");
	char line[256];

	if (!f) {
		fprintf(stderr, "console_load_client: %s: %s\n", opt.cases_file, strerror(errno));
		return -1;
	}
	opt.cases = calloc(MAX_CASES, sizeof *opt.cases);
	while (opt.cases && opt.ncases < MAX_CASES && fgets(line, sizeof line, f)) {
		struct bench_case *c = &opt.cases[opt.ncases];
		long long from, to;

		if (sscanf(line, "%32s %lld %lld", c->pid, &from, &to) == 3 && strlen(c->pid) == 32) {
			c->from = from;
			c->to = to;
			opt.ncases++;
		}
	}
	fclose(f);
	if (!opt.ncases) {
		fprintf(stderr, "console_load_client: no cases in %s (write them with visits_gen "
			"--cases FILE)\n", opt.cases_file);
		return -1;
	}
	return 0;
}

static int read_password(void)
{
	FILE *f = fopen(opt.password_file, "r");
	size_t n;

	if (!f || !fgets(opt.password, sizeof opt.password, f)) {
		fprintf(stderr, "console_load_client: cannot read the password from %s\n",
			opt.password_file);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(opt.password, "\r\n");
	opt.password[n] = '\0';
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{"url", required_argument, NULL, 'u'},
		{"cases", required_argument, NULL, 'c'},
		{"user-prefix", required_argument, NULL, 'p'},
		{"accounts", required_argument, NULL, 'a'},
		{"password-file", required_argument, NULL, 'P'},
		{"sessions", required_argument, NULL, 's'},
		{"requests", required_argument, NULL, 'r'},
		{"runs", required_argument, NULL, 'k'},
		{"depth", required_argument, NULL, 'd'},
		{"reason", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = as_args_next("console_load_client", argc, argv, "h", options, NULL)) != -1) {
		int64_t *num = NULL, max = 0, min = 1;

		switch (c) {
		case 'u': opt.url = optarg; break;
		case 'c': opt.cases_file = optarg; break;
		case 'p': opt.prefix = optarg; break;
		case 'P': opt.password_file = optarg; break;
		case 'R': opt.reason = optarg; break;
		case 'a': num = &opt.accounts; max = MAX_SESSIONS; break;
		case 's': num = &opt.sessions; max = MAX_SESSIONS; break;
		case 'r': num = &opt.requests; max = 1000000; break;
		case 'k': num = &opt.runs; max = 100; break;
		case 'd': num = &opt.depth; max = 3; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return 2;
		}
		if (num && as_parse_int64(optarg, min, max, num)) {
			fprintf(stderr, "console_load_client: '%s' is not a number from %lld to "
				"%lld\n", optarg, (long long)min, (long long)max);
			return 2;
		}
	}
	if (optind < argc || !opt.url || !opt.cases_file || !opt.password_file) {
		fprintf(stderr, "console_load_client: needs --url, --cases and --password-file\n"
			"Try 'console_load_client --help'.\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const kinds[2] = {"case search (GET /api/case)",
					     "trace (POST /api/trace)"};
	struct session *ss;
	double *p50[2], *p99[2], *rate[2], *all;
	unsigned total_errors = 0;
	int rc = parse_args(argc, argv);

	if (rc)
		return rc;
	if (read_cases() || read_password())
		return 1;
	if (curl_global_init(CURL_GLOBAL_ALL) != 0)
		return 1;
	ss = calloc((size_t)opt.sessions, sizeof *ss);
	all = calloc((size_t)(opt.sessions * opt.requests), sizeof *all);
	for (int k = 0; k < 2; k++) {
		p50[k] = calloc((size_t)opt.runs, sizeof(double));
		p99[k] = calloc((size_t)opt.runs, sizeof(double));
		rate[k] = calloc((size_t)opt.runs, sizeof(double));
	}
	if (!ss || !all)
		return 1;
	printf("console_load: %s, %lld sessions, %lld requests of each kind per session per "
	       "run, %lld runs, trace depth %lld, %zu cases\n", opt.url, (long long)opt.sessions,
	       (long long)opt.requests, (long long)opt.runs, (long long)opt.depth, opt.ncases);
	{
		double t0 = bench_now_sec();
		for (int64_t i = 0; i < opt.sessions; i++) {
			ss[i].index = (int)i;
			ss[i].lat = calloc((size_t)opt.requests, sizeof(double));
			if (!ss[i].lat || session_open(&ss[i], (int)i))
				return 1;
		}
		printf("logged in %lld sessions in %.1f s (one after another)\n",
		       (long long)opt.sessions, bench_now_sec() - t0);
	}
	for (int64_t run = 0; run < opt.runs; run++) {
		for (int k = 0; k < 2; k++) {
			pthread_t *th = calloc((size_t)opt.sessions, sizeof *th);
			unsigned errors = 0;
			size_t n = 0;
			double t0 = bench_now_sec(), wall;

			for (int64_t i = 0; i < opt.sessions; i++) {
				ss[i].kind = k;
				ss[i].errors = 0;
				if (pthread_create(&th[i], NULL, session_run, &ss[i]) != 0) {
					fprintf(stderr, "console_load_client: pthread_create failed\n");
					return 1;
				}
			}
			for (int64_t i = 0; i < opt.sessions; i++) {
				pthread_join(th[i], NULL);
				memcpy(all + n, ss[i].lat, (size_t)opt.requests * sizeof(double));
				n += (size_t)opt.requests;
				errors += ss[i].errors;
			}
			wall = bench_now_sec() - t0;
			free(th);
			p50[k][run] = bench_percentile(all, n, 0.50);
			p99[k][run] = bench_percentile(all, n, 0.99);
			rate[k][run] = (double)n / wall;
			printf("run %lld %-28s p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  %8.1f req/s"
			       "  errors %u\n", (long long)run + 1, kinds[k], p50[k][run], p99[k][run],
			       all[n - 1], rate[k][run], errors);
			if (errors) {
				for (int64_t i = 0; i < opt.sessions; i++) {
					if (ss[i].errors) {
						printf("    e.g. HTTP %ld: %s\n", ss[i].last_status,
						       ss[i].last_error);
						break;
					}
				}
			}
			total_errors += errors;
			fflush(stdout);
		}
	}
	printf("MEDIAN over %lld runs, %lld sessions:\n", (long long)opt.runs,
	       (long long)opt.sessions);
	for (int k = 0; k < 2; k++)
		printf("  %-28s p50 %8.2f ms  p99 %8.2f ms  %8.1f req/s\n", kinds[k],
		       bench_median(p50[k], (size_t)opt.runs), bench_median(p99[k], (size_t)opt.runs),
		       bench_median(rate[k], (size_t)opt.runs));
	printf("RESULT sessions=%lld case_p50_ms=%.2f case_p99_ms=%.2f trace_p50_ms=%.2f "
	       "trace_p99_ms=%.2f errors=%u\n", (long long)opt.sessions,
	       bench_median(p50[0], (size_t)opt.runs), bench_median(p99[0], (size_t)opt.runs),
	       bench_median(p50[1], (size_t)opt.runs), bench_median(p99[1], (size_t)opt.runs),
	       total_errors);
	for (int64_t i = 0; i < opt.sessions; i++) {
		request(&ss[i], "/api/logout", "{}");
		curl_slist_free_all(ss[i].headers);
		curl_easy_cleanup(ss[i].curl);
		free(ss[i].lat);
	}
	free(ss);
	free(all);
	for (int k = 0; k < 2; k++) {
		free(p50[k]);
		free(p99[k]);
		free(rate[k]);
	}
	curl_global_cleanup();
	return 0;
}
