/*
 * dataset.h: datasets and their records (internal to cleanroom/).
 *
 * A dataset belongs to one brand and declares its purposes (every record
 * needs consent for all of them, I2), the recipients its data may be shared
 * with (each needs a separate sharing consent, R09), the identifier type and
 * normalization profile, and typed attribute columns. A record holds only
 * keyed forms (I1): the HMAC pseudonym with its key version and the PSI
 * element k·H(t, d); attributes are one int64 per column.
 *
 * These functions run inside the caller's transaction; the caller appends
 * the audit leaf for each change (I5).
 */
#ifndef CR_CLEANROOM_DATASET_H
#define CR_CLEANROOM_DATASET_H

#include "common/common.h"
#include "crypto/crypto.h"
#include "cleanroom/columns.h"
#include "cleanroom/store.h"

#define DATASET_NAME_MAX 64
#define DATASET_PURPOSES_MAX 8
#define DATASET_CODE_MAX 64

extern const char dataset_schema_v1[];
/* Migration: datasets.child_directed. */
extern const char dataset_schema_v2[];
/* Migration: datasets.suite (issue 22); datasets from before keep r255-sha512. */
extern const char dataset_schema_v3[];

struct dataset {
	int64_t id;
	int64_t brand_id;
	char name[DATASET_NAME_MAX + 1];
	enum crypto_id_type id_type;
	char profile[16];
	size_t npurposes;
	char purposes[DATASET_PURPOSES_MAX][DATASET_CODE_MAX + 1];
	size_t nrecipients;
	char recipients[DATASET_PURPOSES_MAX][DATASET_CODE_MAX + 1];
	struct column_set columns;
	uint32_t key_version;
	cr_time_ms created;
	bool child_directed;    /* aimed at children: unknown age denies (R15) */
	enum crypto_psi_suite suite; /* its records' elements; fixed at creation */
};

/* True if `name` is 1-64 of [a-z0-9_-]. */
bool dataset_name_valid(const char *name);

/*
 * Splits a comma-separated list of codes ("a,b") into `out` (at most
 * DATASET_PURPOSES_MAX, each 1-64 of [a-z0-9_.-], no duplicates).
 * An empty or NULL list gives zero codes when allow_empty is set.
 */
cr_err dataset_codes_parse(const char *list, bool allow_empty,
			   char out[][DATASET_CODE_MAX + 1], size_t *n) CR_MUST_CHECK;

/* Stores a new dataset; writes d->id. CR_ERR_DATASET_EXISTS on a name clash. */
cr_err dataset_insert(struct store *s, struct dataset *d) CR_MUST_CHECK;
/* Loads the brand's dataset `name`. CR_ERR_DATASET_NOT_FOUND if none. */
cr_err dataset_get(struct store *s, int64_t brand_id, const char *name,
		   struct dataset *out) CR_MUST_CHECK;
cr_err dataset_get_by_id(struct store *s, int64_t id, struct dataset *out) CR_MUST_CHECK;
/* Calls fn for each of the brand's datasets in name order. */
cr_err dataset_each(struct store *s, int64_t brand_id,
		    void (*fn)(void *ctx, const struct dataset *d), void *ctx) CR_MUST_CHECK;
/* The number of records stored in the dataset. */
cr_err dataset_record_count(struct store *s, int64_t dataset_id, uint64_t *out) CR_MUST_CHECK;

/* True if the dataset needs `purpose` / shares with `recipient`. */
bool dataset_has_purpose(const struct dataset *d, const char *purpose);
bool dataset_has_recipient(const struct dataset *d, const char *recipient);

#endif
