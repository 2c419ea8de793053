/*
 * http.c: the HTTP server around libmicrohttpd.
 *
 * One request goes through three steps, each a function below:
 *   begin  (headers received) find the route (404/405), check the bearer
 *          token against the route's roles (401/403) and the announced
 *          Content-Length against the route's maximum (413), so a caller
 *          who may not use a route cannot make the server read its body;
 *   body   accumulate the body, never past the route's maximum;
 *   finish call the route's handler and queue its reply or its JSON error.
 * When libmicrohttpd is done with the request, completion records metrics
 * and writes one access-log line: method, route pattern, status, duration,
 * role and tenant; never the raw path, the client address, a token or a
 * body.
 *
 * The store has one writer connection, used under one mutex by the
 * handlers of HTTP_STORE_WRITE routes; token checks and HTTP_STORE_READ
 * handlers run on read connections (app_readers) and never take it.
 * Anything a handler leaves open in the store is rolled back before the reply
 * goes out, so a failed request leaves nothing partial behind (I7).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "cleanroom/http.h"
#include "cleanroom/psi_session.h"
#include "cleanroom/spool.h"

/* A client that keeps sending past its route's maximum is cut off after this. */
#define DISCARD_MAX (1u << 20)
/* Threads for short writes (half of them for any one tenant). */
#define WRITE_THREADS 16u
/* How often the service checkpoints the WAL, off the writer (store_wal.c). */
#define WAL_CHECKPOINT_MS 1000
/* TLS 1.3, and TLS 1.2 with forward-secret key exchange and AEAD ciphers only. */
#define TLS_AEAD_ONLY "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:"
#define TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" TLS_AEAD_ONLY "-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;                 /* borrowed */
	const struct http_route *routes; /* borrowed */
	size_t n_routes;
	struct http_metrics *metrics;
	pthread_mutex_t store_lock;
	struct app_readers *readers;     /* owned: token checks and read routes */
	struct http_jobs *jobs;          /* owned: slow routes' handlers */
	struct http_jobs *writes;        /* owned: short writes' handlers */
	struct store_checkpointer *wal;  /* owned: WAL checkpoints off the writer */
	FILE *log;                       /* borrowed */
	atomic_bool stopping;
	atomic_uint in_flight;
	struct http_ratelimit *rate;     /* NULL: no per-token limit */
	struct http_ratelimit *web_rate; /* public web routes, per client address */
	uint8_t client_key[crypto_shorthash_KEYBYTES]; /* keys client addresses for web_rate */
	struct psi_sessions *sessions;   /* borrowed (cfg) */
	struct crypto_pool *pool;        /* borrowed (cfg) */
	struct http_route *own_routes;   /* a copy with /metrics public, or NULL */
	struct http_guard *guard;        /* owned: range caps and header deadlines */
	atomic_size_t spooled;           /* upload bytes on disk now, every request */
	size_t spool_max;                /* cap on them (0: none) */
	uint64_t disk_floor;             /* free bytes a spooled upload must leave */
	bool tls;
};

/* One request's state, from its headers to its completion. */
struct http_conn {
	struct http_server *srv;
	const char *method;              /* static label for the log */
	const struct http_route *route;  /* NULL until matched */
	struct http_params params;
	struct auth_token_info who;
	bool authed;                     /* `who` is filled (also on 403) */
	uint8_t *body;                   /* owned; wiped when freed */
	size_t len, cap;
	FILE *upload;                    /* spool routes: owned, unnamed 0600 file */
	bool too_large, io_error;
	bool storage_full;               /* the spool cap was reached: 507 */
	uint64_t announced;              /* Content-Length (0 if none), set by length_check */
	size_t spooled;                  /* bytes this request counts in srv->spooled */
	size_t discarded;
	cr_err refused;                  /* decided on the headers, answered once the small body is drained */
	unsigned retry_after_s;          /* for a 429 */
	bool replied;
	unsigned status;
	uint64_t start_us;
	struct app_member member;        /* a group route's place in its commit group */
	bool parked;                     /* suspended until its group commits or its job ends */
	struct MHD_Connection *mc;       /* for its job */
	bool in_job;                     /* its handler runs on a job thread, the connection suspended */
	struct http_reply parked_rep;    /* the handler's reply meanwhile */
	cr_err parked_rc;
};

