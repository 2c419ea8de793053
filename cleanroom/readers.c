/*
 * readers.c: read connections for the consent gate on the worker pool
 * (readers.h).
 */
#include <string.h>
#include <unistd.h>

#include "cleanroom/readers.h"

/*
 * Opening a connection runs the store's pragmas before its busy timeout is
 * set, so a lock another connection holds for a moment can refuse it with
 * CR_ERR_STORE_BUSY; such an open is retried for up to about a second.
 */
static cr_err reader_open(struct app *a, struct reader *r)
{
	cr_err rc = CR_ERR_STORE_BUSY;
	for (int tries = 0; rc == CR_ERR_STORE_BUSY && tries < 100; tries++) {
		if (tries)
			usleep(10000);
		rc = store_open_reader(a->store->path, &r->store);
	}
	if (rc == CR_OK)
		rc = consent_ctx_new(r->store->db, &r->consent);
	if (rc != CR_OK)
		return rc;
	/* Not a copy of *a: its lock counters change under other threads. The
	 * gate needs the consent context; no lock (its own connection). */
	memset(&r->app, 0, sizeof(r->app));
	r->app.reader = true;
	r->app.keys = a->keys;
	r->app.store = r->store;
	r->app.consent = r->consent;
	registry_ingest_gate(&r->gstate, &r->app, &r->gate);
	/* one read snapshot for the whole use, and no per-statement locking */
	rc = store_exec(r->store, "BEGIN");
	if (rc == CR_OK)
		consent_ctx_snapshot(r->consent, true);
	return rc;
}

static void reader_close(struct reader *r)
{
	if (r->store && sqlite3_get_autocommit(r->store->db) == 0)
		(void)sqlite3_exec(r->store->db, "COMMIT", NULL, NULL, NULL);
	consent_ctx_free(r->consent);
	store_close(r->store);
	memset(r, 0, sizeof(*r));
}

cr_err readers_open(struct readers *rs, struct app *a, struct crypto_pool *pool)
{
	unsigned threads = crypto_pool_threads(pool);
	cr_err rc = CR_OK;
	memset(rs, 0, sizeof(*rs));
	if (pthread_mutex_init(&rs->lock, NULL) != 0)
		cr_die("pthread_mutex_init");
	for (rs->n = 0; rs->n < (threads > READERS_MAX ? READERS_MAX : threads) && rc == CR_OK; rs->n++)
		rc = reader_open(a, &rs->r[rs->n]);
	return rc;
}

void readers_close(struct readers *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		reader_close(&rs->r[i]);
	pthread_mutex_destroy(&rs->lock);
}

struct reader *readers_take(struct readers *rs)
{
	struct reader *r = NULL;
	pthread_mutex_lock(&rs->lock);
	for (size_t i = 0; i < rs->n && r == NULL; i++)
		if (!rs->taken[i]) {
			rs->taken[i] = true;
			r = &rs->r[i];
		}
	pthread_mutex_unlock(&rs->lock);
	if (r == NULL)
		cr_die("readers: more pool ranges than readers"); /* misuse */
	return r;
}

void readers_put(struct readers *rs, struct reader *r)
{
	pthread_mutex_lock(&rs->lock);
	rs->taken[r - rs->r] = false;
	pthread_mutex_unlock(&rs->lock);
}
