/*
 * cli_serve.c: `cleanroom serve`, the HTTP API until SIGTERM or SIGINT.
 *
 * HTTPS is the default. Without --tls-cert/--tls-key the service uses
 * DATA/tls/cert.pem and DATA/tls/key.pem, and when neither file exists it
 * creates a self-signed pair for localhost there first (tls.c) and says so,
 * so TLS works out of the box; clients then pass --cacert DATA/tls/cert.pem.
 * Plain HTTP needs an explicit --insecure-http and prints a warning.
 *
 * While it serves, the main thread does the service's housekeeping: every
 * MAINTAIN_S seconds it expires match sessions past their time (audited,
 * wiped), and every --sweep-every seconds it sweeps records whose consent
 * expired (sweep.h; withdrawals need no sweep, they purge at once).
 *
 * Shutdown is graceful: the signal stops new connections, requests in
 * flight get up to SHUTDOWN_GRACE_MS to finish, and a request already
 * handed to a job thread (a write, a batch, an ingest, a match round) is
 * run to its end even past that (http_jobs_free), so none is cut
 * half-way; then the database is closed and the process exits 0. Log lines (start, stop, access log) are JSON on
 * stderr.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/http.h"
#include "cleanroom/psi_session.h"
#include "cleanroom/sweep.h"
#include "cleanroom/tls.h"
#include "cleanroom/witness.h"

#define VERB "serve"
#define DEFAULT_LISTEN "127.0.0.1:8443"
#define THREADS_MAX 256
#define SHUTDOWN_GRACE_MS 10000
#define MAINTAIN_S 5
#define SWEEP_DEFAULT_S 600

static const char usage[] =
	"usage: cleanroom serve [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE]\n"
	"                       [--insecure-http] [--threads N] [--rate-limit N[/BURST]]\n"
	"                       [--sweep-every SECONDS] [--commit-window US]\n"
	"                       [--witness URL,WITNESS_KEY]...\n\n"
	"Serves the HTTP API (HTTPS by default) until SIGTERM or SIGINT.\n"
	"ADDR is an IPv4 address, [IPv6] or localhost; port 0 picks a free port.\n"
	"Without --tls-cert/--tls-key, DATA/tls/{cert,key}.pem are used, and a\n"
	"self-signed pair for localhost is created there if neither exists.\n"
	"--witness (repeatable): a c2sp.org/tlog-witness and its verifier key; each new\n"
	"checkpoint is sent to it (at most once a second) and its cosignatures kept.\n"
	"The service refuses to start when a witness has cosigned more than its log\n"
	"holds, refuses its checkpoint (a fork), or cannot be reached.";

/* The TLS key and certificate in memory for as long as the server runs. */
struct serve_tls {
	char *cert;
	size_t cert_len;
	char *key;      /* secret: wiped by serve_tls_release */
	size_t key_len;
};

/* Wipes the key and frees both PEMs. */
static void serve_tls_release(struct serve_tls *t)
{
	if (t->key)
		sodium_memzero(t->key, t->key_len);
	free(t->key);
	free(t->cert);
	memset(t, 0, sizeof(*t));
}

/* Parses "a.b.c.d:port", "[v6]:port" or "localhost:port". CR_ERR_PARSE otherwise. */
cr_err cli_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	size_t hlen;
	uint64_t port;
	if (colon == NULL || cr_parse_u64(colon + 1, 0, 65535, &port) != CR_OK)
		return CR_ERR_PARSE;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return CR_ERR_PARSE;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "localhost") == 0)
		memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return CR_OK;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return CR_OK;
	}
	return CR_ERR_PARSE;
}