/* Microseconds on the monotonic clock, for durations. */
static uint64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Methods are logged from this list only, so a client cannot write into the log. */
static const char *method_label(const char *m)
{
	static const char *const known[] = { "GET", "POST", "PUT", "PATCH", "DELETE",
					     "HEAD", "OPTIONS" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "OTHER";
}

/* ------------------------------------------------------------- replying */

/* Headers every reply carries, plus those its status requires (RFC 6750, RFC 9110). */
static void reply_headers(struct http_conn *c, struct MHD_Response *r, const struct http_reply *rep,
			  const char *path)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	/* The pages load only their own files and run no inline script. */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; script-src 'self'; style-src 'self'; "
				"img-src 'self'; connect-src 'self'; object-src 'none'; "
				"base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (c->srv->tls)
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
	if (rep->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (rep->status == MHD_HTTP_TOO_MANY_REQUESTS) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%u", c->retry_after_s ? c->retry_after_s : 1);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	if (rep->status == MHD_HTTP_METHOD_NOT_ALLOWED && path != NULL) {
		char allow[128];
		http_route_allow(c->srv->routes, c->srv->n_routes, path, allow, sizeof(allow));
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	}
	if (atomic_load(&c->srv->stopping))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* Queues `rep` (its body is handed to libmicrohttpd). */
static enum MHD_Result reply_queue(struct http_conn *c, struct MHD_Connection *mc,
				   struct http_reply *rep, const char *path)
{
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(
		rep->len, rep->body, http_secure_free);
	enum MHD_Result ret;
	if (r == NULL)
		cr_die("http: cannot create a response");
	rep->body = NULL;
	reply_headers(c, r, rep, path);
	ret = MHD_queue_response(mc, rep->status, r);
	MHD_destroy_response(r);
	c->replied = true;
	c->status = rep->status;
	return ret;
}

/* Queues the JSON error for `e`; `path` is for a 405's Allow header. */
static enum MHD_Result reply_error(struct http_conn *c, struct MHD_Connection *mc, cr_err e,
				   const char *path)
{
	struct http_reply rep = { 0 };
	http_reply_error(&rep, e);
	return reply_queue(c, mc, &rep, path);
}

/* ------------------------------------------------------- request: begin */

/* 401 without or with a bad token, 403 for a role the route does not admit. */
static cr_err authenticate(struct http_conn *c, struct MHD_Connection *mc)
{
	const char *hdr = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_AUTHORIZATION);
	const union MHD_ConnectionInfo *guard_ctx;
	const char *token = NULL;
	size_t len = 0;
	struct app *r;
	cr_err rc = auth_bearer_parse(hdr, &token, &len);
	if (rc != CR_OK)
		return rc;
	r = app_reader_take(c->srv->readers);
	rc = auth_token_verify(r->store, token, len, &c->who);
	app_reader_give(c->srv->readers, r);
	if (rc != CR_OK)
		return rc;
	c->authed = true;
	guard_ctx = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (guard_ctx != NULL)
		http_guard_authenticated(guard_ctx->socket_context);
	rc = http_request_admit(c->route, &c->who, NULL, NULL);
	if (rc != CR_OK)
		return rc;
	if (c->srv->rate == NULL)
		return CR_OK;
	return http_ratelimit_take(c->srv->rate, c->who.id, monotonic_us(), &c->retry_after_s);
}

/*
 * What the headers already decide, before the first body byte is accepted,
 * so a refused upload never reaches the disk: a brand route's tenant (as
 * api_brand_scope) and a session's owner (as api_sessions.c). The handler
 * decides again with the store; this only refuses earlier.
 */
static cr_err early_scope(const struct http_conn *c)
{
	if (!c->authed)
		return CR_OK;
	return http_request_admit(c->route, &c->who, &c->params, c->srv->sessions);
}

cr_err http_request_admit(const struct http_route *route, const struct auth_token_info *who,
			  const struct http_params *params, struct psi_sessions *sessions)
{
	const char *brand = http_params_get(params, "brand"), *sid = http_params_get(params, "session");
	char actor[32];
	if (who == NULL)
		return route->roles == HTTP_PUBLIC ? CR_OK : CR_ERR_AUTH_MISSING;
	if (route->roles != HTTP_PUBLIC && !(route->roles & (unsigned)who->role))
		return CR_ERR_AUTH_FORBIDDEN;
	if (brand != NULL && !auth_may_act_on(who, brand))
		return CR_ERR_AUTH_TENANT;
	if (sid != NULL && sessions != NULL) {
		psi_session_token_actor(who->id, actor, sizeof(actor));
		if (!psi_sessions_owned(sessions, sid, actor))
			return CR_ERR_PSI_SESSION_NOT_FOUND;
	}
	return CR_OK;
}

/*
 * CR_ERR_HTTP_STORAGE, answered before the body, if the announced body does
 * not fit under the server's spool cap now or would leave less than the
 * floor free on the data disk. (A body without a length is held to the cap
 * as it arrives: body_append.)
 */
static cr_err disk_check(const struct http_conn *c)
{
	uint64_t announced = c->announced, avail;
	size_t used;
	struct statvfs st;
	used = atomic_load(&c->srv->spooled);
	if (c->srv->spool_max > 0 && (used >= c->srv->spool_max || announced > c->srv->spool_max - used))
		return CR_ERR_HTTP_STORAGE;
	if (c->srv->disk_floor == 0)
		return CR_OK;
	if (statvfs(c->srv->app->data_dir, &st) != 0)
		return CR_ERR_IO;
	avail = (uint64_t)st.f_bavail * st.f_frsize;
	if (avail < c->srv->disk_floor || avail - c->srv->disk_floor < announced)
		return CR_ERR_HTTP_STORAGE;
	return CR_OK;
}

