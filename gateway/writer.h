/*
 * writer.h - the gateway's single LMDB writer thread.
 *
 * The libuv loop submits requests; the writer thread executes them against
 * the journal and hands each finished request back to the loop, where its
 * done callback runs.  Consecutive appends are group-committed: everything
 * queued while the previous commit was being fsynced goes into the next
 * transaction (up to max_group records), so the loop never blocks on the
 * disk and a burst costs one fsync, not one per scan.
 */
#ifndef GW_WRITER_H
#define GW_WRITER_H

#include <stdint.h>
#include <uv.h>

#include "journal.h"

enum gw_write_kind {
	GW_WRITE_APPEND,   /* append rec (and import_key, if set) */
	GW_WRITE_PURGE,    /* purge by horizon/sent_horizon, in slices */
	GW_WRITE_META,     /* set meta_name = meta_value */
	GW_WRITE_CORRECT,  /* correct unsynced times of boot_id by offset */
	GW_WRITE_REBASE    /* renumber unacked records after meta_value */
};

struct gw_write_req {
	enum gw_write_kind kind;
	/* GW_WRITE_APPEND */
	struct as_record rec;                 /* seq filled in on success */
	uint8_t import_key[GW_IMPORT_KEY_LEN];
	int has_import_key;
	/* GW_WRITE_PURGE (future_horizon: 0 for none; spares the
	 * unsynced records of boot_id when has_boot_id) */
	int64_t horizon, sent_horizon, future_horizon;
	int has_boot_id;
	/* GW_WRITE_META */
	const char *meta_name;                /* borrowed; static string */
	uint64_t meta_value;
	/* GW_WRITE_CORRECT (count of changed records in purged) */
	uint8_t boot_id[AS_BOOT_ID_LEN];
	int64_t offset;
	/* results, valid in done() */
	int status;                           /* 0, AS_E_FULL, ... */
	int duplicate;                        /* append: import key was known */
	uint64_t purged;                      /* purge: records deleted */
	/* called on the loop thread when the request is finished; may free req */
	void (*done)(struct gw_write_req *req);
	void *data;                           /* the submitter's context */
	/* private */
	struct gw_write_req *next;
	uint64_t purge_resume;
};

struct gw_writer;

/* Start the writer thread for journal j (borrowed; must outlive the
 * writer).  Loop thread. */
int gw_writer_start(struct gw_writer **out, uv_loop_t *loop, struct gw_journal *j,
		    unsigned max_group);

/* Queue req (caller-owned until done() runs).  Loop thread only. */
void gw_writer_submit(struct gw_writer *w, struct gw_write_req *req);

/* Requests queued or executing; loop thread. */
unsigned gw_writer_pending(const struct gw_writer *w);

/*
 * Finish every queued request (their done callbacks run before this
 * returns), stop and join the thread, then close the loop handle and free
 * w.  Loop thread; the loop must run afterwards for the close to finish.
 */
void gw_writer_stop(struct gw_writer *w);

#endif
