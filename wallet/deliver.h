/*
 * deliver.h - send the wallet's queued check-ins and check-outs to the
 * cloud over MQTT and apply the cloud's signed answers (store-and-forward).
 *
 * Topics (appcheckin.h): each queued message is published with QoS 1 on
 * anshim/v1/wallet/{holder_id hex}/checkin after subscribing (QoS 1) to
 * anshim/v1/wallet/{holder_id hex}/ack.  A PUBACK is not a receipt: an
 * entry leaves the queue only when an answer for its check-in id arrives
 * that verifies with the authority key.  Every (re)connection republishes
 * every entry still queued, in diary order; the cloud de-duplicates by
 * check-in id, so a message is stored once however often it is sent.
 */
#ifndef WALLET_DELIVER_H
#define WALLET_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "anshim/identity.h"
#include "diary.h"

struct wl_deliver_opts {
	const char *uri;                /* tcp://host:port or ssl://host:port */
	const char *username;           /* NULL: none */
	const char *password;           /* NULL: none */
	const char *ca_file;            /* TLS: CA of the broker; NULL: system */
	const uint8_t *authority_pk;    /* AS_SIGN_PK_LEN; verifies answers */
	const uint8_t *holder_pk;       /* AS_SIGN_PK_LEN; names the topics */
	uint64_t timeout_ms;            /* the whole attempt, connection included */
	int give_up_offline;            /* stop at the first failed connection */
	const char *diary_path;         /* saved after each answer applied */
	const uint8_t *own_id;          /* AS_APP_CHECKIN_ID_LEN: the entry whose outcome
					 * the caller reports itself; NULL: none */
};

struct wl_deliver_result {
	int connected;                  /* a connection was made */
	int refused;                    /* the broker refused the connection */
	size_t published;               /* publishes the broker acknowledged */
	size_t answered;                /* entries answered in this run */
	size_t ignored;                 /* answers that did not verify / matched nothing */
	char error[256];                /* why it stopped short; "" when it did not */
};

/*
 * Deliver every queued entry of d (borrowed; answered entries are updated
 * in place and d saved to opts->diary_path after each).  Returns 0 when
 * nothing is left queued, AS_E_MQTT when no usable connection was made
 * (unreachable, refused, subscription refused), -ETIMEDOUT when answers
 * were still missing at the deadline, or a save error.  Runs its own libuv
 * loop until done; single-threaded caller (Paho's threads stay inside the
 * mqtt module).
 */
int wl_deliver(struct wl_diary *d, const struct wl_deliver_opts *opts,
	       struct wl_deliver_result *res);

/* "anshim/v1/wallet/{holder_id hex}/{leaf}" into out (at least 96 bytes). */
void wl_topic(char *out, size_t cap, const uint8_t holder_pk[AS_SIGN_PK_LEN], const char *leaf);

#endif
