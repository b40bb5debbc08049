/*
 * test_mqtt.c - the MQTT client's broker list (common/src/mqtt.c): how a
 * failover list is read and refused, and the order in which it is tried.
 * Loopback only: the "brokers" are ports this test holds bound but not
 * listening, so every connection is refused at once and no broker is
 * needed (the integration test test_sync_broker_failover.sh runs the same
 * list against two real mosquittos).
 */
#include "test.h"

#include "anshim/mqtt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

static const struct as_mqtt_handlers no_handlers = {0};

static int start_with(uv_loop_t *loop, const char *uri, struct as_mqtt **m, char *err,
		      size_t err_len)
{
	struct as_mqtt_options o = {0};

	o.uri = uri;
	o.client_id = "anshim-test-mqtt";
	o.reconnect_min_ms = 60000; /* no second round within the test */
	o.reconnect_max_ms = 60000;
	return as_mqtt_start(m, loop, &o, &no_handlers, NULL, err, err_len);
}

static void close_loop(uv_loop_t *loop)
{
	int i;

	for (i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT); i++)
		;
	CHECK_RC(uv_loop_close(loop), 0);
}

/* Malformed lists are refused before anything connects, naming the entry. */
static void test_bad_lists(void)
{
	static const struct {
		const char *uri, *says;
	} cases[] = {
		{"tcp://127.0.0.1:1 mqtt.example.org:1883", "broker 2 of"},
		{"tcp://127.0.0.1:1 tcp://", "broker 2 of"},
		{"http://127.0.0.1:1", "broker 1 of"},
		{"   ", "no broker address"},
		{"tcp://h:1 tcp://h:2 tcp://h:3 tcp://h:4 tcp://h:5 tcp://h:6 tcp://h:7 "
		 "tcp://h:8 tcp://h:9", "more than 8 brokers"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uv_loop_t loop;
		struct as_mqtt *m = (struct as_mqtt *)1;
		char err[512] = "";

		test_ctx("%s", cases[i].uri);
		uv_loop_init(&loop);
		CHECK_RC(start_with(&loop, cases[i].uri, &m, err, sizeof err), AS_E_MQTT);
		CHECK(m == NULL);
		if (!CHECK(strstr(err, cases[i].says) != NULL))
			fprintf(stderr, "  error was: %s\n", err);
		close_loop(&loop);
	}
	test_ctx_clear();
}

/* A port bound on 127.0.0.1 and not listening: connections are refused. */
static int refusing_port(int *fd)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof a;

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &len) != 0)
		return 0;
	return ntohs(a.sin_port);
}

struct round {
	int failed;          /* on_connect_failed calls */
	char last_error[AS_MQTT_ERROR_MAX];
	char broker_then[256];
	struct as_mqtt *m;
};

static void on_failed(void *ctx, const char *why)
{
	struct round *r = ctx;

	(void)why;
	r->failed++;
	snprintf(r->last_error, sizeof r->last_error, "%s", as_mqtt_last_error(r->m));
	snprintf(r->broker_then, sizeof r->broker_then, "%s", as_mqtt_current_broker(r->m));
}

/* Both brokers of "A B" are tried, in that order, within one attempt: the
 * client's give-up callback fires once, after B; the next round starts at A
 * again. */
static void test_failover_order(void)
{
	uv_loop_t loop;
	struct as_mqtt_options o = {0};
	struct as_mqtt_handlers h = {0};
	struct round r = {0};
	char uri[160], a[64], b[64], err[512] = "";
	int fa, fb, pa = refusing_port(&fa), pb = refusing_port(&fb);
	uint64_t deadline;

	if (!CHECK(pa > 0 && pb > 0))
		return;
	snprintf(a, sizeof a, "tcp://127.0.0.1:%d", pa);
	snprintf(b, sizeof b, "tcp://127.0.0.1:%d", pb);
	snprintf(uri, sizeof uri, "  %s\t%s ", a, b);
	uv_loop_init(&loop);
	o.uri = uri;
	o.client_id = "anshim-test-mqtt";
	o.reconnect_min_ms = 60000;
	o.reconnect_max_ms = 60000;
	if (!CHECK_OK(as_mqtt_start(&r.m, &loop, &o, &h, &r, err, sizeof err))) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	as_mqtt_on_connect_failed(r.m, on_failed);
	CHECK_STR(as_mqtt_current_broker(r.m), a);
	/* Refusals come back within milliseconds; 20 s bounds a loaded machine. */
	deadline = uv_now(&loop) + 20000;
	while (!r.failed && uv_now(&loop) < deadline) {
		uv_run(&loop, UV_RUN_NOWAIT);
		uv_sleep(5);
		uv_update_time(&loop);
	}
	CHECK_EQ_INT(r.failed, 1);
	/* The failure reported is B's: A failed first and was passed over. */
	if (!CHECK(strstr(r.last_error, b) != NULL))
		fprintf(stderr, "  last error: %s\n", r.last_error);
	CHECK(strstr(r.last_error, "cannot reach the broker") != NULL);
	/* After the whole list failed, the next round starts at A. */
	CHECK_STR(r.broker_then, a);
	CHECK(!as_mqtt_is_connected(r.m));
	as_mqtt_stop(r.m);
	close_loop(&loop);
	close(fa);
	close(fb);
}

int main(void)
{
	TEST_RUN(test_bad_lists);
	TEST_RUN(test_failover_order);
	return TEST_DONE();
}
