/*
 * writer.c - the single journal writer thread (see writer.h).
 *
 * Invariants:
 *  - only the writer thread calls journal write functions;
 *  - requests complete in submission order, except that a purge yields
 *    after each slice (it goes back to the end of the queue), so scans
 *    are never stuck behind a long purge;
 *  - the loop learns of finished requests only through uv_async_send, the
 *    one door between the threads; done callbacks run on the loop thread.
 * Threads: submit/stop on the loop thread; run_writer on its own thread.
 */
#include "writer.h"

#include "anshim/error.h"
#include "anshim/log.h"

#include <errno.h>
#include <stdlib.h>

#define PURGE_SLICE 2000

struct req_queue {
	struct gw_write_req *head, *tail;
};

struct gw_writer {
	uv_loop_t *loop;
	uv_async_t async;
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t wake;
	struct gw_journal *journal;
	unsigned max_group;
	struct req_queue todo;   /* guarded by lock */
	struct req_queue done;   /* guarded by lock */
	int stopping;            /* guarded by lock */
	unsigned pending;        /* loop thread only */
};

static void queue_push(struct req_queue *q, struct gw_write_req *r)
{
	r->next = NULL;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
}

static struct gw_write_req *queue_pop(struct req_queue *q)
{
	struct gw_write_req *r = q->head;

	if (r) {
		q->head = r->next;
		if (!q->head)
			q->tail = NULL;
		r->next = NULL;
	}
	return r;
}

/* Take the next unit of work: one purge/meta request, or a run of up to
 * max_group consecutive appends.  Called with the lock held. */
static size_t take_work(struct gw_writer *w, struct gw_write_req **batch, size_t cap)
{
	size_t n = 0;

	if (!w->todo.head)
		return 0;
	if (w->todo.head->kind != GW_WRITE_APPEND) {
		batch[n++] = queue_pop(&w->todo);
		return n;
	}
	while (n < cap && w->todo.head && w->todo.head->kind == GW_WRITE_APPEND)
		batch[n++] = queue_pop(&w->todo);
	return n;
}

static void execute_appends(struct gw_writer *w, struct gw_write_req **batch, size_t n,
			    struct gw_journal_entry *entries)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		entries[i].rec = &batch[i]->rec;
		entries[i].import_key = batch[i]->has_import_key ? batch[i]->import_key : NULL;
		entries[i].duplicate = 0;
	}
	rc = gw_journal_append(w->journal, entries, n);
	for (size_t i = 0; i < n; i++) {
		batch[i]->status = rc;
		batch[i]->duplicate = rc == 0 && entries[i].duplicate;
	}
}

/* Returns 1 if the purge needs another slice (re-queue it). */
static int execute_purge(struct gw_writer *w, struct gw_write_req *r)
{
	uint64_t deleted = 0;
	int more = 0;

	r->status = gw_journal_purge(w->journal, r->horizon, r->sent_horizon,
				     r->future_horizon ? r->future_horizon : INT64_MAX,
				     r->has_boot_id ? r->boot_id : NULL, &r->purge_resume,
				     PURGE_SLICE, &deleted, &more);
	r->purged += deleted;
	return r->status == 0 && more;
}

static void run_writer(void *arg)
{
	struct gw_writer *w = arg;
	struct gw_write_req **batch = calloc(w->max_group, sizeof *batch);
	struct gw_journal_entry *entries = calloc(w->max_group, sizeof *entries);

	if (!batch || !entries) {
		/* Cannot run without the buffers: fail every request. */
		as_log(AS_LOG_ERR, "writer: out of memory; check-ins cannot be recorded");
	}
	for (;;) {
		struct gw_write_req *one[1];
		struct gw_write_req **work = batch ? batch : one;
		size_t n;
		int requeue = 0;

		uv_mutex_lock(&w->lock);
		while (!w->todo.head && !w->stopping)
			uv_cond_wait(&w->wake, &w->lock);
		n = take_work(w, work, batch ? w->max_group : 1);
		uv_mutex_unlock(&w->lock);
		if (n == 0)
			break; /* stopping and nothing left */

		if (!batch || !entries) {
			for (size_t i = 0; i < n; i++)
				work[i]->status = -ENOMEM;
		} else if (work[0]->kind == GW_WRITE_APPEND) {
			execute_appends(w, work, n, entries);
		} else if (work[0]->kind == GW_WRITE_PURGE) {
			requeue = execute_purge(w, work[0]);
		} else if (work[0]->kind == GW_WRITE_REBASE) {
			work[0]->status = gw_journal_rebase(w->journal, work[0]->meta_value,
							    &work[0]->purged);
		} else if (work[0]->kind == GW_WRITE_CORRECT) {
			work[0]->status = gw_journal_correct_times(w->journal, work[0]->boot_id,
								   work[0]->offset, &work[0]->purged);
		} else {
			work[0]->status = gw_journal_set_meta(w->journal, work[0]->meta_name,
							      work[0]->meta_value);
		}

		uv_mutex_lock(&w->lock);
		if (requeue)
			queue_push(&w->todo, work[0]);
		else
			for (size_t i = 0; i < n; i++)
				queue_push(&w->done, work[i]);
		uv_mutex_unlock(&w->lock);
		if (!requeue)
			uv_async_send(&w->async);
	}
	free(batch);
	free(entries);
}

