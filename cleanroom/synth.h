/*
 * synth.h: the deterministic synthetic data generator behind `cleanroom
 * synth` (internal to cleanroom/).
 *
 * Everything is a pure function of (seed, index): person `pid`'s identity,
 * customer `i`'s attributes and consent story, and each formatted variant of
 * an email come from their own ChaCha20 stream keyed by
 * BLAKE2b("cleanroom-synth-v1" || seed) with the stream kind and the index in
 * the nonce. So any record can be regenerated on demand (the partner list
 * re-derives its overlapping customers from their index instead of keeping
 * their emails), and the same seed always gives byte-identical files.
 *
 * Identities: person `pid` (customers are 0..N-1, partner-only people N..)
 * gets an email whose local part ends in tag(pid) = (a*pid + b) mod 10^8, a
 * bijection chosen by the seed. No name part contains a digit, so the
 * trailing digits are exactly the tag and every person's normalized email
 * (docs/spec/identifiers.md) is unique; the +86 mobile number carries the same tag.
 *
 * The consent mix (per 10,000 customers, see synth_kind_info()):
 *   7900 full       served, grant per purpose, separate grant for partner-1
 *    100 objected   full, then a marketing objection (signal gpc, R21)
 *    400 served     served only, never answered
 *    400 refused    served, then a refuse per purpose
 *    400 withdrawn  full, then a withdrawal of everything 1-60 days later
 *    100 unshared   full, then a withdrawal of the partner-1 sharing only
 *    300 child      full but born 2013-2016 (< 14), actor subject: denied (R15)
 *    200 guardian   born 2013-2016, grants by actor guardian with guardian_ref
 *    100 expired    grants expire 30-180 days after they are given (R14)
 *    100 expiring   grants expire two years after they are given
 * Every grant carries jurisdiction CN and the birth_year. The age_band column
 * keeps the five adult bands (18-24 .. 55+); minors are recorded in 18-24, as
 * a brand's form that offers no younger band would, so their rows reach the
 * consent gate instead of failing the column check.
 */
#ifndef CR_CLEANROOM_SYNTH_H
#define CR_CLEANROOM_SYNTH_H

#include <stdio.h>

#include "common/common.h"

/* At most this many customers and partner rows (tags need N + M < 10^8). */
#define SYNTH_ROWS_MAX 20000000u
#define SYNTH_EMAIL_MAX 80  /* longest email variant, with its whitespace, + NUL */
#define SYNTH_PHONE_MAX 24  /* longest phone layout + NUL */
#define SYNTH_KEY_BYTES 32

/* The seed expanded into the generator's key and tag bijection. Not secret. */
struct synth_gen {
	uint8_t key[SYNTH_KEY_BYTES];
	uint32_t tag_mul;  /* odd, not a multiple of 5: invertible mod 10^8 */
	uint32_t tag_add;
};

/* A ChaCha20 key stream for one (stream kind, index), read in small pieces. */
struct synth_rng {
	const uint8_t *key;  /* borrowed from the synth_gen */
	uint8_t nonce[12];
	uint32_t block;      /* next ChaCha20 block counter */
	size_t pos;          /* bytes of buf already used */
	uint8_t buf[64];
};

/* Stream kinds: each use of randomness gets its own so records are independent. */
enum synth_stream {
	SYNTH_STREAM_PERSON = 1,   /* index pid: name, domain, phone prefix */
	SYNTH_STREAM_CSV = 2,      /* index pid: the customers.csv variants */
	SYNTH_STREAM_CUSTOMER = 3, /* index i: attributes and consent story */
	SYNTH_STREAM_PARTNER = 4,  /* index pid: the partner.csv variant */
	SYNTH_STREAM_PICK = 5,     /* index 0: overlap selection and shuffle */
	SYNTH_STREAM_SETUP = 6,    /* index 0: the tag bijection */
};

/* Expands `seed` into *g. */
void synth_gen_init(struct synth_gen *g, uint64_t seed);

/* Starts the stream (kind, index) of generator g; g must outlive r. */
void synth_rng_init(struct synth_rng *r, const struct synth_gen *g,
		    enum synth_stream kind, uint64_t index);
uint32_t synth_rng_u32(struct synth_rng *r);
/* Uniform in [0, n) without modulo bias; n >= 1. */
uint32_t synth_rng_below(struct synth_rng *r, uint32_t n);

/* One person's identity in its registered (already normalized) form. */
struct synth_person {
	char email[SYNTH_EMAIL_MAX]; /* lowercase, no whitespace */
	size_t at;                   /* offset of '@' in email */
	bool gmail;                  /* gmail.com or googlemail.com: dots don't count */
	char phone[16];              /* E.164: "+86" and 11 digits (a China mobile number) */
};

/* Person `pid` (< 10^8) of generator g. */
void synth_person_make(const struct synth_gen *g, uint32_t pid, struct synth_person *out);

/* The normalized email of `p` (gmail dots removed) into out[SYNTH_EMAIL_MAX]. */
void synth_person_normalized(const struct synth_person *p, char out[static SYNTH_EMAIL_MAX]);

/*
 * A messy variant of p's email drawn from r: case changes, surrounding
 * spaces, and for gmail/googlemail dots removed or added. Every variant
 * normalizes to synth_person_normalized(p).
 */
