/*
 * psi_partner.c: the partner's role in a match (see psi_partner.h).
 *
 * Inputs are the partner's own list and the three messages it receives;
 * outputs are B, A' and the parsed release. The list's digests are
 * personal data of the partner's: they live in memory the partner wipes
 * before freeing (also when the array grows), and only blinded elements
 * b·H(d) ever leave this file.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/psi_partner.h"
#include "cleanroom/rowreader.h"

enum partner_state { P_NEW = 0, P_LOADED, P_BLINDED, P_ANSWERED, P_DONE };

struct psi_partner {
	struct psi_session_offer offer;
	enum crypto_psi_suite suite; /* the offer's, parsed */
	enum partner_state state;
	uint8_t *b;          /* sodium_malloc'd scalar; NULL once wiped */
	uint8_t *digests;    /* n x 32, wiped before free */
	size_t n, cap;
	uint64_t sent, received;
};

/* ------------------------------------------------------------ messages */

void psi_elements_release(struct psi_elements *e)
{
	if (e == NULL)
		return;
	free(e->bytes);
	e->bytes = NULL;
	e->count = 0;
}

/* True if object j has exactly the keys in `keys` (NULL-terminated). */
static bool keys_exactly(const json_t *j, const char *const *keys)
{
	size_t n = 0;
	if (!json_is_object(j))
		return false;
	for (; keys[n]; n++)
		if (json_object_get(j, keys[n]) == NULL)
			return false;
	return json_object_size(j) == n;
}

static bool copy_str(const json_t *v, char *out, size_t cap)
{
	const char *s = json_string_value(v);
	size_t len = s ? json_string_length(v) : 0;
	if (s == NULL || len >= cap || strlen(s) != len)
		return false;
	memcpy(out, s, len + 1);
	return true;
}

json_t *psi_open_request_to_json(const struct psi_open_request *r)
{
	return json_pack("{s:I, s:s, s:s}", "collaboration", (json_int_t)r->collab_id,
			 "group_by", r->group_by, "metrics", r->metrics);
}

cr_err psi_open_request_from_json(const json_t *j, struct psi_open_request *out)
{
	static const char *const keys[] = { "collaboration", "group_by", "metrics", NULL };
	struct psi_open_request r;
	const json_t *id = json_object_get(j, "collaboration");
	memset(&r, 0, sizeof(r));
	if (!keys_exactly(j, keys) || !json_is_integer(id) || json_integer_value(id) < 1 ||
	    !copy_str(json_object_get(j, "group_by"), r.group_by, sizeof(r.group_by)) ||
	    !copy_str(json_object_get(j, "metrics"), r.metrics, sizeof(r.metrics)))
		return CR_ERR_PSI_MESSAGE;
	r.collab_id = (int64_t)json_integer_value(id);
	*out = r;
	return CR_OK;
}

json_t *psi_offer_to_json(const struct psi_session_offer *o)
{
	char when[CR_TIME_STRLEN] = "";
	if (cr_time_format(o->expires, when) != CR_OK)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "session", o->session, "suite", o->suite,
			 "id_type", crypto_id_type_name(o->id_type), "elements", (json_int_t)o->elements,
			 "min_partner_set", (json_int_t)o->min_set, "max_partner_set",
			 (json_int_t)o->max_set, "expires", when);
}

