/*
 * flood.h - publish a list of prepared messages to the broker as fast as it
 * takes them (MQTT QoS 1, a window of unacknowledged publishes), for the
 * ingest benchmarks (bench/flood_checkins, bench/flood_batches) and the
 * integration test of the bounded queue.  Runs its own libuv loop on the
 * calling thread until every message is acknowledged by the broker, the
 * connection is lost, or a 10-minute deadline passes.
 */
#ifndef ANSHIM_BENCH_FLOOD_H
#define ANSHIM_BENCH_FLOOD_H

#include <stddef.h>
#include <stdint.h>

struct bench_flood_msg {
	const char *topic;
	const uint8_t *data;
	size_t len;
};

/* Publish msgs[0..count) in order, at most window unacknowledged; prog
 * names the program in messages (stderr).  Returns how many the broker
 * acknowledged (count when all went through). */
uint64_t bench_flood_publish(const char *prog, const char *broker,
			     const struct bench_flood_msg *msgs, uint64_t count, unsigned window);

#endif
