/*
 * gateway_scan - a scan load generator for anshim-gatewayd's scan socket.
 *
 * It issues N visitor credentials in memory with the authority's keys,
 * makes one fresh pass per visitor, then scans them round-robin over C
 * connections to the daemon's "socket" scan source, one request in flight
 * per connection, and times each scan from send to the daemon's answer
 * (which for "accepted" means: durable in LMDB).  Used two ways:
 *   - as a benchmark: sustained durable scans/s, latency p50/p99 at a rate;
 *   - by the crash-safety test: every "accepted" answer is appended (and
 *     flushed) to --accepted FILE as the visitor's pid before the next scan,
 *     so after a kill -9 the file lists exactly what the daemon promised.
 * The run ends after --count scans, --seconds, or when the daemon goes
 * away.  Single-threaded, poll()-driven.
 */
#include "authority.h"

#include "anshim/args.h"
#include "anshim/bytes.h"
#include "anshim/credential.h"
#include "anshim/error.h"
#include "anshim/parse.h"
#include "stats.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256

struct visitor {
	struct as_credential cred;
	uint8_t sk[AS_SIGN_SK_LEN];
	int64_t made;             /* when pass was made (a pass is fresh 90 s) */
	char pass[AS_SCAN_TEXT_MAX + 1];
	size_t pass_len;
	char pid_hex[2 * AS_PID_LEN + 1];
};

struct conn {
	int fd;
	int busy;
	size_t visitor;
	double sent_at;
	char buf[256];
	size_t len;
};

struct totals {
	uint64_t sent, accepted, duplicate, rejected, not_collecting, other;
	double *latency_ms;
	size_t n_latency, cap_latency;
};

static const char usage_text[] =
"Usage: gateway_scan --keys AUTHDIR --socket PATH [options]\n"
"\n"
"Scan load generator for anshim-gatewayd's 'source socket PATH'.\n"
"\n"
"  --keys DIR          authority key directory (to issue test credentials)\n"
"  --socket PATH       the daemon's scan socket\n"
"  --visitors N        distinct visitors (default 1000); run the daemon with\n"
"                      duplicate_window 0 to rescan the same ones\n"
"  --count N           stop after N scans (default: unlimited)\n"
"  --seconds S         stop after S seconds (default 10)\n"
"  --concurrency C     connections, one scan in flight on each (default 32)\n"
"  --rate R            scans per second in total, open loop (default: as fast\n"
"                      as answers come)\n"
"  --accepted FILE     append the pid of every accepted scan to FILE, flushed\n"
"  --quiet             print only the summary line\n"
"\n"
"Prints: scans sent/answered by outcome, accepted scans per second, and the\n"
"send-to-answer latency p50/p99/max in milliseconds.\n";

/* Make a fresh pass for v at now (as the wallet does every ~30 s). */
static int refresh_pass(struct visitor *v, int64_t now)
{
	struct as_pass pass;
	int len, rc = as_pass_make(&pass, &v->cred, now, v->sk);

	if (rc)
		return rc;
	len = as_pass_to_text(v->pass, sizeof v->pass - 1, &pass);
	if (len < 0)
		return len;
	v->pass[len] = '\n';
	v->pass_len = (size_t)len + 1;
	v->made = now;
	return 0;
}