/* One JSON log line on stderr: {"time","level","message", key: value}. */
static void log_line(const char *level, const char *message, const char *key, const char *value)
{
	char now[CR_TIME_STRLEN];
	json_t *line;
	char *s;
	if (cr_time_format(cr_time_now(), now) != CR_OK)
		now[0] = '\0';
	line = json_pack("{s:s,s:s,s:s}", "time", now, "level", level, "message", message);
	if (line && key)
		json_object_set_new(line, key, json_string(value));
	s = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (s) {
		fprintf(stderr, "%s\n", s);
		free(s);
	}
}

/* Loads the PEM pair, creating DATA/tls's self-signed pair if asked for and absent. */
static int tls_load(const char *data, const char *cert, const char *key, struct serve_tls *t)
{
	char *dcert = app_path(data, TLS_DIR "/" TLS_CERT_FILE);
	char *dkey = app_path(data, TLS_DIR "/" TLS_KEY_FILE);
	int ret = CLI_FAIL;
	cr_err rc;

	if (cert == NULL) {
		cert = dcert;
		key = dkey;
		if (access(dcert, F_OK) != 0 && access(dkey, F_OK) != 0) {
			rc = tls_selfsigned_create(data);
			if (rc != CR_OK) {
				cli_fail(VERB, "cannot create a self-signed certificate in '%s/%s': %s",
					 data, TLS_DIR, cr_strerror(rc));
				goto out;
			}
			log_line("info", "created a self-signed certificate for localhost", "cert", dcert);
		}
	}
	if (tls_pem_read(cert, false, &t->cert, &t->cert_len) != CR_OK) {
		cli_fail(VERB, "cannot read the certificate '%s'", cert);
		goto out;
	}
	if (tls_pem_read(key, true, &t->key, &t->key_len) != CR_OK) {
		cli_fail(VERB, "cannot read the key '%s' (it must be a file only its owner can read)", key);
		goto out;
	}
	if (tls_pair_check(t->cert, t->key) != CR_OK) {
		cli_fail(VERB, "'%s' and '%s' are not a valid, unexpired certificate and its key",
			 cert, key);
		goto out;
	}
	ret = CLI_OK;
out:
	free(dcert);
	free(dkey);
	return ret;
}

/* One sweep of expired consent over every brand, under the store lock. */
static void consent_sweep(struct app *a)
{
	struct sweep_report r = { 0, 0, 0 };
	char counts[96];
	cr_err rc;
	app_store_lock(a);
	rc = sweep_run(a, 0, cr_time_now(), &r);
	app_store_unlock(a);
	if (rc != CR_OK) {
		log_line("error", "consent sweep failed", "error", cr_errname(rc));
		return;
	}
	if (r.removed > 0) {
		snprintf(counts, sizeof(counts), "%llu of %llu", (unsigned long long)r.removed,
			 (unsigned long long)r.checked);
		log_line("info", "consent sweep removed records", "removed", counts);
	}
}

/*
 * Blocks until SIGTERM or SIGINT (blocked in every thread before the server
 * starts), doing the housekeeping meanwhile; sweep_s 0: no consent sweep.
 */
static const char *serve_wait(struct app *a, struct psi_sessions *t, const sigset_t *set, unsigned sweep_s)
{
	const struct timespec tick = { MAINTAIN_S, 0 };
	int64_t next_sweep = cr_monotonic_ms() + (int64_t)sweep_s * 1000;
	for (;;) {
		int sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM)
			return "SIGTERM";
		if (sig == SIGINT)
			return "SIGINT";
		(void)psi_sessions_sweep(t, a, cr_time_now());
		if (sweep_s > 0 && cr_monotonic_ms() >= next_sweep) {
			consent_sweep(a);
			next_sweep = cr_monotonic_ms() + (int64_t)sweep_s * 1000;
		}
	}
}