static bool json_count(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

cr_err psi_offer_from_json(const json_t *j, struct psi_session_offer *out)
{
	static const char *const keys[] = { "session", "suite", "id_type", "elements", "min_partner_set",
					    "max_partner_set", "expires", NULL };
	struct psi_session_offer o;
	char id_type[16], when[CR_TIME_STRLEN + 16];
	uint8_t raw[PSI_SESSION_ID_BYTES];
	memset(&o, 0, sizeof(o));
	if (!keys_exactly(j, keys) || !copy_str(json_object_get(j, "session"), o.session, sizeof(o.session)) ||
	    !copy_str(json_object_get(j, "suite"), o.suite, sizeof(o.suite)) ||
	    !copy_str(json_object_get(j, "id_type"), id_type, sizeof(id_type)) ||
	    !copy_str(json_object_get(j, "expires"), when, sizeof(when)) ||
	    !json_count(json_object_get(j, "elements"), &o.elements) ||
	    !json_count(json_object_get(j, "min_partner_set"), &o.min_set) ||
	    !json_count(json_object_get(j, "max_partner_set"), &o.max_set))
		return CR_ERR_PSI_MESSAGE;
	if (cr_hex_decode_exact(o.session, strlen(o.session), raw, sizeof(raw)) != CR_OK ||
	    crypto_id_type_parse(id_type, &o.id_type) != CR_OK ||
	    cr_time_parse(when, strlen(when), &o.expires) != CR_OK || o.min_set > o.max_set)
		return CR_ERR_PSI_MESSAGE;
	*out = o;
	return CR_OK;
}

/* ------------------------------------------------------------- session */

cr_err psi_partner_new(const struct psi_session_offer *offer, struct psi_partner **out)
{
	struct psi_partner *p;
	enum crypto_psi_suite suite;
	if (crypto_psi_suite_parse(offer->suite, &suite) != CR_OK)
		return CR_ERR_PSI_SUITE;
	if (crypto_id_type_name(offer->id_type) == NULL)
		return CR_ERR_ID_TYPE;
	p = cr_xcalloc(1, sizeof(*p));
	p->offer = *offer;
	p->suite = suite;
	p->b = sodium_malloc(CRYPTO_PSI_SCALAR_BYTES);
	if (p->b == NULL)
		cr_die("sodium_malloc");
	crypto_psi_scalar_random(p->b);
	*out = p;
	return CR_OK;
}

static void wipe_b(struct psi_partner *p)
{
	if (p->b) {
		sodium_memzero(p->b, CRYPTO_PSI_SCALAR_BYTES);
		sodium_free(p->b);
		p->b = NULL;
	}
}

static void wipe_digests(struct psi_partner *p)
{
	if (p->digests) {
		sodium_memzero(p->digests, p->cap * CRYPTO_DIGEST_BYTES);
		free(p->digests);
	}
	p->digests = NULL;
	p->n = p->cap = 0;
}

void psi_partner_free(struct psi_partner *p)
{
	if (p == NULL)
		return;
	wipe_b(p);
	wipe_digests(p);
	free(p);
}

void psi_partner_traffic(const struct psi_partner *p, uint64_t *sent, uint64_t *received)
{
	*sent = p->sent;
	*received = p->received;
}

/* --------------------------------------------------------------- load */

/* Appends one digest, growing by copy-and-wipe so no stale copy is left behind. */
static void digests_push(struct psi_partner *p, const uint8_t d[static CRYPTO_DIGEST_BYTES])
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		uint8_t *grown = cr_xmalloc(cap * CRYPTO_DIGEST_BYTES);
		if (p->digests) {
			memcpy(grown, p->digests, p->n * CRYPTO_DIGEST_BYTES);
			sodium_memzero(p->digests, p->cap * CRYPTO_DIGEST_BYTES);
			free(p->digests);
		}
		p->digests = grown;
		p->cap = cap;
	}
	memcpy(p->digests + p->n * CRYPTO_DIGEST_BYTES, d, CRYPTO_DIGEST_BYTES);
	p->n++;
}

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CRYPTO_DIGEST_BYTES);
}

#define SORT_BUCKETS 65536 /* by the first two bytes */

/*
 * Sorts n digests: a counting pass on their first two bytes into a copy,
 * then each bucket by qsort (about n / 65536 digests each for digests of
 * identifiers; crafted ones sharing their first bytes fall to one qsort,
 * no worse than sorting them all). About 5x faster than one qsort of 10^6.
 */
