/*
 * ingest.h: consent-gated ingestion of a customer list into a dataset
 * (internal to cleanroom/).
 *
 * Two passes over the file. The first checks only its structure (header,
 * CSV/NDJSON syntax, UTF-8, column counts, sizes): a file that fails it is
 * refused whole and nothing of it is stored. The second turns each row into
 * keyed forms and stores accepted rows in batched transactions:
 *   identifier -> normalized -> SHA-256 digest (then wiped)
 *              -> pseudonym = HMAC(K_pseudo[brand, version], ...)   (I1)
 *              -> the gate: consent for every purpose and recipient,
 *                 and the suppression list                          (I2, R33)
 *              -> PSI element k·H(t, d) on the worker pool
 * Each committed batch also carries one audit leaf, appended by the
 * caller's batch hook inside the same transaction (I5).
 */
#ifndef CR_CLEANROOM_INGEST_H
#define CR_CLEANROOM_INGEST_H

#include <stdio.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "cleanroom/dataset.h"
#include "cleanroom/store.h"

enum ingest_outcome {
	INGEST_INVALID_IDENTIFIER = 0,
	INGEST_INVALID_ATTRIBUTE,
	INGEST_NO_CONSENT,
	INGEST_SUPPRESSED,
	INGEST_OUTCOME_COUNT
};

#define INGEST_FIRST_LINES 5
#define INGEST_REASONS_MAX 16

/* Rejections of one kind: how many, and the first few line numbers. */
struct ingest_rejections {
	uint64_t count;
	size_t nlines;
	uint64_t lines[INGEST_FIRST_LINES];
};

struct ingest_report {
	uint64_t read, accepted, replaced;
	struct ingest_rejections rejected[INGEST_OUTCOME_COUNT];
	/* no_consent broken down by the registry's reason code */
	size_t nreasons;
	struct {
		char name[40];
		uint64_t count;
	} reasons[INGEST_REASONS_MAX];
	uint64_t batches;
};

/* What the gate decided for one subject. */
enum ingest_verdict { INGEST_ALLOW = 0, INGEST_DENY, INGEST_DENY_SUPPRESSED };

/*
 * The consent gate, supplied by the orchestrator (it wraps the consent
 * registry). Decides for `p` at time `at`; on INGEST_DENY writes a stable
 * reason name (e.g. "WITHDRAWN") into reason[40].
 */
struct ingest_gate {
	cr_err (*decide)(void *ctx, const struct dataset *d, const struct crypto_pseudonym *p,
			 cr_time_ms at, enum ingest_verdict *verdict, char reason[40]);
	void *ctx;
};

/* What one committed batch did, for its audit leaf (no personal data). */
struct ingest_batch {
	const struct dataset *dataset;
	uint64_t rows, accepted, replaced, rejected;
	uint64_t first_line, last_line;
	/* The stored rows' pseudonyms (accepted x 32 bytes, borrowed for the
	 * call), for the leaf's salted commitment (ops_ingest.c); never in a leaf */
	const uint8_t *pseudonyms;
};

/* Called inside each batch's transaction, before COMMIT. */
struct ingest_hooks {
	cr_err (*on_batch)(void *ctx, const struct ingest_batch *b);
	void *ctx;
	/* Progress, called between batches, with no transaction open (may be NULL). */
	void (*on_progress)(void *ctx, uint64_t rows, uint64_t bytes);
	/* Asked after each row (may be NULL): true ends the batch there, before
	 * batch_rows (someone waits for the store). */
	bool (*cut)(void *ctx);
};

struct ingest_opts {
	const struct crypto_id_opts *id_opts; /* default country etc. (may be NULL) */
	size_t batch_rows;                    /* 0: 4096 */
	cr_time_ms at;                        /* 0: each batch is judged at the moment its
					       * write transaction begins (a withdrawal
					       * committed between batches is honoured);
					       * otherwise this fixed time (tests, back-fills) */
};

/*
 * Ingests `f` (seekable; borrowed) into dataset `d` of the app's store. On a
 * structural failure returns the error with a one-line reason in err
 * (naming the line, never a value) and stores nothing. Otherwise returns
 * CR_OK and fills *report (rows may still have been rejected).
 */
cr_err ingest_run(struct store *s, const struct crypto_keyring *keys,
		  struct crypto_pool *pool, const struct dataset *d, FILE *f,
		  const char *name_hint, const struct ingest_opts *opts,
		  const struct ingest_gate *gate, const struct ingest_hooks *hooks,
		  struct ingest_report *report, char *err, size_t errcap) CR_MUST_CHECK;

/* "invalid_identifier", "invalid_attribute", "no_consent", "suppressed". */
const char *ingest_outcome_name(enum ingest_outcome o);

#endif
