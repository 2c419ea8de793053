/*
 * collab.h: collaborations, their analysis rules and privacy-budget ledgers
 * (internal to cleanroom/; docs/spec/privacy.md).
 *
 * A collaboration binds one brand dataset to one partner (a recipient the
 * dataset shares with, declared by the brand's current notice) under an
 * analysis rule: the dimensions a query may group by (enum columns), the
 * metrics it may ask for (count always; clamped sums of int columns), the
 * threshold k, epsilon per query, the most dimensions per query, and the
 * partner set's size limits. Epsilon is kept in exact thousandths
 * ("milli"), never as a double, so a ledger adds up exactly.
 *
 * The budget is not the collaboration's but its (dataset, partner) pair's:
 * every collaboration on the pair draws on one budget, set when the pair's
 * first collaboration is created and raised only by the brand's audited
 * collab_budget_raise (issue 21 item 3). Otherwise a brand could hand one
 * partner a fresh budget on the same records with every new collaboration.
 *
 * Tables (collab_schema_v1 and _v2, all STRICT):
 *   collaborations        the rule; immutable once created (its budget
 *                         column keeps the pair's budget at creation)
 *   collab_budgets        one row per (dataset, partner): the budget it
 *                         started with; immutable
 *   collab_budget_raises  each raise: from, to, the collaboration it was
 *                         asked through, the actor; append-only, and each
 *                         must start from the current budget and go up
 *   collab_releases       every answer of a release step: what the partner
 *                         saw (JSON), released or refused; append-only
 *   collab_ledger         the budget debits: collaboration, time, query,
 *                         epsilon, release id; append-only. A pair's budget
 *                         left = its budget - the sum of the debits of
 *                         every collaboration on the pair.
 * Triggers make all but collaborations append-only and collaborations
 * immutable, so "no silent refresh" holds for anything that goes through
 * SQL; a collaboration cannot be stored without its pair's budget row.
 *
 * Functions taking a struct store run inside the caller's transaction;
 * collab_create and collab_budget_raise run their own (the change and its
 * audit leaf together, I5). The rules are collab.c's, the pairs' budgets
 * collab_budget.c's.
 */
#ifndef CR_CLEANROOM_COLLAB_H
#define CR_CLEANROOM_COLLAB_H

#include <jansson.h>

#include "common/common.h"
#include "cleanroom/columns.h"
#include "cleanroom/dataset.h"
#include "cleanroom/store.h"

struct app;
struct registry_actor;

extern const char collab_schema_v1[];
/* Migration: budgets per (dataset, partner), raises; existing pairs get the
 * largest budget of their collaborations (docs/operations.md). */
extern const char collab_schema_v2[];
extern const char collab_schema_v3[];  /* pad_to (issue 21, item 4) */

#define COLLAB_SUMS_MAX 4              /* sum metrics per rule (and per query) */
#define COLLAB_DIMS_MAX COLUMNS_MAX
#define COLLAB_K_MIN 10                /* docs/spec/privacy.md: the brand may not go below */
#define COLLAB_K_DEFAULT 50
#define COLLAB_EPSILON_DEFAULT 500     /* 0.5, in thousandths */
/* 1.0: over a pair's whole budget, what a partner learns about any one
 * person moves its odds by at most e^1 (about 2.72); docs/spec/privacy.md. */
#define COLLAB_BUDGET_DEFAULT 1000
#define COLLAB_MILLI_MAX 1000000       /* 1000.0: the largest epsilon or budget */
#define COLLAB_MAX_DIMS_DEFAULT 2      /* per query, unless the brand allows more */
#define COLLAB_MIN_SET_DEFAULT 1000
#define COLLAB_MAX_SET_DEFAULT 50000000
#define COLLAB_SET_LIMIT 100000000     /* no partner set above 10^8, whatever the rule */
#define COLLAB_MILLI_STRLEN 24         /* "1000.000" and room to spare */
#define COLLAB_WHY_MAX 200
#define COLLAB_PAD_MIN 64              /* the smallest |A| a session offers */
#define COLLAB_PAD_FLOOR 1024          /* the smallest default pad_to */
#define COLLAB_PAD_MAX ((uint64_t)1 << 31)

