/*
 * store_wal.c: WAL checkpoints off the writer's path, for the service.
 *
 * With the writer checkpointing itself (wal_autocheckpoint), one COMMIT in
 * every few thousand copies the whole WAL into the database file and
 * fsyncs it while holding the store lock, and every request queued behind
 * it waits: that was the long tail of `make load`. Here a thread with its
 * own connection runs PASSIVE checkpoints every interval; they never block
 * the writer, and the writer's own threshold is raised to a safety net
 * (the WAL cannot grow without bound if the thread falls behind).
 * Durability is unchanged: every COMMIT is still fsynced in the WAL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cleanroom/store.h"

/* The writer's own threshold while the thread runs, and after (pages). */
#define WAL_SAFETY_PAGES "100000"
#define WAL_WRITER_PAGES "10000"

struct store_checkpointer {
	struct store *s;       /* borrowed */
	sqlite3 *db;           /* owned: the checkpointing connection */
	unsigned interval_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	pthread_t thread;
	uint64_t runs;
};

static void *checkpoint_loop(void *arg)
{
	struct store_checkpointer *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += c->interval_ms / 1000u;
		t.tv_nsec += (long)(c->interval_ms % 1000u) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&c->cv, &c->mu, &t);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mu);
		/* BUSY (another checkpoint running) is fine: the next turn catches up. */
		(void)sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
		c->runs++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

cr_err store_checkpointer_start(struct store *s, unsigned interval_ms, struct store_checkpointer **out)
{
	struct store_checkpointer *c;
	if (s == NULL || out == NULL || interval_ms == 0)
		return CR_ERR_INVALID_ARG;
	c = cr_xcalloc(1, sizeof(*c));
	c->s = s;
	c->interval_ms = interval_ms;
	if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    store_exec(s, "PRAGMA wal_autocheckpoint=" WAL_SAFETY_PAGES) != CR_OK) {
		sqlite3_close_v2(c->db);
		free(c);
		return CR_ERR_STORE;
	}
	sqlite3_busy_timeout(c->db, 100);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, checkpoint_loop, c) != 0) {
		(void)sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=" WAL_WRITER_PAGES, NULL, NULL, NULL);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close_v2(c->db);
		free(c);
		return CR_ERR_NOMEM;
	}
	*out = c;
	return CR_OK;
}

uint64_t store_checkpointer_runs(struct store_checkpointer *c)
{
	uint64_t n;
	pthread_mutex_lock(&c->mu);
	n = c->runs;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void store_checkpointer_stop(struct store_checkpointer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	(void)sqlite3_exec(c->s->db, "PRAGMA wal_autocheckpoint=" WAL_WRITER_PAGES, NULL, NULL, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close_v2(c->db);
	free(c);
}