static void deliver_done(struct gw_writer *w)
{
	struct req_queue done;
	struct gw_write_req *r;

	uv_mutex_lock(&w->lock);
	done = w->done;
	w->done.head = w->done.tail = NULL;
	uv_mutex_unlock(&w->lock);
	while ((r = queue_pop(&done)) != NULL) {
		w->pending--;
		r->done(r);
	}
}

static void on_async(uv_async_t *handle)
{
	deliver_done(handle->data);
}

int gw_writer_start(struct gw_writer **out, uv_loop_t *loop, struct gw_journal *j,
		    unsigned max_group)
{
	struct gw_writer *w = calloc(1, sizeof *w);
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->journal = j;
	w->max_group = max_group ? max_group : 1;
	if ((rc = uv_mutex_init(&w->lock)) != 0) {
		free(w);
		return rc;
	}
	if ((rc = uv_cond_init(&w->wake)) != 0) {
		uv_mutex_destroy(&w->lock);
		free(w);
		return rc;
	}
	rc = uv_async_init(loop, &w->async, on_async);
	if (!rc) {
		w->async.data = w;
		rc = uv_thread_create(&w->thread, run_writer, w);
		if (rc)
			uv_close((uv_handle_t *)&w->async, NULL);
	}
	if (rc) {
		/* The async handle (if initialised) is closed; w must outlive
		 * the close, so it is leaked deliberately on this rare path. */
		uv_cond_destroy(&w->wake);
		uv_mutex_destroy(&w->lock);
		return rc;
	}
	*out = w;
	return 0;
}

void gw_writer_submit(struct gw_writer *w, struct gw_write_req *req)
{
	req->status = 0;
	req->duplicate = 0;
	req->purged = 0;
	req->purge_resume = 0;
	w->pending++;
	uv_mutex_lock(&w->lock);
	queue_push(&w->todo, req);
	uv_cond_signal(&w->wake);
	uv_mutex_unlock(&w->lock);
}

unsigned gw_writer_pending(const struct gw_writer *w)
{
	return w->pending;
}

static void on_writer_closed(uv_handle_t *handle)
{
	struct gw_writer *w = handle->data;

	uv_cond_destroy(&w->wake);
	uv_mutex_destroy(&w->lock);
	free(w);
}

void gw_writer_stop(struct gw_writer *w)
{
	if (!w)
		return;
	uv_mutex_lock(&w->lock);
	w->stopping = 1;
	uv_cond_signal(&w->wake);
	uv_mutex_unlock(&w->lock);
	uv_thread_join(&w->thread);
	deliver_done(w);
	/* A done callback may have submitted more after the thread left:
	 * answer those with -ECANCELED so each still completes exactly once
	 * (bounded: a callback that resubmits forever is cut off). */
	for (int round = 0; round < 100000 && w->todo.head; round++) {
		struct gw_write_req *r;

		uv_mutex_lock(&w->lock);
		r = queue_pop(&w->todo);
		if (r) {
			r->status = -ECANCELED;
			queue_push(&w->done, r);
		}
		uv_mutex_unlock(&w->lock);
		deliver_done(w);
	}
	uv_close((uv_handle_t *)&w->async, on_writer_closed);
}