struct collab {
	int64_t id;
	int64_t brand_id;
	int64_t dataset_id;
	char partner[DATASET_CODE_MAX + 1];
	size_t ndims;                                        /* allowed group-by columns */
	char dims[COLLAB_DIMS_MAX][COLUMN_NAME_MAX + 1];
	size_t nsums;                                        /* allowed sum metrics */
	char sums[COLLAB_SUMS_MAX][COLUMN_NAME_MAX + 1];
	uint32_t k;
	uint32_t max_dims;                                   /* dimensions per query */
	uint64_t epsilon_milli;                              /* per query */
	uint64_t budget_milli;                               /* the pair's total (collab_get: as loaded;
								collab_create: 0 = the pair's, or the default) */
	uint64_t min_partner_set, max_partner_set;
	uint64_t pad_to;       /* |A| of every session while n <= pad_to (psi_padded_size); 0: default at create */
	cr_time_ms created;
};

/* One budget debit. Strings are borrowed for the callback only. */
struct collab_debit {
	int64_t id;
	int64_t collab_id;     /* the collaboration of the pair that spent it */
	cr_time_ms time;
	const char *query;
	uint64_t epsilon_milli;
	int64_t release_id;
	const char *outcome;   /* "released" or "refused" (the release it paid for) */
};

/* One raise of a pair's budget. Strings are borrowed for the callback only. */
struct collab_raise {
	int64_t id;
	int64_t collab_id;     /* the collaboration it was asked through */
	cr_time_ms time;
	uint64_t from_milli, to_milli;
	const char *actor_role, *actor_id;
};

/* The budget of a collaboration's (dataset, partner) pair, read together. */
struct collab_budget {
	int64_t id;
	int64_t dataset_id;
	char partner[DATASET_CODE_MAX + 1];
	uint64_t initial_milli;   /* set by the pair's first collaboration */
	uint64_t budget_milli;    /* now: the initial budget or the last raise */
	uint64_t spent_milli;     /* the debits of every collaboration on the pair */
	uint64_t left_milli;      /* budget - spent, 0 if the debits ever exceed it */
	cr_time_ms created;
};

/*
 * Parses a non-negative decimal with at most three places ("0.5", "5",
 * "0.125") into thousandths, 1..COLLAB_MILLI_MAX. CR_ERR_COLLAB_EPSILON
 * otherwise (no sign, exponent, spaces or a fourth decimal: it would be
 * rounded silently).
 */
cr_err collab_milli_parse(const char *s, uint64_t *out) CR_MUST_CHECK;
/* "0.500" for 500, into buf[COLLAB_MILLI_STRLEN]. */
void collab_milli_format(uint64_t milli, char buf[static COLLAB_MILLI_STRLEN]);

/*
 * Fills c->dims and c->sums from "segment,region" and "count[,sum:spend]"
 * checked against dataset d: each dimension an enum column, each sum an
 * int column, no duplicates; "count" must be listed (it always is
 * released). CR_ERR_COLLAB_RULE with the column named in `why`.
 */
cr_err collab_rule_parse(struct collab *c, const struct dataset *d, const char *dims,
			 const char *metrics, char *why, size_t why_cap) CR_MUST_CHECK;

/*
 * Checks the numbers of a rule: k >= COLLAB_K_MIN (CR_ERR_COLLAB_K),
 * epsilon <= budget (CR_ERR_COLLAB_EPSILON), 1 <= max_dims <= ndims or the
 * rule's dimensions (CR_ERR_COLLAB_RULE), 1 <= min <= max <= COLLAB_SET_LIMIT
 * (CR_ERR_COLLAB_RULE), and that every query the rule allows gets noise the
 * exact sampler can draw (CR_ERR_COLLAB_NOISE_RANGE, release.h).
 */
cr_err collab_rule_check(const struct collab *c, const struct dataset *d, char *why,
			 size_t why_cap) CR_MUST_CHECK;

/*
 * The default pad_to for a dataset of `records` stored records: that
 * number rounded up to a multiple of max(64, 2^(bitlen - 7)), and at least
 * COLLAB_PAD_FLOOR (docs/spec/psi-protocol.md, section 7). Eligible records
 * are never more than stored ones.
 */
uint64_t collab_pad_default(uint64_t records);

/*
 * Creates collaboration `c` (rule filled; id and created are written) on
 * dataset `d` of brand `brand` (its name, for the audit leaf): the partner
 * must be one of d's recipients and declared by the brand's current notice
 * for one of d's purposes (CR_ERR_COLLAB_PARTNER, or
 * CR_ERR_CONSENT_NOTICE_NOT_FOUND), the rule must pass collab_rule_check.
 * The budget is the pair's: the first collaboration on (d, partner) sets it
 * (c->budget_milli, or COLLAB_BUDGET_DEFAULT when 0); a later one takes it
 * (c->budget_milli is written) and refuses any other value than the pair's
 * current budget (CR_ERR_COLLAB_BUDGET_SHARED, `why` says what it is). The
 * pair's row, the collaboration and its "collab.create" leaf are stored in
 * one transaction.
 */