/* Reads Content-Length into c->announced; CR_ERR_TOO_LARGE if it exceeds the route's maximum. */
static cr_err length_check(struct http_conn *c, struct MHD_Connection *mc)
{
	const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;
	if (cl == NULL)
		return CR_OK;
	if (cr_parse_u64(cl, 0, UINT64_MAX, &n) != CR_OK)
		return CR_ERR_PARSE;
	c->announced = n;
	if (n <= c->route->max_body)
		return CR_OK;
	if (n - c->route->max_body <= DISCARD_MAX) {
		/* A little too large: read and drop the body, then answer 413, so
		 * a client still sending does not see the connection reset
		 * before it can read the answer. */
		c->too_large = true;
		return CR_OK;
	}
	return CR_ERR_TOO_LARGE;
}

/*
 * Headers received: route, token and announced length are checked before any
 * body byte is read; a refusal is queued at once (libmicrohttpd then skips
 * the body and closes the connection), except a body at most DISCARD_MAX
 * over the route's limit, which is drained and then answered 413.
 */
/* What header_check learns of the headers. */
struct header_scan {
	unsigned content_length, transfer_encoding;
	bool nul;
};

static enum MHD_Result header_scan_one(void *cls, enum MHD_ValueKind kind, const char *key,
				       size_t key_size, const char *value, size_t value_size)
{
	struct header_scan *h = cls;
	(void)kind;
	if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size))
		h->nul = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		h->content_length++;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		h->transfer_encoding++;
	return MHD_YES;
}

/*
 * Refuses what two parsers could read differently (RFC 9112 6.3): more than
 * one Content-Length, Content-Length beside Transfer-Encoding, more than one
 * Transfer-Encoding; and a NUL byte in a header, which libmicrohttpd would
 * cut silently. A proxy in front must not see another request than we do.
 */
static cr_err header_check(struct MHD_Connection *mc)
{
	struct header_scan h = { 0 };
	MHD_get_connection_values_n(mc, MHD_HEADER_KIND, header_scan_one, &h);
	if (h.nul || h.content_length > 1 || h.transfer_encoding > 1 ||
	    (h.content_length > 0 && h.transfer_encoding > 0))
		return CR_ERR_HTTP_HEADER;
	return CR_OK;
}

/*
 * A refusal decided on the headers. libmicrohttpd answers it at once and then
 * closes the connection without reading the body, and a client still sending
 * one can see the connection reset before it reads the answer. So a request
 * that announces a small body (at most DISCARD_MAX) and did not ask "Expect:
 * 100-continue" has its body read and dropped (never stored) and is answered
 * after it; a larger or chunked one is answered at once, as a client sending
 * that much should wait for 100-continue (curl does past 1 MiB).
 */
static enum MHD_Result refuse(struct http_conn *c, struct MHD_Connection *mc, cr_err rc, const char *url)
{
	const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *expect = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	uint64_t n = 0;
	if (rc != CR_ERR_HTTP_HEADER && cl != NULL && cr_parse_u64(cl, 1, DISCARD_MAX, &n) == CR_OK &&
	    expect == NULL) {
		c->refused = rc;
		return MHD_YES;
	}
	return reply_error(c, mc, rc, url);
}

static enum MHD_Result request_begin(struct http_conn *c, struct MHD_Connection *mc,
				     const char *url, const char *method)
{
	const struct http_route *route = NULL;
	cr_err rc = header_check(mc);
	if (rc == CR_OK)
		rc = http_route_find(c->srv->routes, c->srv->n_routes, method, url, &route, &c->params);
	if (rc != CR_OK)
		return refuse(c, mc, rc, url);
	c->route = route;
	if (route->roles != HTTP_PUBLIC) {
		rc = authenticate(c, mc);
		if (rc != CR_OK)
			return refuse(c, mc, rc, url);
	}
	rc = early_scope(c);
	if (rc == CR_OK)
		rc = length_check(c, mc);
	if (rc == CR_OK && route->spool)
		rc = disk_check(c);
	if (rc != CR_OK)
		return refuse(c, mc, rc, url);
	if (route->spool) {
		c->upload = spool_open(c->srv->app->data_dir);
		if (c->upload == NULL)
			return reply_error(c, mc, CR_ERR_IO, url);
	}
	return MHD_YES;
}

/* -------------------------------------------------------- request: body */

/*
 * Appends a piece of body. Past the route's maximum (a chunked body announces
 * no length) the rest is discarded and 413 answered at the end; a client that
 * still sends DISCARD_MAX bytes more is cut off (MHD_NO closes the connection).
 */