/* Runs the server on `a` until a signal; returns a CLI exit code. */
static int serve_run(struct app *a, struct http_config *cfg, bool tls, unsigned sweep_s,
		     struct witness_client *witnesses)
{
	struct http_server *srv = NULL;
	struct psi_sessions *sessions = psi_sessions_new();
	struct crypto_pool *pool = NULL;
	sigset_t set;
	char url[128];
	char host[INET6_ADDRSTRLEN] = "";
	cr_err rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);  /* inherited by the server's threads */
	signal(SIGPIPE, SIG_IGN);
	rc = crypto_pool_create(0, &pool);
	cfg->sessions = sessions;
	cfg->pool = pool;
	if (rc == CR_OK)
		rc = http_server_start(a, cfg, http_routes, http_route_count, &srv);
	if (rc == CR_OK && witness_clients_run(witnesses) != CR_OK) {
		http_server_stop(srv, 0);
		rc = CR_ERR_INTERNAL;
	}
	if (rc != CR_OK) {
		psi_sessions_free(sessions);
		crypto_pool_free(pool);
		return cli_fail_rc(VERB, rc);
	}
	if (cfg->addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)cfg->addr)->sin6_addr,
			  host, sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)cfg->addr)->sin_addr,
			  host, sizeof(host));
	snprintf(url, sizeof(url), "%s://%s%s%s:%u", tls ? "https" : "http",
		 cfg->addr->sa_family == AF_INET6 ? "[" : "", host,
		 cfg->addr->sa_family == AF_INET6 ? "]" : "", (unsigned)http_server_port(srv));
	log_line("info", "listening", "url", url);
	log_line("info", "stopping", "signal", serve_wait(a, sessions, &set, sweep_s));
	witness_clients_halt(witnesses); /* it uses the store lock the server owns */
	http_server_stop(srv, SHUTDOWN_GRACE_MS);
	psi_sessions_free(sessions);  /* wiped; their secrets die with the process */
	crypto_pool_free(pool);
	return CLI_OK;
}

/* One worker per online core (1..64). */
static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* What the command line asked for (strings borrowed from argv). */
struct serve_opts {
	const char *listen, *cert, *key, *threads, *rate, *sweep, *window, *spool_max, *disk_floor, *per_range, *header_timeout;
	const char *max_conns;
	bool insecure, public_metrics;
};

/* "N" or "N/BURST" (requests a second per token, bucket size; default burst 2N); "0" turns limits off. */
static cr_err rate_parse(const char *s, struct http_config *cfg)
{
	char num[16];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t per = 0, burst = 0;
	if (n == 0 || n >= sizeof(num))
		return CR_ERR_PARSE;
	memcpy(num, s, n);
	num[n] = '\0';
	if (cr_parse_u64(num, 0, 1000000, &per) != CR_OK)
		return CR_ERR_PARSE;
	burst = per * 2;
	if (slash && cr_parse_u64(slash + 1, 1, 2000000, &burst) != CR_OK)
		return CR_ERR_PARSE;
	cfg->rate_per_s = (unsigned)per;
	cfg->rate_burst = (unsigned)(burst ? burst : 1);
	return CR_OK;
}