cr_err collab_create(struct app *a, const struct registry_actor *who, const char *brand,
		     const struct dataset *d, struct collab *c, char *why,
		     size_t why_cap) CR_MUST_CHECK;

/*
 * The budget for collaboration c, about to be created on dataset d, inside
 * the caller's write transaction: the first collaboration on (d, partner)
 * sets the pair's budget (c->budget_milli, or COLLAB_BUDGET_DEFAULT when 0;
 * its row is stored, *new_pair set); a later one takes the pair's current
 * budget into c->budget_milli, and refuses any other non-zero value
 * (CR_ERR_COLLAB_BUDGET_SHARED, `why` naming the budget and how to raise it).
 */
cr_err collab_budget_take(struct store *s, const struct dataset *d, struct collab *c, bool *new_pair,
			  char *why, size_t why_cap) CR_MUST_CHECK;

/* SQL for a pair's budget now, over its collab_budgets row `b`: the last raise, or the first budget. */
#define COLLAB_PAIR_BUDGET_SQL(b) \
	"coalesce((SELECT max(x.to_milli) FROM collab_budget_raises x WHERE x.budget_id = " b ".id), " \
	b ".budget_milli)"

/*
 * Raises the budget of c's pair (c on dataset d of brand `brand`, its name
 * for the leaf) to `to_milli`, which must be above its current budget and
 * at most COLLAB_MILLI_MAX (CR_ERR_COLLAB_BUDGET_RAISE; `why` gives the
 * current budget). The caller has checked that `who` acts for the brand
 * that owns c. The raise row and its "collab.budget_raise" leaf are stored
 * in one transaction, which reads the current budget under the write lock
 * (so a raise and a release never interleave).
 */
cr_err collab_budget_raise(struct app *a, const struct registry_actor *who, const char *brand,
			   const struct dataset *d, const struct collab *c, uint64_t to_milli, char *why,
			   size_t why_cap) CR_MUST_CHECK;

/* Loads collaboration `id`; CR_ERR_COLLAB_NOT_FOUND if there is none. */
cr_err collab_get(struct store *s, int64_t id, struct collab *out) CR_MUST_CHECK;
/* Calls fn for each of the brand's collaborations (every brand's when brand_id <= 0), by id. */
cr_err collab_each(struct store *s, int64_t brand_id,
		   void (*fn)(void *ctx, const struct collab *c), void *ctx) CR_MUST_CHECK;

/*
 * The budget of collaboration `id`'s (dataset, partner) pair: its budget
 * now, and the debits of every collaboration on the pair.
 * CR_ERR_COLLAB_NOT_FOUND if there is no such collaboration.
 */
cr_err collab_budget_get(struct store *s, int64_t id, struct collab_budget *out) CR_MUST_CHECK;
/* Calls fn for each debit of collaboration `id`'s pair, oldest first. */
cr_err collab_ledger_each(struct store *s, int64_t id,
			  void (*fn)(void *ctx, const struct collab_debit *d), void *ctx) CR_MUST_CHECK;
/* Calls fn for each raise of collaboration `id`'s pair, oldest first. */
cr_err collab_raise_each(struct store *s, int64_t id,
			 void (*fn)(void *ctx, const struct collab_raise *r), void *ctx) CR_MUST_CHECK;
/* Calls fn with the id of each collaboration on collaboration `id`'s pair, by id. */
cr_err collab_pair_each(struct store *s, int64_t id, void (*fn)(void *ctx, int64_t collab_id),
			void *ctx) CR_MUST_CHECK;

/*
 * The next release id (one above the largest), to be used by
 * collab_release_insert in the same write transaction: the stored JSON
 * names its own id.
 */
cr_err collab_release_next_id(struct store *s, int64_t *out) CR_MUST_CHECK;
/* Stores a release row with id `id` (in the caller's transaction). */
cr_err collab_release_insert(struct store *s, int64_t id, int64_t collab_id, const char *session,
			     cr_time_ms t, const char *query, bool released,
			     const char *json) CR_MUST_CHECK;
/* Stores one debit (in the caller's transaction). */
cr_err collab_ledger_debit(struct store *s, int64_t collab_id, cr_time_ms t, const char *query,
			   uint64_t epsilon_milli, int64_t release_id) CR_MUST_CHECK;
/* The stored JSON of release `id` (handed over, free()); CR_ERR_NOT_FOUND. */
cr_err collab_release_get(struct store *s, int64_t id, char **json_out) CR_MUST_CHECK;

/* The rule as JSON (collab list, the API); new reference. */
json_t *collab_json(const struct collab *c, const char *dataset_name);

#endif