static enum MHD_Result body_append(struct http_conn *c, const char *data, size_t n)
{
	if (c->replied)
		return MHD_YES;
	if (c->refused != CR_OK) {
		c->discarded += n;
		return c->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (c->too_large || n > c->route->max_body - c->len) {
		c->too_large = true;
		c->discarded += n;
		return c->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (c->upload != NULL) {
		/* Spooled to disk as it arrives: memory stays flat whatever the size,
		 * and the bytes every request has spooled stay under the server's cap. */
		if (c->storage_full || (c->srv->spool_max > 0 &&
					atomic_fetch_add(&c->srv->spooled, n) + n > c->srv->spool_max)) {
			if (!c->storage_full && c->srv->spool_max > 0)
				atomic_fetch_sub(&c->srv->spooled, n);
			c->storage_full = true;
			c->discarded += n;
			return c->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		c->spooled += c->srv->spool_max > 0 ? n : 0;
		if (!c->io_error && fwrite(data, 1, n, c->upload) != n)
			c->io_error = true;
		c->len += n;
		return MHD_YES;
	}
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + n)
			cap *= 2;
		if (cap > c->route->max_body)
			cap = c->route->max_body;
		uint8_t *b = cr_xmalloc(cap);
		if (c->len)
			memcpy(b, c->body, c->len);
		http_secure_free(c->body);
		c->body = b;
		c->cap = cap;
	}
	memcpy(c->body + c->len, data, n);
	c->len += n;
	return MHD_YES;
}

/* ------------------------------------------------------ request: finish */

/* A parked request's group has committed: libmicrohttpd calls on_access again. */
static void conn_wake(void *mc)
{
	MHD_resume_connection(mc);
}

/*
 * Runs the reply's post-commit step, if any, with the commit's outcome
 * `rc`: on `a` when the caller holds it (the writer under the store
 * lock, or a reader it took), else on a read connection (the change is committed, so a reader sees it; a step run
 * for a resumed connection on a libmicrohttpd thread must not wait for
 * the writer).
 */
static cr_err reply_finish(struct http_server *srv, struct app *a, cr_err rc, struct http_reply *rep,
			   bool held)
{
	struct app *r;
	if (rep->finish == NULL)
		return rc;
	r = held ? a : app_reader_take(srv->readers);
	rc = rep->finish(r, rc, rep->finish_ctx, rep);
	rep->finish = NULL;
	if (!held)
		app_reader_give(srv->readers, r);
	return rc;
}

/* A read route's handler, on a read connection of its own (no store lock). */
static cr_err handler_run_reading(struct http_conn *c, struct http_request *req, struct http_reply *rep)
{
	struct app *r = app_reader_take(c->srv->readers);
	cr_err rc;
	req->app = r;
	rc = reply_finish(c->srv, r, c->route->handler(req, rep), rep, true);
	app_reader_give(c->srv->readers, r);
	return rc;
}

/*
 * Calls the route's handler where its route says (on the writer under the
 * store lock, on a reader, or as it is). A
 * group route whose change waits for its group to commit is parked
 * (*parked: the reply is kept, the connection suspended before the lock is
 * released, so the commit cannot wake it first) and answered in
 * request_resume.
 */
static cr_err handler_run(struct http_conn *c, struct MHD_Connection *mc, struct http_reply *rep,
			  bool *parked)
{
	struct http_server *srv = c->srv;
	struct app *a = srv->app;
	struct http_request req = {
		.app = a,
		.server = srv,
		.route = c->route,
		.content_type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_CONTENT_TYPE),
		.body = c->body,
		.body_len = c->len,
		.who = c->authed ? &c->who : NULL,
		.params = &c->params,
		.upload = c->upload,
		.conn = mc,
	};
	bool joined = false, waits;
	cr_err rc;
	*parked = false;
	if (c->upload != NULL && spool_rewind(c->upload) != 0)
		return CR_ERR_IO;
	if (c->route->store == HTTP_STORE_NONE)
		return c->route->handler(&req, rep);
	if (c->route->store == HTTP_STORE_READ)
		return handler_run_reading(c, &req, rep);
	if (c->route->group)
		joined = app_group_join(a, &c->member);
	else if (c->route->slow)
		app_store_lock_long(a);
	else
		app_store_lock(a);
	rc = c->route->handler(&req, rep);
	waits = joined && app_group_leave(a);
	if (c->member.left_open && rc == CR_OK)
		rc = CR_ERR_INTERNAL; /* as for a transaction left open below */
	if (waits) {
		c->member.wake = conn_wake;
		c->member.wake_ctx = mc;
		c->parked_rep = *rep;
		c->parked_rc = rc;
		memset(rep, 0, sizeof(*rep));
		c->parked = *parked = true;
		if (!c->in_job) /* a job's connection is suspended already */
			MHD_suspend_connection(mc);
		app_store_unlock(a);
		return CR_OK;
	}
	if (!joined && a->store->in_txn) {
		/* A handler that returns with a transaction open is a bug; the
		 * request must not leave half its changes behind. */
		store_rollback(a->store);
		if (rc == CR_OK)
			rc = CR_ERR_INTERNAL;
	}
	if (rc == CR_OK && c->member.registered)
		rc = c->member.rc; /* its group committed before it left */
	if (rep->finish != NULL)
		rc = reply_finish(srv, a, rc, rep, true);
	app_store_unlock(a);
	return rc;
}