/* Checks the options together and fills cfg's address and threads; CLI_USAGE if wrong. */
static int serve_opts_check(const struct serve_opts *o, const struct cli_args *args,
			    struct sockaddr_storage *ss, struct http_config *cfg, unsigned *sweep_s)
{
	uint64_t threads = default_threads(), sweep = SWEEP_DEFAULT_S, window = cfg->commit_window_us, mib;
	if (args->npos != 0)
		return cli_usage_error(VERB, "unexpected argument (not echoed: it may be personal data)");
	if ((o->cert == NULL) != (o->key == NULL))
		return cli_usage_error(VERB, "'--tls-cert' and '--tls-key' go together");
	if (o->insecure && o->cert != NULL)
		return cli_usage_error(VERB, "'--insecure-http' takes no certificate");
	if (o->threads && cr_parse_u64(o->threads, 1, THREADS_MAX, &threads) != CR_OK)
		return cli_usage_error(VERB, "'--threads' must be 1 to %d", THREADS_MAX);
	if (o->rate && rate_parse(o->rate, cfg) != CR_OK)
		return cli_usage_error(VERB, "'--rate-limit' must be N or N/BURST requests a second per token (0: off)");
	if (o->sweep && cr_parse_u64(o->sweep, 0, 86400 * 7, &sweep) != CR_OK)
		return cli_usage_error(VERB, "'--sweep-every' must be 0 (never) to 604800 seconds");
	if (o->window && cr_parse_u64(o->window, 0, 100000, &window) != CR_OK)
		return cli_usage_error(VERB, "'--commit-window' must be 0 (off) to 100000 microseconds");
	cfg->commit_window_us = (unsigned)window;
	if (o->spool_max) {
		if (cr_parse_u64(o->spool_max, 0, (uint64_t)1 << 30, &mib) != CR_OK)
			return cli_usage_error(VERB, "'--spool-max' must be 0 (no cap) to 1073741824 MiB");
		cfg->spool_max = (size_t)mib << 20;
	}
	if (o->per_range) {
		if (cr_parse_u64(o->per_range, 0, 1000000, &mib) != CR_OK)
			return cli_usage_error(VERB, "'--per-range-limit' must be 0 (no cap) to 1000000");
		cfg->per_range_limit = (unsigned)mib;
	}
	if (o->max_conns) {
		if (cr_parse_u64(o->max_conns, 8, 65536, &mib) != CR_OK)
			return cli_usage_error(VERB, "'--max-connections' must be 8 to 65536");
		cfg->connection_limit = (unsigned)mib;
	}
	if (o->header_timeout) {
		if (cr_parse_u64(o->header_timeout, 0, 3600, &mib) != CR_OK)
			return cli_usage_error(VERB, "'--header-timeout' must be 0 (none) to 3600 seconds");
		cfg->header_timeout_s = (unsigned)mib;
	}
	if (o->disk_floor) {
		if (cr_parse_u64(o->disk_floor, 0, (uint64_t)1 << 30, &mib) != CR_OK)
			return cli_usage_error(VERB, "'--disk-floor' must be 0 (none) to 1073741824 MiB");
		cfg->disk_floor = mib << 20;
	}
	*sweep_s = (unsigned)sweep;
	if (cli_listen_parse(o->listen, ss, &cfg->addr_len) != CR_OK)
		return cli_usage_error(VERB, "'--listen' must be ADDR:PORT, as in " DEFAULT_LISTEN);
	cfg->addr = (const struct sockaddr *)ss;
	cfg->threads = (unsigned)threads;
	cfg->public_metrics = o->public_metrics;
	return CLI_OK;
}