void synth_email_variant(const struct synth_person *p, struct synth_rng *r,
			 char out[static SYNTH_EMAIL_MAX]);

/*
 * p's phone in one of the +86 layouts ("+86 138 0013 8000", "+86-138-...",
 * ...), checked with the service's normalization (libphonenumber): a layout
 * it does not read as p->phone stops the program (cr_die).
 */
void synth_phone_variant(const struct synth_person *p, struct synth_rng *r,
			 char out[static SYNTH_PHONE_MAX]);

/* A customer's consent story; the order is the order of the summary. */
enum synth_kind {
	SYNTH_KIND_FULL = 0,
	SYNTH_KIND_OBJECTED,
	SYNTH_KIND_SERVED_ONLY,
	SYNTH_KIND_REFUSED,
	SYNTH_KIND_WITHDRAWN,
	SYNTH_KIND_UNSHARED,
	SYNTH_KIND_CHILD,
	SYNTH_KIND_GUARDIAN,
	SYNTH_KIND_EXPIRED,
	SYNTH_KIND_EXPIRING,
	SYNTH_KIND_COUNT
};

/* The name ("full", "child", ...) and share per 10,000 of each kind. */
struct synth_kind_info {
	const char *name;
	uint32_t per_10k;
	const char *what;  /* one line for --help */
};
const struct synth_kind_info *synth_kind_info(enum synth_kind k);

/* Event types written to consent.ndjson, for the summary's counts. */
/* GUARDIAN_LINK is no consent event but a line of the same file: the
 * brand's verified guardian link (R16), written before the guardian's grants. */
enum synth_event { SYNTH_EV_SERVED = 0, SYNTH_EV_GRANT, SYNTH_EV_REFUSE,
		   SYNTH_EV_WITHDRAW, SYNTH_EV_OBJECT, SYNTH_EV_GUARDIAN_LINK, SYNTH_EV_COUNT };
const char *synth_event_name(enum synth_event e);

/* What a run wrote; counts only (never personal data). */
struct synth_counts {
	uint64_t customers;
	uint64_t partner_rows;
	uint64_t partner_overlap;
	uint64_t events;
	uint64_t by_kind[SYNTH_KIND_COUNT];
	uint64_t by_event[SYNTH_EV_COUNT];
};

/*
 * Called when a phase ("customers", "partner") starts (done = 0), about every
 * 64k rows, and at its end (done = total); may be NULL.
 */
typedef void (*synth_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

/* A growable output buffer for one record's lines. */
struct synth_buf {
	char *p;   /* owned */
	size_t len, cap;
};
void synth_buf_release(struct synth_buf *b);

/*
 * Appends customer i's customers.csv row to csv and its consent events (one
 * JSON object per line) to ndjson; adds to *counts. Both buffers are
 * appended to, not reset.
 */
void synth_customer_render(const struct synth_gen *g, uint32_t i, struct synth_buf *csv,
			   struct synth_buf *ndjson, struct synth_counts *counts);

/*
 * Appends one CSV field to b, quoted per RFC 4180 only when it holds a comma,
 * a double quote, CR or LF.
 */
void synth_csv_field(struct synth_buf *b, const char *s);

/*
 * Formats local seconds since 1970-01-01T00:00:00 (in UTC+8) as
 * "YYYY-MM-DDTHH:MM:SS+08:00" into out (26 bytes with the NUL).
 */
void synth_time_format(int64_t local_s, char out[static 26]);

/* Writes the privacy notice (version 1, zh-CN) as pretty JSON. CR_ERR_IO on failure. */
cr_err synth_notice_write(FILE *f) CR_MUST_CHECK;

/*
 * Writes the header and N customer rows to csv and their events to ndjson.
 * Fills counts->customers, events, by_kind, by_event. CR_ERR_IO on failure.
 */
cr_err synth_customers_write(const struct synth_gen *g, uint32_t n, FILE *csv, FILE *ndjson,
			     struct synth_counts *counts, synth_progress_fn progress,
			     void *ctx) CR_MUST_CHECK;

/*
 * Fills rows[0..m) with the partner list's person ids in file order: `k`
 * distinct customers (< n) picked uniformly, m - k new people (n, n+1, ...),
 * shuffled. Needs k <= n, k <= m and n + m < 10^8 (CR_ERR_INVALID_ARG).
 */
cr_err synth_partner_rows(const struct synth_gen *g, uint32_t n, uint32_t m, uint32_t k,
			  uint32_t *rows) CR_MUST_CHECK;

/*
 * Writes partner.csv: the header `email` and, for each id in rows (from
 * synth_partner_rows), a variant of that person's email that differs byte-wise
 * from its customers.csv variant. Fills counts->partner_rows and
 * partner_overlap. CR_ERR_IO on failure.
 */
cr_err synth_partner_write(const struct synth_gen *g, uint32_t n, const uint32_t *rows,
			   uint32_t m, FILE *f, struct synth_counts *counts,
			   synth_progress_fn progress, void *ctx) CR_MUST_CHECK;

/*
 * The customers.csv email variant of customer `pid` (as synth_customer_render
 * writes it); the partner writer uses it to make its variant differ.
 */
void synth_csv_email(const struct synth_gen *g, const struct synth_person *p, uint32_t pid,
		     char out[static SYNTH_EMAIL_MAX]);

#endif