/* Queues `rep`, or the error `rc` (freeing what `rep` held). */
static enum MHD_Result reply_or_error(struct http_conn *c, struct MHD_Connection *mc,
				      struct http_reply *rep, cr_err rc)
{
	if (rc == CR_OK && rep->status == 0)
		rc = CR_ERR_INTERNAL;
	if (rc != CR_OK) {
		http_secure_free(rep->body);
		memset(rep, 0, sizeof(*rep));
		http_reply_error(rep, rc);
	}
	return reply_queue(c, mc, rep, NULL);
}

/*
 * A handler on a job thread; its connection is suspended meanwhile and
 * resumed here, or by its commit group once that has committed.
 */
static void job_run(void *ctx)
{
	struct http_conn *c = ctx;
	struct http_reply rep = { 0 };
	bool parked = false;
	cr_err rc = handler_run(c, c->mc, &rep, &parked);
	if (parked)
		return; /* the group wakes it (conn_wake) */
	c->parked_rep = rep;
	c->parked_rc = rc;
	MHD_resume_connection(c->mc);
}

/*
 * Whether a route's handler runs on a job thread: a slow one (it would hold
 * a libmicrohttpd thread, and every connection that thread serves, for
 * seconds) or one that may wait for the store lock (a write: waiting there
 * while a long write's chunk runs would stall those connections too).
 */
static bool on_job_thread(const struct http_route *r)
{
	return r->slow || r->store == HTTP_STORE_WRITE;
}

/* Body complete: runs the handler and queues its reply or its error. */
static enum MHD_Result request_finish(struct http_conn *c, struct MHD_Connection *mc)
{
	struct http_reply rep = { 0 };
	bool parked = false;
	cr_err rc;
	if (on_job_thread(c->route) && !c->too_large && !c->storage_full && !c->io_error) {
		c->parked = c->in_job = true;
		c->mc = mc;
		MHD_suspend_connection(mc);
		http_jobs_submit(c->route->slow ? c->srv->jobs : c->srv->writes, c->authed ? c->who.tenant : "",
				 job_run, c);
		return MHD_YES;
	}
	rc = c->too_large ? CR_ERR_TOO_LARGE
	   : c->storage_full ? CR_ERR_HTTP_STORAGE
	   : c->io_error ? CR_ERR_IO
			 : handler_run(c, mc, &rep, &parked);
	if (parked)
		return MHD_YES;
	return reply_or_error(c, mc, &rep, rc);
}

/* A parked request's group has committed (or failed), or its job ended: answers it now. */
static enum MHD_Result request_resume(struct http_conn *c, struct MHD_Connection *mc)
{
	struct http_reply rep = c->parked_rep;
	cr_err rc = c->parked_rc == CR_OK ? c->member.rc : c->parked_rc;
	c->parked = false;
	memset(&c->parked_rep, 0, sizeof(c->parked_rep));
	rc = reply_finish(c->srv, c->srv->app, rc, &rep, false);
	return reply_or_error(c, mc, &rep, rc);
}

/* ---------------------------------------------------- libmicrohttpd glue */

/*
 * libmicrohttpd's access handler: called once with the headers (*con_cls
 * NULL), then once per piece of body, then once with nothing left to read.
 */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct http_server *srv = cls;
	struct http_conn *c = *con_cls;
	(void)version;
	if (c == NULL) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (ci != NULL)
			http_guard_headers_done(ci->socket_context);
		c = cr_xcalloc(1, sizeof(*c));
		c->srv = srv;
		c->method = method_label(method);
		c->start_us = monotonic_us();
		atomic_fetch_add(&srv->in_flight, 1);
		*con_cls = c;
		return request_begin(c, mc, url, method);
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return body_append(c, upload_data, n);
	}
	if (c->parked)
		return request_resume(c, mc);
	if (c->replied)
		return MHD_YES;
	if (c->refused != CR_OK)
		return reply_error(c, mc, c->refused, url);
	return request_finish(c, mc);
}

/* One JSON access-log line; only labels from our own tables, never request text. */
static void access_log(const struct http_conn *c, unsigned status, uint64_t us, bool completed)
{
	char now[CR_TIME_STRLEN];
	json_t *line;
	char *s;
	if (c->srv->log == NULL)
		return;
	if (cr_time_format(cr_time_now(), now) != CR_OK)
		now[0] = '\0';
	line = json_pack("{s:s,s:s,s:s,s:i,s:f,s:s?,s:s?,s:b}", "time", now, "method", c->method,
			 "route", c->route ? c->route->pattern : "unmatched", "status", (int)status,
			 "duration_ms", (double)us / 1000.0,
			 "role", c->authed ? auth_role_name(c->who.role) : NULL,
			 "tenant", c->authed ? c->who.tenant : NULL, "completed", completed);
	s = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(line);
	if (s == NULL)
		return;
	flockfile(c->srv->log);
	fputs(s, c->srv->log);
	fputc('\n', c->srv->log);
	fflush(c->srv->log);
	funlockfile(c->srv->log);
	free(s);
}