/* `cleanroom serve`: parse, open the data directory, load TLS, serve. */
int cmd_serve(int argc, char **argv)
{
	struct serve_opts o = { .listen = DEFAULT_LISTEN };
	const struct cli_opt opts[] = {
		{ "listen", &o.listen, NULL, "ADDR:PORT to listen on (default " DEFAULT_LISTEN ")" },
		{ "tls-cert", &o.cert, NULL, "FILE: PEM certificate (chain) to serve" },
		{ "tls-key", &o.key, NULL, "FILE: its PEM private key (mode 0600)" },
		{ "insecure-http", NULL, &o.insecure, "serve plain HTTP, without TLS (not for networks)" },
		{ "public-metrics", NULL, &o.public_metrics, "answer GET /metrics without a token (default: any role's token)" },
		{ "spool-max", &o.spool_max, NULL, "MIB: uploads on disk at once, all clients together (default 4096; 0: no cap); 507 beyond" },
		{ "per-range-limit", &o.per_range, NULL, "N connections per IPv4 /24 or IPv6 /64 (default 256; 0: no cap)" },
		{ "max-connections", &o.max_conns, NULL, "N connections in total, an eighth kept for clients with a token (default 1024)" },
		{ "header-timeout", &o.header_timeout, NULL, "SECONDS a request's headers may take to arrive (default 10; 0: no deadline)" },
		{ "disk-floor", &o.disk_floor, NULL, "MIB: free space an upload must leave on the data disk (default 512; 0: none); 507 below" },
		{ "threads", &o.threads, NULL, "N worker threads (default: one per core)" },
		{ "rate-limit", &o.rate, NULL, "N[/BURST] requests a second per token (default 50/100; 0: off)" },
		{ "sweep-every", &o.sweep, NULL, "SECONDS between sweeps of expired consent (default 600; 0: never)" },
		{ "commit-window", &o.window, NULL,
		  "US: single consent events arriving within this many microseconds share one commit (default 1000; 0: each commits alone)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct sockaddr_storage ss;
	struct http_config cfg;
	const char *wspecs[16];
	struct witness_client *witnesses = NULL;
	int nw = cli_take_repeated(&argc, argv, "witness", wspecs, 16);
	struct serve_tls tls = { 0 };
	struct app *a = NULL;
	unsigned sweep_s = SWEEP_DEFAULT_S;
	size_t aborted = 0;
	int lock = -1;
	int ret;
	cr_err rc;

	if (nw < 0)
		return cli_usage_error(VERB, "'--witness' takes URL,WITNESS_KEY (at most 16 witnesses)");
	ret = cli_parse(argc, argv, opts, usage, &args);
	if (ret != CLI_OK)
		return ret < 0 ? CLI_OK : ret;
	if (witness_clients_parse(wspecs, (size_t)nw, &witnesses) != CR_OK) {
		free(args.pos);
		return cli_usage_error(VERB, "'--witness' takes URL,WITNESS_KEY ('cleanroom witness init' prints the key)");
	}
	http_config_defaults(&cfg);
	ret = serve_opts_check(&o, &args, &ss, &cfg, &sweep_s);
	if (ret != CLI_OK)
		goto out;
	/* Held until exit: `restore` refuses to swap the database under us. */
	rc = app_dir_lock(cli_data_dir(&args), &lock);
	if (rc == CR_OK)
		rc = app_open(cli_data_dir(&args), &a);
	if (rc != CR_OK) {
		ret = cli_fail(VERB, "'%s': %s", cli_data_dir(&args), cr_strerror(rc));
		goto out;
	}
	/* Witnesses: refuse to start behind what they cosigned, or on a fork. */
	{
		char why[512] = "";
		rc = witness_clients_start(witnesses, a, why, sizeof(why));
		if (rc != CR_OK) {
			ret = cli_fail(VERB, "refusing to start: %s", why[0] ? why : cr_strerror(rc));
			goto out;
		}
	}
	/* Match sessions the last stop left open get their "match.abort" leaf. */
	rc = psi_sessions_recover(a, &aborted);
	if (rc != CR_OK) {
		ret = cli_fail(VERB, "ending the match sessions left open: %s", cr_strerror(rc));
		goto out;
	}
	if (aborted > 0) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", aborted);
		log_line("info", "match sessions left open by the last stop were aborted", "sessions", n);
	}
	if (o.insecure) {
		log_line("warning", "--insecure-http: tokens and data travel unencrypted; "
				    "use it only on a trusted loopback", NULL, NULL);
	} else {
		ret = tls_load(cli_data_dir(&args), o.cert, o.key, &tls);
		if (ret != CLI_OK)
			goto out;
		cfg.tls_cert_pem = tls.cert;
		cfg.tls_key_pem = tls.key;
	}
	ret = serve_run(a, &cfg, !o.insecure, sweep_s, witnesses);
	witness_clients_stop(witnesses);
	witnesses = NULL;
	app_close(a); /* every request has finished: close the database */
	a = NULL;
	if (ret == CLI_OK)
		log_line("info", "stopped", NULL, NULL);
out:
	witness_clients_stop(witnesses);
	app_close(a);
	app_dir_unlock(lock);
	serve_tls_release(&tls);
	free(args.pos);
	return ret;
}
