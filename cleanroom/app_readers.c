/*
 * app_readers.c: the service's read connections (app.h).
 *
 * The store's one writer connection is used under the store lock, one
 * thread at a time, and a consent batch or an ingest holds it for a
 * while. Token checks and read routes need none of that: in WAL mode a
 * second connection reads the last committed state while the writer
 * writes. Each reader here is a whole struct app (its own audit log
 * handle, consent context and importer cache, which are per connection
 * and not thread-safe) over a query_only connection; a thread takes one,
 * uses it alone and gives it back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/app.h"

struct app_readers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n, nfree;
	struct app **all;   /* n readers, owned */
	struct app **free;  /* a stack of nfree of them */
};

/* One reader over `a`'s database, sharing its keys. */
static cr_err reader_open(struct app *a, struct app **out)
{
	char why[AUDIT_MSG_MAX] = "";
	struct app *r = cr_xcalloc(1, sizeof(*r));
	cr_err rc;

	r->reader = true;
	r->keys = a->keys;
	r->data_dir = cr_xstrdup(a->data_dir);
	r->origin = cr_xstrdup(a->origin);
	app_signer_wire(r);
	rc = store_open_reader(a->store->path, &r->store);
	/* No signer: this handle refuses to append or checkpoint. */
	if (rc == CR_OK)
		rc = audit_log_open(r->store->db, r->origin, NULL, &r->log, why, sizeof(why));
	if (rc == CR_OK)
		rc = consent_ctx_new(r->store->db, &r->consent);
	if (rc == CR_OK)
		rc = app_clock_skew(r->consent);
	if (rc != CR_OK) {
		app_close(r);
		return rc;
	}
	*out = r;
	return CR_OK;
}

cr_err app_readers_open(struct app *a, unsigned n, struct app_readers **out)
{
	struct app_readers *p;
	cr_err rc = CR_OK;
	if (a == NULL || n == 0 || out == NULL)
		return CR_ERR_INVALID_ARG;
	p = cr_xcalloc(1, sizeof(*p));
	p->all = cr_xcalloc(n, sizeof(*p->all));
	p->free = cr_xcalloc(n, sizeof(*p->free));
	for (unsigned i = 0; i < n && rc == CR_OK; i++) {
		rc = reader_open(a, &p->all[i]);
		if (rc == CR_OK)
			p->free[p->nfree++] = p->all[p->n++];
	}
	if (rc != CR_OK || pthread_mutex_init(&p->mu, NULL) != 0 || pthread_cond_init(&p->cv, NULL) != 0) {
		for (unsigned i = 0; i < p->n; i++)
			app_close(p->all[i]);
		free(p->all);
		free(p->free);
		free(p);
		return rc != CR_OK ? rc : CR_ERR_INTERNAL;
	}
	*out = p;
	return CR_OK;
}

struct app *app_reader_take(struct app_readers *p)
{
	struct app *r;
	pthread_mutex_lock(&p->mu);
	while (p->nfree == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	r = p->free[--p->nfree];
	pthread_mutex_unlock(&p->mu);
	/* One read transaction for the whole use (app_reader_give ends it):
	 * every statement sees one snapshot, and WAL's shared-memory read
	 * lock, a mutex and fcntl calls, is taken once per use instead of
	 * once per statement; the consent caches filled meanwhile need no
	 * re-check (consent_ctx_snapshot). Should BEGIN fail, each statement
	 * still runs in a transaction of its own, and the caches check. */
	{
		sqlite3_stmt *begin = store_cached(r->store, "BEGIN");
		if (begin != NULL && sqlite3_step(begin) == SQLITE_DONE)
			consent_ctx_snapshot(r->consent, true);
		store_cached_done(begin);
	}
	return r;
}

void app_reader_give(struct app_readers *p, struct app *r)
{
	consent_ctx_snapshot(r->consent, false);
	store_reader_reset(r->store);
	pthread_mutex_lock(&p->mu);
	p->free[p->nfree++] = r;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void app_readers_close(struct app_readers *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n; i++)
		app_close(p->all[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->all);
	free(p->free);
	free(p);
}