/* Accept policy: the address's range has room. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http_server *srv = cls;
	(void)len;
	return http_guard_admit(srv->guard, addr) ? MHD_YES : MHD_NO;
}

/* A connection opened or closed: the guard counts and times it. */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *addr, *fd;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		addr = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		fd = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = fd == NULL ? NULL
			: http_guard_open(srv->guard, addr ? addr->client_addr : NULL, fd->connect_fd);
	} else {
		http_guard_close(srv->guard, *socket_context);
		*socket_context = NULL;
	}
}

/* libmicrohttpd is done with a request (answered, aborted or shut down). */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL)
		http_guard_request_done(srv->guard, ci->socket_context);
	struct http_conn *c = *con_cls;
	uint64_t us;
	(void)mc;
	if (c == NULL)
		return;
	us = monotonic_us() - c->start_us;
	http_metrics_record(srv->metrics, c->route ? (size_t)(c->route - srv->routes) : srv->n_routes,
			    c->replied ? c->status : 0, us);
	access_log(c, c->replied ? c->status : 0, us, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	http_secure_free(c->body);
	if (c->upload)
		fclose(c->upload);
	atomic_fetch_sub(&srv->spooled, c->spooled);
	free(c);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

__attribute__((format(printf, 2, 0)))
/*
 * libmicrohttpd's own messages: its text only, never its arguments, which
 * may hold a raw path (a subject's digest), a header or a client address.
 * Each conversion is shown as "<arg>"; the line ends at a line break.
 */
void http_log_library(FILE *log, const char *fmt, va_list ap)
{
	char msg[512], now[CR_TIME_STRLEN];
	size_t o = 0;
	json_t *line;
	char *s;
	(void)ap;
	for (const char *p = fmt; *p != '\0' && *p != '\r' && *p != '\n' && o + 6 < sizeof(msg); p++) {
		if (*p != '%') {
			msg[o++] = *p;
		} else if (p[1] == '%') {
			msg[o++] = '%';
			p++;
		} else {
			/* skip flags, width, precision and length up to the conversion */
			while (p[1] != '\0' && strchr("-+ #0123456789.*hlLqjzt", p[1]) != NULL)
				p++;
			if (p[1] != '\0')
				p++;
			memcpy(msg + o, "<arg>", 5);
			o += 5;
		}
	}
	msg[o] = '\0';
	if (log == NULL)
		return;
	if (cr_time_format(cr_time_now(), now) != CR_OK)
		now[0] = '\0';
	line = json_pack("{s:s,s:s,s:s,s:s}", "time", now, "level", "error", "source",
			 "libmicrohttpd", "message", msg);
	s = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(line);
	if (s) {
		fprintf(log, "%s\n", s);
		free(s);
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	http_log_library(srv->log, fmt, ap);
}

/* ---------------------------------------------------------- lifecycle */

void http_config_defaults(struct http_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 1;
	cfg->connection_limit = 1024;
	cfg->per_ip_limit = 128;
	cfg->timeout_s = 30;
	cfg->memory_limit = 64 * 1024;
	cfg->log = stderr;
	cfg->rate_per_s = 50;
	cfg->rate_burst = 100;
	cfg->web_rate_per_s = 1;
	cfg->web_rate_burst = 30;
	cfg->commit_window_us = 1000;
	cfg->spool_max = (size_t)4 << 30;
	cfg->per_range_limit = 256;
	cfg->header_timeout_s = 10;
	cfg->disk_floor = (uint64_t)512 << 20;
}

/* Misuse aborts: a /v1 route without roles would be open to anyone. */
static void routes_check(const struct http_route *routes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strncmp(routes[i].pattern, "/v1/", 4) == 0 && routes[i].roles == HTTP_PUBLIC)
			cr_die("http: a /v1 route has no roles");
		if ((routes[i].roles & ~(unsigned)AUTH_ROLES_ALL) != 0 || routes[i].handler == NULL)
			cr_die("http: a route has unknown roles or no handler");
	}
}

/*
 * Internal thread(s) on poll(), TLS and IPv6 as configured. Not epoll:
 * with epoll, MHD_quiesce_daemon (http_server_stop) and the polling thread
 * can both take the listen socket out of the epoll set, and libmicrohttpd
 * 0.9.75 aborts the process when the second removal fails ("Failed to
 * remove listen FD from epoll set", seen once in test_http_live on a loaded
 * machine). poll() has no such set, and the connection limit (1,024 by
 * default) keeps its per-wake cost small.
 */
static unsigned daemon_flags(const struct http_config *cfg)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	if (cfg->addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert_pem != NULL)
		flags |= MHD_USE_TLS;
	return flags;
}

#define OPT(o, v, p) ((struct MHD_OptionItem){ (o), (intptr_t)(v), (void *)(p) })