static int make_visitors(struct visitor *v, size_t n, const char *keys)
{
	struct cl_authority auth;
	const char *failed = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc = cl_authority_load(&auth, keys, CL_KEY_SIGN | CL_KEY_CONTACT | CL_KEY_PSEUDONYM,
				   &failed);

	if (rc) {
		fprintf(stderr, "gateway_scan: cannot load %s: %s\n", failed ? failed : keys,
			as_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t pk[AS_SIGN_PK_LEN], sk[AS_SIGN_SK_LEN];
		struct as_contact contact;
		struct as_credential cred;
		char phone[32];

		snprintf(phone, sizeof phone, "010-%04zu-%04zu", 1000 + i / 10000, i % 10000);
		crypto_sign_keypair(pk, sk);
		rc = as_contact_set(&contact, phone, "Load Test");
		if (!rc)
			rc = cl_authority_issue(&auth, &contact, pk, now - 60, 86400, &cred);
		if (!rc) {
			v[i].cred = cred;
			memcpy(v[i].sk, sk, sizeof sk);
			rc = refresh_pass(&v[i], now);
			as_hex_encode(v[i].pid_hex, cred.pid, AS_PID_LEN);
		}
	}
	cl_authority_wipe(&auth);
	if (rc)
		fprintf(stderr, "gateway_scan: cannot make passes: %s\n", as_strerror(rc));
	return rc;
}

static int connect_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof addr.sun_path)
		return -1;
	memcpy(addr.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void note_latency(struct totals *t, double ms)
{
	if (t->n_latency == t->cap_latency) {
		size_t cap = t->cap_latency ? t->cap_latency * 2 : 4096;
		double *p = realloc(t->latency_ms, cap * sizeof *p);
		if (!p)
			return;
		t->latency_ms = p;
		t->cap_latency = cap;
	}
	t->latency_ms[t->n_latency++] = ms;
}

/* Handle one answer line on c; returns 0, or -1 to stop everything. */
static int on_answer(struct conn *c, const char *line, const struct visitor *v,
		     struct totals *t, FILE *accepted_out)
{
	double ms = (bench_now_sec() - c->sent_at) * 1000;

	c->busy = 0;
	note_latency(t, ms);
	if (strcmp(line, "accepted") == 0) {
		t->accepted++;
		if (accepted_out) {
			fprintf(accepted_out, "%s\n", v[c->visitor].pid_hex);
			if (fflush(accepted_out) != 0)
				return -1;
		}
	} else if (strcmp(line, "duplicate") == 0) {
		t->duplicate++;
	} else if (strncmp(line, "rejected", 8) == 0) {
		t->rejected++;
	} else if (strcmp(line, "not-collecting") == 0) {
		t->not_collecting++;
	} else {
		t->other++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"keys", required_argument, NULL, 'k'}, {"socket", required_argument, NULL, 's'},
		{"visitors", required_argument, NULL, 'v'}, {"count", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{"concurrency", required_argument, NULL, 'c'},
		{"rate", required_argument, NULL, 'r'}, {"accepted", required_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *keys = NULL, *socket_path = NULL, *accepted_path = NULL;
	int64_t visitors = 1000, count = INT64_MAX, seconds = 10, concurrency = 32, rate = 0;
	struct conn conns[MAX_CONNECTIONS];
	struct pollfd pfds[MAX_CONNECTIONS];
	struct totals t = {0};
	struct visitor *v;
	FILE *accepted_out = NULL;
	size_t next_visitor = 0;
	double start, deadline, elapsed;
	int c, quiet = 0, lost = 0;

	while ((c = as_args_next("gateway_scan", argc, argv, "h", options, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'k': keys = optarg; break;
		case 's': socket_path = optarg; break;
		case 'a': accepted_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'v': bad = as_parse_int64(optarg, 1, 10000000, &visitors); break;
		case 'n': bad = as_parse_int64(optarg, 1, INT64_MAX, &count); break;
		case 't': bad = as_parse_int64(optarg, 1, 86400, &seconds); break;
		case 'c': bad = as_parse_int64(optarg, 1, MAX_CONNECTIONS, &concurrency); break;
		case 'r': bad = as_parse_int64(optarg, 1, 10000000, &rate); break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: bad = 1;
		}
		if (bad) {
			fprintf(stderr, "gateway_scan: bad value for option; see --help\n");
			return 2;
		}
	}
	if (!keys || !socket_path) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (as_crypto_init())
		return 1;
	v = calloc((size_t)visitors, sizeof *v);
	if (!v || make_visitors(v, (size_t)visitors, keys))
		return 1;
	if (accepted_path && !(accepted_out = fopen(accepted_path, "a"))) {
		fprintf(stderr, "gateway_scan: %s: %s\n", accepted_path, strerror(errno));
		return 1;
	}
	for (int64_t i = 0; i < concurrency; i++) {
		conns[i] = (struct conn){.fd = connect_socket(socket_path)};
		if (conns[i].fd < 0) {
			fprintf(stderr, "gateway_scan: cannot connect to %s: %s\n", socket_path,
				strerror(errno));
			return 1;
		}
	}
	start = bench_now_sec();
	deadline = start + (double)seconds;
	while (!lost && bench_now_sec() < deadline && (t.sent < (uint64_t)count || t.n_latency < t.sent)) {
		double now = bench_now_sec();
		int busy = 0, timeout_ms = 100;

		for (int64_t i = 0; i < concurrency; i++) {
			struct conn *cn = &conns[i];
			int allowed = t.sent < (uint64_t)count &&
				      (!rate || (double)t.sent < (now - start) * (double)rate);
			if (!cn->busy && allowed) {
				cn->visitor = next_visitor++ % (size_t)visitors;
				if ((int64_t)time(NULL) - v[cn->visitor].made > 30 &&
				    refresh_pass(&v[cn->visitor], (int64_t)time(NULL))) {
					lost = 1;
					break;
				}
				cn->sent_at = bench_now_sec();
				if (send(cn->fd, v[cn->visitor].pass, v[cn->visitor].pass_len,
					 MSG_NOSIGNAL) != (ssize_t)v[cn->visitor].pass_len) {
					lost = 1;
					break;
				}
				cn->busy = 1;
				t.sent++;
			}
			pfds[i] = (struct pollfd){cn->fd, POLLIN, 0};
			busy += cn->busy;
		}
		if (rate && !busy)
			timeout_ms = 1;
		if (poll(pfds, (nfds_t)concurrency, timeout_ms) < 0 && errno != EINTR)
			break;
		for (int64_t i = 0; i < concurrency && !lost; i++) {
			struct conn *cn = &conns[i];
			char *nl;
			ssize_t n;

			if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = recv(cn->fd, cn->buf + cn->len, sizeof cn->buf - cn->len - 1, 0);
			if (n <= 0) {
				lost = 1;
				break;
			}
			cn->len += (size_t)n;
			while ((nl = memchr(cn->buf, '\n', cn->len)) != NULL) {
				*nl = '\0';
				if (on_answer(cn, cn->buf, v, &t, accepted_out))
					lost = 1;
				cn->len -= (size_t)(nl + 1 - cn->buf);
				memmove(cn->buf, nl + 1, cn->len);
			}
		}
	}
	elapsed = bench_now_sec() - start;
	if (accepted_out)
		fclose(accepted_out);
	qsort(t.latency_ms, t.n_latency, sizeof *t.latency_ms, bench_cmp_double);
	if (!quiet && lost)
		fprintf(stderr, "gateway_scan: the daemon closed the connection\n");
	printf("sent %llu answered %zu accepted %llu duplicate %llu rejected %llu "
	       "not-collecting %llu in %.2f s: %.0f accepted/s; latency ms p50 %.2f p99 %.2f "
	       "max %.2f\n",
	       (unsigned long long)t.sent, t.n_latency, (unsigned long long)t.accepted,
	       (unsigned long long)t.duplicate, (unsigned long long)t.rejected,
	       (unsigned long long)t.not_collecting, elapsed, (double)t.accepted / elapsed,
	       t.n_latency ? t.latency_ms[t.n_latency / 2] : 0,
	       t.n_latency ? t.latency_ms[t.n_latency * 99 / 100] : 0,
	       t.n_latency ? t.latency_ms[t.n_latency - 1] : 0);
	free(t.latency_ms);
	free(v);
	return 0;
}