static void digests_sort(uint8_t *d, size_t n)
{
	size_t *start = cr_xcalloc(SORT_BUCKETS + 1, sizeof(size_t));
	size_t *next = cr_xmalloc(SORT_BUCKETS * sizeof(size_t));
	uint8_t *tmp = cr_xmalloc(n * CRYPTO_DIGEST_BYTES);
	for (size_t i = 0; i < n; i++)
		start[((size_t)d[i * CRYPTO_DIGEST_BYTES] << 8 | d[i * CRYPTO_DIGEST_BYTES + 1]) + 1]++;
	for (size_t b = 0; b < SORT_BUCKETS; b++) {
		start[b + 1] += start[b];
		next[b] = start[b];
	}
	for (size_t i = 0; i < n; i++) {
		size_t b = (size_t)d[i * CRYPTO_DIGEST_BYTES] << 8 | d[i * CRYPTO_DIGEST_BYTES + 1];
		memcpy(tmp + next[b]++ * CRYPTO_DIGEST_BYTES, d + i * CRYPTO_DIGEST_BYTES, CRYPTO_DIGEST_BYTES);
	}
	for (size_t b = 0; b < SORT_BUCKETS; b++)
		if (start[b + 1] - start[b] > 1)
			qsort(tmp + start[b] * CRYPTO_DIGEST_BYTES, start[b + 1] - start[b], CRYPTO_DIGEST_BYTES,
			      digest_cmp);
	memcpy(d, tmp, n * CRYPTO_DIGEST_BYTES);
	sodium_memzero(tmp, n * CRYPTO_DIGEST_BYTES);
	free(tmp);
	free(next);
	free(start);
}

/* Sorts and removes duplicates; returns how many were removed. */
static uint64_t digests_dedup(struct psi_partner *p)
{
	size_t w = 0;
	if (p->n == 0)
		return 0;
	digests_sort(p->digests, p->n);
	for (size_t r = 1; r < p->n; r++) {
		uint8_t *cur = p->digests + r * CRYPTO_DIGEST_BYTES;
		if (memcmp(cur, p->digests + w * CRYPTO_DIGEST_BYTES, CRYPTO_DIGEST_BYTES) != 0) {
			w++;
			if (w != r)
				memcpy(p->digests + w * CRYPTO_DIGEST_BYTES, cur, CRYPTO_DIGEST_BYTES);
		}
	}
	w++;
	sodium_memzero(p->digests + w * CRYPTO_DIGEST_BYTES, (p->n - w) * CRYPTO_DIGEST_BYTES);
	{
		uint64_t removed = p->n - w;
		p->n = w;
		return removed;
	}
}

/* The identifier column: raw ("email") first, else the digest ("email_sha256"). */
static int id_column(const struct rowreader *r, enum crypto_id_type t, bool *digest)
{
	char name[32];
	int col = rowreader_find(r, crypto_id_type_name(t));
	*digest = false;
	if (col >= 0)
		return col;
	snprintf(name, sizeof(name), "%s_sha256", crypto_id_type_name(t));
	*digest = true;
	return rowreader_find(r, name);
}

/*
 * Identifiers are digested a batch at a time on the pool (reading a
 * million e-mail addresses took about 0.45 s on one thread while the other
 * core waited, about half of it normalizing and hashing them; the match's
 * list read went from 0.49-0.50 to 0.41-0.46 s); the batch's rows keep
 * their file order, so the counts and the first refused line are those of
 * a serial read.
 */
#define DIGEST_BATCH 16384

struct digest_batch {
	enum crypto_id_type type;
	bool digest;                      /* the column holds hex digests */
	const struct crypto_id_opts *opts;
	size_t n;
	char *text;                       /* the identifiers, each NUL-terminated; wiped */
	size_t text_len, text_cap;
	size_t off[DIGEST_BATCH];         /* where identifier i starts in text */
	size_t len[DIGEST_BATCH];
	uint64_t line[DIGEST_BATCH];
	cr_err rc[DIGEST_BATCH];
	uint8_t d[DIGEST_BATCH][CRYPTO_DIGEST_BYTES]; /* wiped */
};

static cr_err digest_range(void *ctx, size_t begin, size_t end)
{
	struct digest_batch *b = ctx;
	for (size_t i = begin; i < end; i++) {
		const char *v = b->text + b->off[i];
		b->rc[i] = b->digest ? crypto_digest_parse_hex(v, b->len[i], b->d[i])
				     : crypto_id_digest(b->type, v, b->len[i], b->opts, b->d[i]);
	}
	return CR_OK;
}