/* Starts libmicrohttpd with the limits of `cfg`; NULL if it refuses (it logs why). */
static struct MHD_Daemon *daemon_start(struct http_server *srv, const struct http_config *cfg)
{
	struct MHD_OptionItem o[16];
	size_t n = 0;
	uint16_t port = 0;
	if (cfg->addr->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)cfg->addr)->sin_port);
	else if (cfg->addr->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)cfg->addr)->sin6_port);
	/* The logger goes first so that libmicrohttpd's every message uses it. */
	o[n++] = OPT(MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv);
	o[n++] = OPT(MHD_OPTION_SOCK_ADDR, 0, cfg->addr);
	o[n++] = OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv);
	o[n++] = OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv);
	o[n++] = OPT(MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit, NULL);
	o[n++] = OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit, NULL);
	o[n++] = OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, NULL);
	o[n++] = OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->memory_limit, NULL);
	o[n++] = OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
	if (cfg->threads > 1)
		o[n++] = OPT(MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL);
	if (cfg->tls_cert_pem != NULL) {
		o[n++] = OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls_cert_pem);
		o[n++] = OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls_key_pem);
		o[n++] = OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES);
	}
	o[n++] = OPT(MHD_OPTION_END, 0, NULL);
	return MHD_start_daemon(daemon_flags(cfg), port, on_accept, srv, on_access, srv,
				MHD_OPTION_ARRAY, o, MHD_OPTION_END);
}

/*
 * Recursive, so that code called from a handler that holds it (a match
 * round's store calls, through app_store_lock) may take it again.
 */
static void store_lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
	    pthread_mutex_init(m, &attr) != 0)
		cr_die("http: pthread_mutex_init");
	pthread_mutexattr_destroy(&attr);
}

/* What http_server_start made, once the daemon and the committer are stopped. */
static void server_free(struct http_server *srv)
{
	http_jobs_free(srv->jobs);
	http_jobs_free(srv->writes);
	store_checkpointer_stop(srv->wal);
	srv->app->store_mutex = NULL;
	pthread_mutex_destroy(&srv->store_lock);
	app_readers_close(srv->readers);
	http_metrics_free(srv->metrics);
	http_ratelimit_free(srv->rate);
	http_ratelimit_free(srv->web_rate);
	sodium_memzero(srv->client_key, sizeof(srv->client_key));
	free(srv->own_routes);
	http_guard_free(srv->guard);
	free(srv);
}

cr_err http_server_start(struct app *a, const struct http_config *cfg,
			 const struct http_route *routes, size_t n_routes,
			 struct http_server **out)
{
	struct http_server *srv;
	bool tls = cfg->tls_cert_pem != NULL;

	routes_check(routes, n_routes);
	if (tls != (cfg->tls_key_pem != NULL) ||
	    (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES))
		return CR_ERR_TLS;
	if (cfg->addr == NULL || (cfg->addr->sa_family != AF_INET && cfg->addr->sa_family != AF_INET6))
		return CR_ERR_HTTP_LISTEN;
	/* Replies may carry a freshly issued token: wipe what jansson frees. */
	json_set_alloc_funcs(malloc, http_secure_free);
	srv = cr_xcalloc(1, sizeof(*srv));
	srv->app = a;
	srv->routes = routes;
	srv->n_routes = n_routes;
	srv->tls = tls;
	srv->guard = http_guard_new(cfg->per_range_limit, cfg->header_timeout_s, cfg->timeout_s,
				    cfg->connection_limit - cfg->connection_limit / 8u);
	srv->spool_max = cfg->spool_max;
	srv->disk_floor = cfg->disk_floor;
	atomic_init(&srv->spooled, 0);
	if (cfg->public_metrics) {
		srv->own_routes = cr_xcalloc(n_routes, sizeof(*routes));
		memcpy(srv->own_routes, routes, n_routes * sizeof(*routes));
		for (size_t i = 0; i < n_routes; i++)
			if (strcmp(routes[i].pattern, "/metrics") == 0)
				srv->own_routes[i].roles = HTTP_PUBLIC;
		srv->routes = srv->own_routes;
	}
	srv->log = cfg->log;
	srv->metrics = http_metrics_new(n_routes);
	if (cfg->rate_per_s > 0)
		srv->rate = http_ratelimit_new(cfg->rate_per_s, cfg->rate_burst ? cfg->rate_burst : 1);
	srv->web_rate = http_ratelimit_new(cfg->web_rate_per_s ? cfg->web_rate_per_s : 1,
					   cfg->web_rate_burst ? cfg->web_rate_burst : 1);
	crypto_shorthash_keygen(srv->client_key);
	atomic_init(&srv->stopping, false);
	atomic_init(&srv->in_flight, 0);
	srv->sessions = cfg->sessions;
	srv->pool = cfg->pool;
	store_lock_init(&srv->store_lock);
	a->store_mutex = &srv->store_lock;
	/* Twice the cores in job threads (they mostly wait for the store or the
	 * crypto pool), half of them for any one tenant. */
	srv->jobs = http_jobs_new(cfg->threads * 2u < 4u ? 4u : cfg->threads * 2u,
				  cfg->threads < 2u ? 2u : cfg->threads);
	/* Short writes: they mostly wait for the store lock, and the more wait
	 * together, the more share one group commit. */
	srv->writes = http_jobs_new(WRITE_THREADS, WRITE_THREADS / 2u);
	/* Enough readers that a token check never waits for one in practice. */
	if (app_readers_open(a, cfg->threads * 2u + 2u, &srv->readers) != CR_OK) {
		server_free(srv);
		return CR_ERR_STORE;
	}
	if (cfg->commit_window_us > 0 && app_group_start(a, cfg->commit_window_us, APP_GROUP_MAX) != CR_OK)
		cr_die("http: cannot start the committer");
	if (store_checkpointer_start(a->store, WAL_CHECKPOINT_MS, &srv->wal) != CR_OK)
		srv->wal = NULL; /* the writer keeps checkpointing itself: slower, still correct */
	srv->daemon = daemon_start(srv, cfg);
	if (srv->daemon == NULL) {
		/* libmicrohttpd has logged why (address in use, key refused, ...). */
		app_group_stop(a);
		server_free(srv);
		return CR_ERR_HTTP_LISTEN;
	}
	*out = srv;
	return CR_OK;
}

