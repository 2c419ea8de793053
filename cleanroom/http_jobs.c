/*
 * http_jobs.c: the threads that run the service's long requests.
 *
 * libmicrohttpd's worker threads each serve many connections; a handler
 * that runs for seconds (a consent batch, an ingest upload, a match round)
 * on one of them would stall every other connection that thread serves,
 * whoever they belong to. Such routes (http_route.slow) are handed to
 * this pool instead: the connection is suspended, a job thread runs the
 * handler and resumes it. The queue is fair between tenants: a job starts
 * only while its tenant runs fewer than `per_tenant` jobs, so one brand
 * sending many batches at once leaves threads for the others.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/http.h"

struct job {
	struct job *next;
	char tenant[AUTH_TENANT_MAX + 1];
	void (*fn)(void *ctx);
	void *ctx;
};

struct running {
	char tenant[AUTH_TENANT_MAX + 1];
	unsigned n;
};

struct http_jobs {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, **tail;  /* FIFO of jobs not started */
	struct running *running;   /* one slot per thread: tenants with jobs running */
	unsigned threads, per_tenant;
	bool stop;
	pthread_t *tid;
};

/* The slot counting `tenant`'s running jobs, or a free one (n == 0). */
static struct running *running_slot(struct http_jobs *j, const char *tenant)
{
	struct running *empty = NULL;
	for (unsigned i = 0; i < j->threads; i++) {
		if (j->running[i].n > 0 && strcmp(j->running[i].tenant, tenant) == 0)
			return &j->running[i];
		if (j->running[i].n == 0 && empty == NULL)
			empty = &j->running[i];
	}
	return empty; /* never NULL: at most `threads` jobs run */
}

/* Unlinks and returns the oldest job whose tenant is under its share, or NULL. */
static struct job *next_job(struct http_jobs *j)
{
	for (struct job **pp = &j->head; *pp != NULL; pp = &(*pp)->next) {
		struct job *job = *pp;
		if (running_slot(j, job->tenant)->n >= j->per_tenant)
			continue;
		*pp = job->next;
		if (*pp == NULL)
			j->tail = pp;
		return job;
	}
	return NULL;
}

static void *job_loop(void *arg)
{
	struct http_jobs *j = arg;
	pthread_mutex_lock(&j->mu);
	for (;;) {
		struct job *job = next_job(j);
		struct running *slot;
		if (job == NULL) {
			if (j->stop && j->head == NULL)
				break;
			pthread_cond_wait(&j->cv, &j->mu);
			continue;
		}
		slot = running_slot(j, job->tenant);
		memcpy(slot->tenant, job->tenant, sizeof(slot->tenant));
		slot->n++;
		pthread_mutex_unlock(&j->mu);
		job->fn(job->ctx);
		pthread_mutex_lock(&j->mu);
		slot->n--;
		free(job);
		/* A tenant's share opened up: a queued job of it may start on
		 * another thread (this one looks at the queue itself next). */
		if (j->head != NULL)
			pthread_cond_signal(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

struct http_jobs *http_jobs_new(unsigned threads, unsigned per_tenant)
{
	struct http_jobs *j = cr_xcalloc(1, sizeof(*j));
	if (threads == 0)
		threads = 1;
	j->threads = threads;
	j->per_tenant = per_tenant == 0 ? 1 : per_tenant;
	j->tail = &j->head;
	j->running = cr_xcalloc(threads, sizeof(*j->running));
	j->tid = cr_xcalloc(threads, sizeof(*j->tid));
	if (pthread_mutex_init(&j->mu, NULL) != 0 || pthread_cond_init(&j->cv, NULL) != 0)
		cr_die("http: job pool");
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&j->tid[i], NULL, job_loop, j) != 0)
			cr_die("http: job thread");
	return j;
}

void http_jobs_submit(struct http_jobs *j, const char *tenant, void (*fn)(void *ctx), void *ctx)
{
	struct job *job = cr_xcalloc(1, sizeof(*job));
	snprintf(job->tenant, sizeof(job->tenant), "%s", tenant ? tenant : "");
	job->fn = fn;
	job->ctx = ctx;
	pthread_mutex_lock(&j->mu);
	*j->tail = job;
	j->tail = &job->next;
	/* One idle thread: any of them can take any job that may start, so
	 * waking them all (the write pool has 16) only makes them queue for
	 * the mutex and go back to sleep. */
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

void http_jobs_free(struct http_jobs *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->mu);
	j->stop = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	for (unsigned i = 0; i < j->threads; i++)
		pthread_join(j->tid[i], NULL);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->running);
	free(j->tid);
	free(j);
}