static void batch_add(struct digest_batch *b, const char *v, uint64_t line)
{
	size_t len = strlen(v);
	if (b->text_len + len + 1 > b->text_cap) {
		size_t cap = b->text_cap ? b->text_cap : 1 << 20;
		char *grown;
		while (cap < b->text_len + len + 1)
			cap *= 2;
		grown = cr_xmalloc(cap);
		if (b->text) {
			memcpy(grown, b->text, b->text_len);
			sodium_memzero(b->text, b->text_cap);
			free(b->text);
		}
		b->text = grown;
		b->text_cap = cap;
	}
	memcpy(b->text + b->text_len, v, len + 1);
	b->off[b->n] = b->text_len;
	b->len[b->n] = len;
	b->line[b->n] = line;
	b->text_len += len + 1;
	b->n++;
}

/* Digests the batch on the pool and adds its rows to the list, in order. */
static cr_err batch_flush(struct psi_partner *p, struct crypto_pool *pool, struct digest_batch *b,
			  struct psi_partner_report *rep)
{
	cr_err rc = crypto_pool_run(pool, b->n, digest_range, b);
	for (size_t i = 0; i < b->n && rc == CR_OK; i++) {
		if (b->rc[i] != CR_OK) {
			if (rep->invalid++ == 0)
				rep->first_invalid_line = b->line[i];
			continue;
		}
		digests_push(p, b->d[i]);
	}
	if (b->text != NULL)
		sodium_memzero(b->text, b->text_len);
	sodium_memzero(b->d, b->n * CRYPTO_DIGEST_BYTES);
	b->n = b->text_len = 0;
	return rc;
}

static cr_err read_rows(struct psi_partner *p, struct crypto_pool *pool, struct rowreader *r, int col,
			bool digest, const struct crypto_id_opts *opts, struct psi_partner_report *rep)
{
	struct digest_batch *b = cr_xcalloc(1, sizeof(*b));
	const char *const *fields;
	uint64_t line = 0;
	bool eof = false;
	cr_err rc;
	b->type = p->offer.id_type;
	b->digest = digest;
	b->opts = opts;
	for (;;) {
		rc = rowreader_next(r, &fields, &line, &eof);
		if (rc != CR_OK || eof)
			break;
		if (++rep->rows > PSI_PARTNER_ROWS_MAX) {
			rc = CR_ERR_TOO_LARGE;
			break;
		}
		batch_add(b, fields[col], line);
		if (b->n == DIGEST_BATCH && (rc = batch_flush(p, pool, b, rep)) != CR_OK)
			break;
	}
	if (rc == CR_OK)
		rc = batch_flush(p, pool, b, rep);
	if (b->text) {
		sodium_memzero(b->text, b->text_cap);
		free(b->text);
	}
	sodium_memzero(b, sizeof(*b));
	free(b);
	return rc;
}

cr_err psi_partner_load(struct psi_partner *p, struct crypto_pool *pool, FILE *f, const char *name_hint,
			const struct crypto_id_opts *opts, struct psi_partner_report *rep,
			char *err, size_t errcap)
{
	struct psi_partner_report r = { 0 };
	struct rowreader *rr = NULL;
	bool digest = false;
	int col;
	cr_err rc = p->state == P_NEW ? CR_OK : CR_ERR_PSI_SESSION_STATE;
	if (rc == CR_OK)
		rc = rowreader_open(f, ROWREADER_AUTO, name_hint, &rr);
	if (rc != CR_OK)
		goto out;
	col = id_column(rr, p->offer.id_type, &digest);
	if (col < 0) {
		rc = CR_ERR_PSI_NO_ID_COLUMN;
		goto out;
	}
	rc = read_rows(p, pool, rr, col, digest, opts, &r);
	if (rc != CR_OK)
		goto out;
	r.duplicates = digests_dedup(p);
	r.distinct = p->n;
	p->state = P_LOADED;
out:
	if (rc != CR_OK && err && errcap && rr)
		snprintf(err, errcap, "%s", rowreader_error(rr));
	rowreader_free(rr);
	if (rc != CR_OK)
		wipe_digests(p);
	else if (rep)
		*rep = r;
	return rc;
}