uint16_t http_server_port(const struct http_server *srv)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

struct psi_sessions *http_server_sessions(const struct http_server *srv)
{
	return srv->sessions;
}

struct crypto_pool *http_server_pool(const struct http_server *srv)
{
	return srv->pool;
}

char *http_server_metrics_render(const struct http_server *srv, size_t *len)
{
	size_t n = 0, size = 0;
	char *routes = http_metrics_render(srv->metrics, srv->routes, srv->n_routes, &n), *buf = NULL;
	FILE *f = open_memstream(&buf, &size);
	if (f == NULL)
		cr_die("http: open_memstream");
	fwrite(routes, 1, n, f);
	free(routes);
	fprintf(f, "# HELP cleanroom_commit_groups_total Group commits of single writes (serve --commit-window).\n"
		   "# TYPE cleanroom_commit_groups_total counter\n"
		   "cleanroom_commit_groups_total %llu\n"
		   "# HELP cleanroom_commit_group_members_total Requests those group commits made durable.\n"
		   "# TYPE cleanroom_commit_group_members_total counter\n"
		   "cleanroom_commit_group_members_total %llu\n",
		(unsigned long long)atomic_load(&srv->app->commit_groups),
		(unsigned long long)atomic_load(&srv->app->commit_members));
	if (fclose(f) != 0 || buf == NULL)
		cr_die("http: rendering metrics");
	*len = size;
	return buf;
}

void http_server_stop(struct http_server *srv, unsigned grace_ms)
{
	MHD_socket listen_fd;
	uint64_t deadline;
	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, true);
	listen_fd = MHD_quiesce_daemon(srv->daemon);
	deadline = monotonic_us() + (uint64_t)grace_ms * 1000u;
	while (atomic_load(&srv->in_flight) > 0 && monotonic_us() < deadline)
		usleep(10 * 1000);
	http_jobs_free(srv->jobs); /* runs what is queued and resumes it */
	http_jobs_free(srv->writes);
	srv->jobs = srv->writes = NULL;
	app_group_stop(srv->app); /* commits and wakes what is parked; the daemon must not stop with it suspended */
	MHD_stop_daemon(srv->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	server_free(srv);
}

const char *http_query(const struct http_request *req, const char *name)
{
	if (req->conn == NULL) {
		for (const char *const *a = req->args; a != NULL && a[0] != NULL && a[1] != NULL; a += 2)
			if (strcmp(a[0], name) == 0)
				return a[1];
		return NULL;
	}
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_request *req, const char *name)
{
	if (req->conn == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool http_request_is_tls(const struct http_request *req)
{
	const union MHD_ConnectionInfo *info;
	if (req->conn == NULL)
		return false;
	info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return info != NULL && info->tls_session != NULL;
}

/*
 * The client's address as a rate-limit key: a keyed short hash (random key
 * per server, never stored), so the table holds no address in clear. IPv4
 * and IPv6 hash their address bytes only, not the port.
 */
static int64_t client_key(const struct http_server *srv, const struct sockaddr *sa)
{
	uint8_t h[crypto_shorthash_BYTES];
	const uint8_t *p = NULL;
	size_t n = 0;
	uint64_t v = 0;
	if (sa != NULL && sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = 4;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		n = 16;
	}
	crypto_shorthash(h, p ? p : (const uint8_t *)"", n, srv->client_key);
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	v &= (uint64_t)INT64_MAX;
	return v ? (int64_t)v : 1;
}

cr_err http_client_rate_take(const struct http_request *req)
{
	const union MHD_ConnectionInfo *info;
	unsigned retry = 0;
	if (req->conn == NULL || req->server == NULL)
		return CR_OK;
	info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return http_ratelimit_take(req->server->web_rate,
				   client_key(req->server, info ? info->client_addr : NULL),
				   monotonic_us(), &retry);
}
