/*
 * http_metrics.c: request counters and latency histograms for /metrics.
 *
 * Every worker thread records into the same counters, so they are C11
 * atomics with relaxed ordering: a scrape may see one request counted in
 * its total a moment before its bucket, which Prometheus tolerates, and no
 * thread ever waits for another. Statuses are kept in a fixed set of slots
 * (plus "other") so memory stays bounded whatever a client sends.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanroom/http.h"

static const unsigned status_slots[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503,
};
#define STATUS_SLOTS (sizeof(status_slots) / sizeof(status_slots[0]))
#define STATUS_OTHER STATUS_SLOTS /* the slot after the listed ones */

/* Upper bounds of the latency buckets, in microseconds (then +Inf). */
static const uint64_t bucket_us[] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
};
#define BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct route_counters {
	atomic_uint_fast64_t by_status[STATUS_SLOTS + 1];
	atomic_uint_fast64_t buckets[BUCKETS + 1]; /* not cumulative; +Inf last */
	atomic_uint_fast64_t sum_us;
	atomic_uint_fast64_t count;
};

struct http_metrics {
	size_t n_routes;
	struct route_counters *routes; /* n_routes + 1 (unmatched) */
};

struct http_metrics *http_metrics_new(size_t n_routes)
{
	struct http_metrics *m = cr_xcalloc(1, sizeof(*m));
	m->n_routes = n_routes;
	m->routes = cr_xcalloc(n_routes + 1, sizeof(*m->routes));
	for (size_t r = 0; r <= n_routes; r++) {
		struct route_counters *c = &m->routes[r];
		for (size_t i = 0; i <= STATUS_SLOTS; i++)
			atomic_init(&c->by_status[i], 0);
		for (size_t i = 0; i <= BUCKETS; i++)
			atomic_init(&c->buckets[i], 0);
		atomic_init(&c->sum_us, 0);
		atomic_init(&c->count, 0);
	}
	return m;
}

void http_metrics_free(struct http_metrics *m)
{
	if (m == NULL)
		return;
	free(m->routes);
	free(m);
}

/* The counter slot of a status; unlisted ones share STATUS_OTHER. */
static size_t status_slot(unsigned status)
{
	for (size_t i = 0; i < STATUS_SLOTS; i++)
		if (status_slots[i] == status)
			return i;
	return STATUS_OTHER;
}

/* The first bucket whose bound holds `us` (BUCKETS: +Inf). */
static size_t bucket_of(uint64_t us)
{
	size_t b = 0;
	while (b < BUCKETS && us > bucket_us[b])
		b++;
	return b;
}

void http_metrics_record(struct http_metrics *m, size_t route_index, unsigned status,
			 uint64_t duration_us)
{
	struct route_counters *c;
	if (route_index > m->n_routes)
		route_index = m->n_routes;
	c = &m->routes[route_index];
	atomic_fetch_add_explicit(&c->by_status[status_slot(status)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->buckets[bucket_of(duration_us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->sum_us, duration_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->count, 1, memory_order_relaxed);
}

/* A relaxed read of one counter. */
static uint64_t load(const atomic_uint_fast64_t *a)
{
	return atomic_load_explicit((atomic_uint_fast64_t *)a, memory_order_relaxed);
}

/* cleanroom_http_requests_total lines of one route, for statuses seen. */
static void render_requests(FILE *f, const struct route_counters *c, const char *route)
{
	for (size_t i = 0; i <= STATUS_SLOTS; i++) {
		uint64_t v = load(&c->by_status[i]);
		if (v == 0)
			continue;
		if (i == STATUS_OTHER)
			fprintf(f, "cleanroom_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
				route, (unsigned long long)v);
		else
			fprintf(f, "cleanroom_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
				route, status_slots[i], (unsigned long long)v);
	}
}

/* The cumulative histogram, sum and count of one route. */
static void render_latency(FILE *f, const struct route_counters *c, const char *route)
{
	uint64_t cum = 0;
	for (size_t b = 0; b < BUCKETS; b++) {
		cum += load(&c->buckets[b]);
		fprintf(f, "cleanroom_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			route, (double)bucket_us[b] / 1e6, (unsigned long long)cum);
	}
	cum += load(&c->buckets[BUCKETS]);
	fprintf(f, "cleanroom_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
		route, (unsigned long long)cum);
	fprintf(f, "cleanroom_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
		route, (double)load(&c->sum_us) / 1e6);
	fprintf(f, "cleanroom_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		route, (unsigned long long)load(&c->count));
}

/* Route labels are patterns from our own table: no quotes or backslashes to escape. */
static const char *route_label(const struct http_route *routes, size_t n, size_t i)
{
	return i < n ? routes[i].pattern : "unmatched";
}

char *http_metrics_render(const struct http_metrics *m, const struct http_route *routes,
			  size_t n_routes, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	size_t n = n_routes < m->n_routes ? n_routes : m->n_routes;

	if (f == NULL)
		cr_die("http: open_memstream");
	fputs("# HELP cleanroom_http_requests_total HTTP requests by route pattern and status.\n"
	      "# TYPE cleanroom_http_requests_total counter\n", f);
	for (size_t i = 0; i <= n; i++)
		render_requests(f, &m->routes[i == n ? m->n_routes : i], route_label(routes, n, i));
	fputs("# HELP cleanroom_http_request_duration_seconds Time from request start to completion.\n"
	      "# TYPE cleanroom_http_request_duration_seconds histogram\n", f);
	for (size_t i = 0; i <= n; i++)
		render_latency(f, &m->routes[i == n ? m->n_routes : i], route_label(routes, n, i));
	if (fclose(f) != 0 || buf == NULL)
		cr_die("http: rendering metrics");
	*len = size;
	return buf;
}