/* -------------------------------------------------------------- rounds */

struct gather_job {
	const uint8_t *in;
	uint8_t *out;
	const uint32_t *perm;
};

/* out[i] = in[perm[i]] for i in [begin, end). */
static cr_err gather_range(void *ctx, size_t begin, size_t end)
{
	const struct gather_job *g = ctx;
	for (size_t i = begin; i < end; i++)
		memcpy(g->out + i * CRYPTO_PSI_ELEMENT_BYTES, g->in + (size_t)g->perm[i] * CRYPTO_PSI_ELEMENT_BYTES,
		       CRYPTO_PSI_ELEMENT_BYTES);
	return CR_OK;
}

/*
 * B in a fresh uniformly random order: Fisher-Yates over 4-byte indices,
 * with unbiased uniform draws from a ChaCha20 stream seeded once (not one
 * system call per draw), then the 32-byte elements gathered in that order
 * on the pool. Swapping the elements themselves on one thread took about
 * 0.14 s at a million, mostly the random reads. Returns the shuffled copy;
 * e is wiped and freed. n is at most PSI_PARTNER_ROWS_MAX (< 2^32).
 */
static uint8_t *shuffle_elements(struct crypto_pool *pool, uint8_t *e, size_t n)
{
	uint32_t *perm = cr_xmalloc(n ? n * sizeof(uint32_t) : 1);
	struct gather_job g = { .in = e, .out = cr_xmalloc(n ? n * CRYPTO_PSI_ELEMENT_BYTES : 1), .perm = perm };
	struct crypto_stream_rng rng;
	crypto_stream_rng_init(&rng);
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)crypto_random_uniform(&rng.rng, i);
		uint32_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	crypto_stream_rng_wipe(&rng);
	if (crypto_pool_run(pool, n, gather_range, &g) != CR_OK)
		cr_die("shuffle: gather"); /* gather_range cannot fail */
	sodium_memzero(e, n * CRYPTO_PSI_ELEMENT_BYTES);
	free(e);
	sodium_memzero(perm, n * sizeof(uint32_t));
	free(perm);
	return g.out;
}

cr_err psi_partner_blind(struct psi_partner *p, struct crypto_pool *pool, struct psi_elements *b_out)
{
	uint8_t *e = NULL;
	size_t n = p->n;
	cr_err rc = p->state == P_LOADED ? CR_OK : CR_ERR_PSI_SESSION_STATE;
	if (rc == CR_OK && n < p->offer.min_set)
		rc = CR_ERR_PSI_SET_TOO_SMALL;
	if (rc == CR_OK && n > p->offer.max_set)
		rc = CR_ERR_PSI_SET_TOO_LARGE;
	if (rc != CR_OK)
		return rc;
	e = cr_xmalloc(n ? n * CRYPTO_PSI_ELEMENT_BYTES : 1);
	rc = crypto_psi_hash_batch(pool, p->suite, p->offer.id_type, p->digests, e, n);
	wipe_digests(p);
	if (rc == CR_OK)
		rc = crypto_psi_mul_batch(pool, p->suite, p->b, e, e, n, NULL);
	if (rc != CR_OK) {
		free(e);
		return rc;
	}
	e = shuffle_elements(pool, e, n);
	p->state = P_BLINDED;
	p->sent += (uint64_t)n * CRYPTO_PSI_ELEMENT_BYTES;
	b_out->bytes = e;
	b_out->count = n;
	return CR_OK;
}

