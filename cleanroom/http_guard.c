/*
 * http_guard.c: connections against exhaustion. libmicrohttpd caps
 * connections in total and per exact address; this adds what it lacks:
 *
 *   - a cap per address range (IPv4 /24, IPv6 /64), so a client with many
 *     addresses of one network cannot take every connection;
 *   - a deadline for a request's headers, from the connection's accept (or,
 *     on a kept-alive connection, the idle timeout from the end of its
 *     previous request), so a client that sends one header
 *     line every few seconds (slowloris) or nothing at all is cut off, not
 *     held until the idle timeout that each line resets;
 *   - a share of the connections kept for authenticated clients: those that
 *     have not yet shown a valid token are held to `anon_max`; past it a
 *     new connection takes the place of the oldest of them that is waiting
 *     for a request (idle, or sending its headers slowly), or is cut itself
 *     if every one of them is being answered. A connection that has shown a
 *     token is never evicted, so a flood of connections from many networks
 *     leaves the rest (total limit minus anon_max) to the service's users.
 *
 * A watchdog thread checks the deadlines every 200 ms and shuts the socket
 * down (libmicrohttpd then sees the end of the stream and closes it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "cleanroom/http.h"

struct http_guard_conn {
	struct http_guard_conn *prev, *next;
	uint8_t range[9];                /* the address range's key: family, then prefix */
	int fd;
	atomic_bool in_headers;          /* waiting for a request's headers */
	atomic_int_least64_t since_ms;   /* since when */
	atomic_bool authed;              /* a request on it showed a valid token */
	bool cut;
};

struct http_guard {
	pthread_mutex_t lock;
	struct http_guard_conn *head;
	unsigned per_range;              /* 0: no cap */
	unsigned anon_max;               /* connections without a token yet (0: no cap) */
	int64_t header_ms;               /* 0: no deadline */
	int64_t keepalive_ms;            /* the deadline after a completed request */
	pthread_t watchdog;
	bool running;
	atomic_bool stop;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The range key of an address: IPv4 (or IPv4-mapped IPv6) /24, IPv6 /64. */
static void range_key(const struct sockaddr *sa, uint8_t key[9])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	memset(key, 0, 9);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		key[0] = 4;
		memcpy(key + 1, &in->sin_addr, 3);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (memcmp(in6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, in6->sin6_addr.s6_addr + 12, 3);
		} else {
			key[0] = 6;
			memcpy(key + 1, in6->sin6_addr.s6_addr, 8);
		}
	}
}

static void *watchdog_main(void *arg)
{
	struct http_guard *g = arg;
	const struct timespec tick = { 0, 200 * 1000 * 1000 };
	while (!atomic_load(&g->stop)) {
		int64_t now = now_ms();
		pthread_mutex_lock(&g->lock);
		for (struct http_guard_conn *c = g->head; c != NULL; c = c->next)
			if (!c->cut && atomic_load(&c->in_headers) &&
			    now - atomic_load(&c->since_ms) > g->header_ms) {
				shutdown(c->fd, SHUT_RDWR);
				c->cut = true;
			}
		pthread_mutex_unlock(&g->lock);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

struct http_guard *http_guard_new(unsigned per_range, unsigned header_timeout_s, unsigned keepalive_s,
				  unsigned anon_max)
{
	struct http_guard *g = cr_xcalloc(1, sizeof(*g));
	if (pthread_mutex_init(&g->lock, NULL) != 0)
		cr_die("http: pthread_mutex_init");
	g->per_range = per_range;
	g->anon_max = anon_max;
	g->header_ms = (int64_t)header_timeout_s * 1000;
	g->keepalive_ms = (int64_t)keepalive_s * 1000 > g->header_ms ? (int64_t)keepalive_s * 1000 : g->header_ms;
	atomic_init(&g->stop, false);
	if (g->header_ms > 0) {
		if (pthread_create(&g->watchdog, NULL, watchdog_main, g) != 0)
			cr_die("http: cannot start the connection watchdog");
		g->running = true;
	}
	return g;
}

void http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	atomic_store(&g->stop, true);
	if (g->running)
		pthread_join(g->watchdog, NULL);
	while (g->head != NULL) {
		struct http_guard_conn *c = g->head;
		g->head = c->next;
		free(c);
	}
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* True if the range `key` has room for one more connection. Lock held. */
static bool room_locked(const struct http_guard *g, const uint8_t key[9])
{
	unsigned n = 0;
	if (g->per_range == 0)
		return true;
	for (const struct http_guard_conn *c = g->head; c != NULL && n < g->per_range; c = c->next)
		n += !c->cut && memcmp(c->range, key, sizeof(c->range)) == 0;
	return n < g->per_range;
}

bool http_guard_admit(struct http_guard *g, const struct sockaddr *addr)
{
	uint8_t key[9];
	bool room;
	range_key(addr, key);
	pthread_mutex_lock(&g->lock);
	room = room_locked(g, key);
	pthread_mutex_unlock(&g->lock);
	return room;
}

/*
 * Room among the connections without a token for one more: if they are at
 * anon_max, the oldest of them waiting for a request is cut (true), else
 * there is none to give way (false). Lock held.
 */
static bool anon_room_locked(struct http_guard *g)
{
	struct http_guard_conn *oldest = NULL;
	unsigned n = 0;
	if (g->anon_max == 0)
		return true;
	/* Newest first: the last waiting one met is the oldest. */
	for (struct http_guard_conn *c = g->head; c != NULL; c = c->next) {
		if (c->cut || atomic_load(&c->authed))
			continue;
		n++;
		if (atomic_load(&c->in_headers))
			oldest = c;
	}
	if (n < g->anon_max)
		return true;
	if (oldest == NULL)
		return false;
	shutdown(oldest->fd, SHUT_RDWR);
	oldest->cut = true;
	return true;
}

struct http_guard_conn *http_guard_open(struct http_guard *g, const struct sockaddr *addr, int fd)
{
	struct http_guard_conn *c = cr_xcalloc(1, sizeof(*c));
	range_key(addr, c->range);
	c->fd = fd;
	atomic_init(&c->in_headers, true);
	atomic_init(&c->since_ms, now_ms());
	atomic_init(&c->authed, false);
	pthread_mutex_lock(&g->lock);
	/* Two accepts of one range may race past http_guard_admit: the later
	 * one is cut at once (counted and inserted in one step). */
	if (!room_locked(g, c->range) || !anon_room_locked(g)) {
		shutdown(fd, SHUT_RDWR);
		c->cut = true;
	}
	c->next = g->head;
	if (g->head != NULL)
		g->head->prev = c;
	g->head = c;
	pthread_mutex_unlock(&g->lock);
	return c;
}

void http_guard_close(struct http_guard *g, struct http_guard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
}

void http_guard_authenticated(struct http_guard_conn *c)
{
	if (c != NULL)
		atomic_store(&c->authed, true);
}

void http_guard_headers_done(struct http_guard_conn *c)
{
	if (c != NULL)
		atomic_store(&c->in_headers, false);
}

void http_guard_request_done(struct http_guard *g, struct http_guard_conn *c)
{
	if (c == NULL)
		return;
	/* A kept-alive connection waits for its next request as long as the
	 * idle timeout allows (a client between two rounds of a match). */
	atomic_store(&c->since_ms, now_ms() + (g->keepalive_ms - g->header_ms));
	atomic_store(&c->in_headers, true);
}
