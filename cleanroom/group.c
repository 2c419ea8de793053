/*
 * group.c: group commit (see group.h). The group is one open BEGIN
 * IMMEDIATE transaction on the store's connection; a member's work is
 * SAVEPOINT member ... RELEASE member (or ROLLBACK TO), and the group ends
 * with one signed checkpoint and COMMIT.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "cleanroom/app.h"
#include "cleanroom/group.h"

struct app_group {
	struct app *a;                 /* borrowed */
	size_t max;
	unsigned window_us;
	/* under the store lock */
	bool open;                     /* the group's transaction is open */
	bool savepoint;                /* the joined member's savepoint is open */
	struct app_member *joined;     /* the lock holder, when it joined */
	struct app_member *members[APP_GROUP_MAX];
	size_t n;
	/* the committer: under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool due;                      /* a group opened since the last commit */
	bool stop;
	bool has_thread;
	pthread_t thread;
};

/* Tells every member of the group, which has just ended, how it ended. */
static void members_end(struct app_group *g, cr_err rc)
{
	for (size_t i = 0; i < g->n; i++) {
		struct app_member *m = g->members[i];
		m->rc = rc;
		m->done = true;
		if (m->wake != NULL)
			m->wake(m->wake_ctx);
	}
	g->n = 0;
}

/* Commits the open group and tells every member how it ended. */
static void group_commit(struct app *a)
{
	struct app_group *g = a->group;
	cr_err rc;
	if (!g->open)
		return;
	char *note = NULL;
	rc = audit_log_checkpoint(a->log, a->has_tip ? &note : NULL);
	if (rc == CR_OK)
		rc = store_commit(a->store);
	if (rc != CR_OK)
		store_rollback(a->store);
	if (rc == CR_OK)
		app_tip_after_commit(a, note);
	else
		free(note);
	g->open = false;
	if (rc == CR_OK) {
		atomic_fetch_add(&a->commit_groups, 1);
		atomic_fetch_add(&a->commit_members, g->n);
	}
	members_end(g, rc);
}

/* Every `window_us` after a group opens, takes the lock (which commits it). */
static void *committer(void *arg)
{
	struct app_group *g = arg;
	struct timespec d = { 0, (long)g->window_us * 1000L };
	for (;;) {
		pthread_mutex_lock(&g->mu);
		while (!g->due && !g->stop)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->stop) {
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
		g->due = false;
		pthread_mutex_unlock(&g->mu);
		while (nanosleep(&d, &d) != 0 && errno == EINTR)
			;
		d.tv_nsec = (long)g->window_us * 1000L;
		app_store_lock(g->a); /* not a member: commits the open group */
		app_store_unlock(g->a);
	}
}

cr_err app_group_start(struct app *a, unsigned window_us, size_t max)
{
	struct app_group *g;
	if (a == NULL || a->store_mutex == NULL || a->group != NULL || max == 0 ||
	    max > APP_GROUP_MAX || window_us >= 1000000u)
		return CR_ERR_INVALID_ARG;
	g = cr_xcalloc(1, sizeof(*g));
	g->a = a;
	g->max = max;
	g->window_us = window_us;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (window_us > 0) {
		if (pthread_create(&g->thread, NULL, committer, g) != 0) {
			pthread_cond_destroy(&g->cv);
			pthread_mutex_destroy(&g->mu);
			free(g);
			return CR_ERR_NOMEM;
		}
		g->has_thread = true;
	}
	app_store_lock(a);
	a->group = g;
	app_store_unlock(a);
	return CR_OK;
}

void app_group_stop(struct app *a)
{
	struct app_group *g = a ? a->group : NULL;
	if (g == NULL)
		return;
	if (g->has_thread) {
		pthread_mutex_lock(&g->mu);
		g->stop = true;
		pthread_cond_signal(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thread, NULL);
	}
	app_store_lock(a);
	group_commit(a);
	a->group = NULL;
	app_store_unlock(a);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

bool app_group_join(struct app *a, struct app_member *m)
{
	app_store_acquire(a);
	if (a->group == NULL)
		return false;
	a->group->joined = m;
	return true;
}

bool app_group_leave(struct app *a)
{
	struct app_group *g = a->group;
	struct app_member *m = g ? g->joined : NULL;
	if (m == NULL)
		return false;
	if (g->savepoint) {
		/* A handler that left its change half done: a bug, undone here. */
		m->left_open = true;
		(void)app_group_rollback(a);
	}
	g->joined = NULL;
	if (g->n >= g->max)
		group_commit(a);
	return m->registered && !m->done;
}

bool app_group_open(const struct app *a)
{
	return a->group != NULL && a->group->open;
}

bool app_group_begin(struct app *a, cr_err *rc)
{
	struct app_group *g = a->group;
	if (g == NULL || g->joined == NULL)
		return false;
	if (g->savepoint) {
		*rc = CR_ERR_INTERNAL; /* nested begin, as store_begin refuses it */
		return true;
	}
	if (!g->open) {
		*rc = store_begin(a->store);
		if (*rc != CR_OK)
			return true;
		g->open = true;
	}
	*rc = store_exec(a->store, "SAVEPOINT member");
	if (*rc != CR_OK) {
		if (g->n == 0) {
			store_rollback(a->store);
			g->open = false;
		}
		return true;
	}
	g->savepoint = true;
	return true;
}

bool app_group_commit(struct app *a, cr_err *rc)
{
	struct app_group *g = a->group;
	struct app_member *m = g ? g->joined : NULL;
	if (m == NULL || !g->savepoint)
		return false;
	*rc = store_exec(a->store, "RELEASE member");
	if (*rc != CR_OK) {
		(void)app_group_rollback(a);
		return true;
	}
	g->savepoint = false;
	if (!m->registered) {
		m->registered = true;
		g->members[g->n++] = m;
		if (g->n == 1 && g->has_thread) {
			pthread_mutex_lock(&g->mu);
			g->due = true;
			pthread_cond_signal(&g->cv);
			pthread_mutex_unlock(&g->mu);
		}
	}
	return true;
}

bool app_group_rollback(struct app *a)
{
	struct app_group *g = a->group;
	if (g == NULL || g->joined == NULL || !g->savepoint)
		return false;
	g->savepoint = false;
	if (store_exec(a->store, "ROLLBACK TO member") == CR_OK &&
	    store_exec(a->store, "RELEASE member") == CR_OK) {
		if (g->n == 0) { /* nothing else in the group: end it */
			store_rollback(a->store);
			g->open = false;
		}
		return true;
	}
	/* The savepoint cannot be undone alone: the whole group fails. */
	store_rollback(a->store);
	g->open = false;
	members_end(g, CR_ERR_STORE);
	return true;
}

void app_group_flush_foreign(struct app *a)
{
	if (a->group != NULL && a->group->joined == NULL)
		group_commit(a);
}