cr_err psi_partner_answer(struct psi_partner *p, struct crypto_pool *pool, const uint8_t *a,
			  size_t len, struct psi_elements *a_prime_out)
{
	uint8_t *out = NULL;
	size_t n = (size_t)p->offer.elements;
	cr_err rc = p->state == P_BLINDED && p->b ? CR_OK : CR_ERR_PSI_SESSION_STATE;
	if (rc != CR_OK)
		return rc;
	p->received += len;
	if (p->offer.elements > SIZE_MAX / CRYPTO_PSI_ELEMENT_BYTES || len != n * CRYPTO_PSI_ELEMENT_BYTES)
		rc = CR_ERR_PSI_COUNT;
	if (rc == CR_OK) {
		out = cr_xmalloc(n ? n * CRYPTO_PSI_ELEMENT_BYTES : 1);
		rc = crypto_psi_mul_batch(pool, p->suite, p->b, a, out, n, NULL);
	}
	wipe_b(p); /* a session answers once, whatever happened */
	p->state = P_ANSWERED;
	if (rc != CR_OK) {
		free(out);
		return rc;
	}
	p->sent += (uint64_t)n * CRYPTO_PSI_ELEMENT_BYTES;
	a_prime_out->bytes = out;
	a_prime_out->count = n;
	return CR_OK;
}

/* ------------------------------------------------------------ release */

static bool int_field(const json_t *o, const char *key)
{
	return json_is_integer(json_object_get(o, key));
}

static bool str_field(const json_t *o, const char *key)
{
	return json_is_string(json_object_get(o, key));
}

/* A released cell: dimensions (strings), a noisy count, optional sums (integers). */
static bool cell_ok(const json_t *c)
{
	const json_t *dims = json_object_get(c, "dimensions"), *sum = json_object_get(c, "sum"), *v;
	const char *key;
	if (!json_is_object(c) || !json_is_object(dims) || !int_field(c, "count") ||
	    json_object_size(c) != (sum ? 3u : 2u) || (sum && !json_is_object(sum)))
		return false;
	json_object_foreach((json_t *)dims, key, v)
		if (!json_is_string(v))
			return false;
	if (sum)
		json_object_foreach((json_t *)sum, key, v)
			if (!json_is_integer(v))
				return false;
	return true;
}

static bool release_shape_ok(const json_t *j, const char *session)
{
	static const char *const common[] = { "release", "collaboration", "session", "id", "query",
					      "outcome", "k", "epsilon_charged", "budget", "budget_left",
					      "charged" };
	const char *outcome = json_string_value(json_object_get(j, "outcome"));
	const char *kind = json_string_value(json_object_get(j, "release"));
	const char *sess = json_string_value(json_object_get(j, "session"));
	const json_t *cells = json_object_get(j, "cells"), *c;
	size_t i, extra;
	if (!json_is_object(j) || outcome == NULL || kind == NULL || sess == NULL)
		return false;
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (json_object_get(j, common[i]) == NULL)
			return false;
	if (strcmp(kind, "cr-release-v1") != 0 || strcmp(sess, session) != 0 ||
	    !int_field(j, "collaboration") || !int_field(j, "id") || !int_field(j, "k") ||
	    !str_field(j, "epsilon_charged") || !str_field(j, "budget_left") ||
	    !json_is_boolean(json_object_get(j, "charged")))
		return false;
	if (strcmp(outcome, "refused") == 0) {
		extra = 2;
		if (!str_field(j, "reason") || !str_field(j, "message"))
			return false;
	} else if (strcmp(outcome, "released") == 0) {
		extra = 3;
		if (!json_is_array(cells) || !json_is_object(json_object_get(j, "suppressed")) ||
		    !int_field(j, "noisy_total"))
			return false;
		json_array_foreach(cells, i, c)
			if (!cell_ok(c))
				return false;
	} else {
		return false;
	}
	return json_object_size(j) == sizeof(common) / sizeof(common[0]) + extra;
}

cr_err psi_partner_release(struct psi_partner *p, const char *json, size_t len, json_t **out)
{
	json_t *j;
	if (p->state != P_ANSWERED)
		return CR_ERR_PSI_SESSION_STATE;
	p->received += len;
	j = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !release_shape_ok(j, p->offer.session)) {
		json_decref(j);
		return CR_ERR_PSI_MESSAGE;
	}
	p->state = P_DONE;
	*out = j;
	return CR_OK;
}
