/*
 * collab_budget.c: the privacy budget of a (dataset, partner) pair, which
 * every collaboration on the pair draws on (collab.h, docs/spec/privacy.md
 * section 9): its tables' migration, taking it when a collaboration is
 * created, the brand's audited raise, the debits, and reading the budget,
 * the ledger, the raises and the pair's collaborations. Every reader takes
 * a collaboration id and finds its pair through the collaboration's
 * (dataset_id, partner), which the collaborations table never changes.
 */
#include <stdio.h>
#include <string.h>

#include "cleanroom/app.h"
#include "cleanroom/collab.h"
#include "cleanroom/registry.h"

/*
 * Migration: the budget moves from the collaboration to its (dataset,
 * partner) pair (issue 21 item 3). Each existing pair gets the largest
 * budget of its collaborations (its first collaboration's creation time);
 * what it has spent is the sum of their debits, which stay where they are
 * (docs/operations.md). Both tables are append-only; a raise must start
 * from the pair's current budget and go up, whatever the code says.
 */
const char collab_schema_v2[] =
	"CREATE TABLE collab_budgets ("
	"  id           INTEGER PRIMARY KEY,"
	"  dataset_id   INTEGER NOT NULL REFERENCES datasets(id),"
	"  partner      TEXT NOT NULL,"
	"  budget_milli INTEGER NOT NULL CHECK (budget_milli >= 1 AND budget_milli <= 1000000),"
	"  created_ms   INTEGER NOT NULL,"
	"  UNIQUE (dataset_id, partner)"
	") STRICT;"
	"CREATE TABLE collab_budget_raises ("
	"  id         INTEGER PRIMARY KEY,"
	"  budget_id  INTEGER NOT NULL REFERENCES collab_budgets(id),"
	"  collab_id  INTEGER NOT NULL REFERENCES collaborations(id),"
	"  time_ms    INTEGER NOT NULL,"
	"  from_milli INTEGER NOT NULL,"
	"  to_milli   INTEGER NOT NULL CHECK (to_milli > from_milli AND to_milli <= 1000000),"
	"  actor_role TEXT NOT NULL,"
	"  actor_id   TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX collab_budget_raises_by_budget ON collab_budget_raises(budget_id);"
	"CREATE INDEX collaborations_by_pair ON collaborations(dataset_id, partner);"
	"INSERT INTO collab_budgets(dataset_id, partner, budget_milli, created_ms)"
	" SELECT dataset_id, partner, max(budget_milli), min(created_ms) FROM collaborations"
	" GROUP BY dataset_id, partner ORDER BY min(id);"
	"CREATE TRIGGER collab_budgets_no_update BEFORE UPDATE ON collab_budgets"
	" BEGIN SELECT RAISE(ABORT, 'a pair budget changes only by a raise'); END;"
	"CREATE TRIGGER collab_budgets_no_delete BEFORE DELETE ON collab_budgets"
	" BEGIN SELECT RAISE(ABORT, 'a pair budget changes only by a raise'); END;"
	"CREATE TRIGGER collab_budget_raises_no_update BEFORE UPDATE ON collab_budget_raises"
	" BEGIN SELECT RAISE(ABORT, 'budget raises are append-only'); END;"
	"CREATE TRIGGER collab_budget_raises_no_delete BEFORE DELETE ON collab_budget_raises"
	" BEGIN SELECT RAISE(ABORT, 'budget raises are append-only'); END;"
	"CREATE TRIGGER collab_budget_raises_from_current BEFORE INSERT ON collab_budget_raises"
	" WHEN NEW.from_milli IS NOT coalesce((SELECT max(to_milli) FROM collab_budget_raises"
	"  WHERE budget_id = NEW.budget_id), (SELECT budget_milli FROM collab_budgets WHERE id = NEW.budget_id))"
	" BEGIN SELECT RAISE(ABORT, 'a raise starts from the current budget'); END;"
	"CREATE TRIGGER collaborations_need_a_pair_budget BEFORE INSERT ON collaborations"
	" WHEN NOT EXISTS (SELECT 1 FROM collab_budgets WHERE dataset_id = NEW.dataset_id"
	"  AND partner = NEW.partner)"
	" BEGIN SELECT RAISE(ABORT, 'a collaboration needs its pair budget'); END;";

/* ------------------------------------------------------------ creation */

/*
 * The budget (dataset, partner) has now and its first collaboration;
 * CR_ERR_NOT_FOUND when the pair has no collaboration yet.
 */
static cr_err pair_current(struct store *s, int64_t dataset_id, const char *partner, uint64_t *budget,
			   int64_t *first)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT " COLLAB_PAIR_BUDGET_SQL("b") ","
			       " (SELECT min(c.id) FROM collaborations c"
			       "  WHERE c.dataset_id = b.dataset_id AND c.partner = b.partner)"
			       " FROM collab_budgets b WHERE b.dataset_id = ?1 AND b.partner = ?2", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, dataset_id);
	sqlite3_bind_text(st, 2, partner, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*budget = (uint64_t)sqlite3_column_int64(st, 0);
		*first = sqlite3_column_int64(st, 1);
		rc = CR_OK;
	} else {
		rc = step == SQLITE_DONE ? CR_ERR_NOT_FOUND : store_err(step);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static cr_err pair_insert(struct store *s, const struct collab *c)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO collab_budgets(dataset_id, partner, budget_milli, created_ms)"
			       " VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, c->dataset_id);
	sqlite3_bind_text(st, 2, c->partner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)c->budget_milli);
	sqlite3_bind_int64(st, 4, c->created);
	rc = store_err(sqlite3_step(st));
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_budget_take(struct store *s, const struct dataset *d, struct collab *c, bool *new_pair,
			  char *why, size_t why_cap)
{
	char have[COLLAB_MILLI_STRLEN];
	uint64_t now = 0;
	int64_t first = 0;
	cr_err rc = pair_current(s, c->dataset_id, c->partner, &now, &first);
	*new_pair = rc == CR_ERR_NOT_FOUND;
	if (*new_pair) {
		if (c->budget_milli == 0)
			c->budget_milli = COLLAB_BUDGET_DEFAULT;
		/* the rest of the rule is collab_rule_check's, after this */
		return c->budget_milli > COLLAB_MILLI_MAX ? CR_ERR_COLLAB_EPSILON : pair_insert(s, c);
	}
	if (rc != CR_OK)
		return rc;
	if (c->budget_milli != 0 && c->budget_milli != now) {
		collab_milli_format(now, have);
		if (why != NULL && why_cap > 0)
			snprintf(why, why_cap, "dataset '%s' already has a budget of %s for partner '%s', shared by "
				 "every collaboration on the pair; raise it with 'cleanroom collab budget %lld --raise B'",
				 d->name, have, c->partner, (long long)first);
		return CR_ERR_COLLAB_BUDGET_SHARED;
	}
	c->budget_milli = now;
	return CR_OK;
}

/* ------------------------------------------------------------- raising */

static cr_err raise_insert(struct store *s, const struct collab_budget *b, int64_t collab_id,
			   uint64_t to_milli, const struct registry_actor *who)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO collab_budget_raises(budget_id, collab_id, time_ms, from_milli, to_milli,"
			       " actor_role, actor_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, b->id);
	sqlite3_bind_int64(st, 2, collab_id);
	sqlite3_bind_int64(st, 3, cr_time_now());
	sqlite3_bind_int64(st, 4, (int64_t)b->budget_milli);
	sqlite3_bind_int64(st, 5, (int64_t)to_milli);
	sqlite3_bind_text(st, 6, who->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, who->id, -1, SQLITE_STATIC);
	rc = store_err(sqlite3_step(st));
out:
	sqlite3_finalize(st);
	return rc;
}

static cr_err audit_raise(struct app *a, const struct registry_actor *who, const char *brand,
			  const struct dataset *d, const struct collab *c, const struct collab_budget *b,
			  uint64_t to_milli)
{
	char id[24], detail[128], from[COLLAB_MILLI_STRLEN], to[COLLAB_MILLI_STRLEN], spent[COLLAB_MILLI_STRLEN];
	const char *recipients[1] = { c->partner };
	struct audit_entry e = { .event_type = "collab.budget_raise", .actor_role = who->role,
				 .actor_id = who->id, .tenant = brand, .dataset = d->name,
				 .collaboration = id, .recipients = recipients, .n_recipients = 1,
				 .detail = detail };
	snprintf(id, sizeof(id), "%lld", (long long)c->id);
	collab_milli_format(b->budget_milli, from);
	collab_milli_format(to_milli, to);
	collab_milli_format(b->spent_milli, spent);
	snprintf(detail, sizeof(detail), "from=%s to=%s spent=%s", from, to, spent);
	return app_audit(a, &e, NULL);
}

cr_err collab_budget_raise(struct app *a, const struct registry_actor *who, const char *brand,
			   const struct dataset *d, const struct collab *c, uint64_t to_milli, char *why,
			   size_t why_cap)
{
	char have[COLLAB_MILLI_STRLEN];
	struct collab_budget b;
	cr_err rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	/* read under the write lock: a raise and a release never interleave */
	rc = collab_budget_get(a->store, c->id, &b);
	if (rc == CR_OK && (to_milli <= b.budget_milli || to_milli > COLLAB_MILLI_MAX)) {
		collab_milli_format(b.budget_milli, have);
		if (why != NULL && why_cap > 0)
			snprintf(why, why_cap, "the budget %s of dataset '%s' for partner '%s'; a budget only goes up, "
				 "to at most 1000", have, d->name, c->partner);
		rc = CR_ERR_COLLAB_BUDGET_RAISE;
	}
	if (rc == CR_OK)
		rc = raise_insert(a->store, &b, c->id, to_milli, who);
	if (rc == CR_OK)
		rc = audit_raise(a, who, brand, d, c, &b, to_milli);
	return app_end(a, rc);
}

/* ------------------------------------------------------------- reading */

cr_err collab_budget_get(struct store *s, int64_t id, struct collab_budget *out)
{
	sqlite3_stmt *st = NULL;
	struct collab_budget b;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT b.id, b.dataset_id, b.partner, b.budget_milli, " COLLAB_PAIR_BUDGET_SQL("b") ","
			       " (SELECT coalesce(sum(l.epsilon_milli), 0) FROM collab_ledger l"
			       "  JOIN collaborations c ON c.id = l.collab_id"
			       "  WHERE c.dataset_id = b.dataset_id AND c.partner = b.partner),"
			       " b.created_ms"
			       " FROM collaborations me JOIN collab_budgets b"
			       " ON b.dataset_id = me.dataset_id AND b.partner = me.partner WHERE me.id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? CR_ERR_COLLAB_NOT_FOUND : store_err(step);
		goto out;
	}
	memset(&b, 0, sizeof(b));
	b.id = sqlite3_column_int64(st, 0);
	b.dataset_id = sqlite3_column_int64(st, 1);
	snprintf(b.partner, sizeof(b.partner), "%s", (const char *)sqlite3_column_text(st, 2));
	b.initial_milli = (uint64_t)sqlite3_column_int64(st, 3);
	b.budget_milli = (uint64_t)sqlite3_column_int64(st, 4);
	b.spent_milli = (uint64_t)sqlite3_column_int64(st, 5);
	b.left_milli = b.spent_milli >= b.budget_milli ? 0 : b.budget_milli - b.spent_milli;
	b.created = sqlite3_column_int64(st, 6);
	*out = b;
	rc = CR_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_ledger_each(struct store *s, int64_t id,
			  void (*fn)(void *ctx, const struct collab_debit *d), void *ctx)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT l.id, l.collab_id, l.time_ms, l.query, l.epsilon_milli, l.release_id, r.outcome"
			       " FROM collab_ledger l JOIN collab_releases r ON r.id = l.release_id"
			       " JOIN collaborations c ON c.id = l.collab_id"
			       " JOIN collaborations me ON me.dataset_id = c.dataset_id AND me.partner = c.partner"
			       " WHERE me.id = ?1 ORDER BY l.id", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct collab_debit d = {
			.id = sqlite3_column_int64(st, 0),
			.collab_id = sqlite3_column_int64(st, 1),
			.time = sqlite3_column_int64(st, 2),
			.query = (const char *)sqlite3_column_text(st, 3),
			.epsilon_milli = (uint64_t)sqlite3_column_int64(st, 4),
			.release_id = sqlite3_column_int64(st, 5),
			.outcome = (const char *)sqlite3_column_text(st, 6),
		};
		fn(ctx, &d);
	}
	rc = store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_raise_each(struct store *s, int64_t id,
			 void (*fn)(void *ctx, const struct collab_raise *r), void *ctx)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT x.id, x.collab_id, x.time_ms, x.from_milli, x.to_milli, x.actor_role, x.actor_id"
			       " FROM collab_budget_raises x JOIN collab_budgets b ON b.id = x.budget_id"
			       " JOIN collaborations me ON me.dataset_id = b.dataset_id AND me.partner = b.partner"
			       " WHERE me.id = ?1 ORDER BY x.id", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct collab_raise r = {
			.id = sqlite3_column_int64(st, 0),
			.collab_id = sqlite3_column_int64(st, 1),
			.time = sqlite3_column_int64(st, 2),
			.from_milli = (uint64_t)sqlite3_column_int64(st, 3),
			.to_milli = (uint64_t)sqlite3_column_int64(st, 4),
			.actor_role = (const char *)sqlite3_column_text(st, 5),
			.actor_id = (const char *)sqlite3_column_text(st, 6),
		};
		fn(ctx, &r);
	}
	rc = store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

cr_err collab_pair_each(struct store *s, int64_t id, void (*fn)(void *ctx, int64_t collab_id), void *ctx)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT c.id FROM collaborations c JOIN collaborations me"
			       " ON me.dataset_id = c.dataset_id AND me.partner = c.partner"
			       " WHERE me.id = ?1 ORDER BY c.id", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int64(st, 0));
	rc = store_err(step);
out:
	sqlite3_finalize(st);
	return rc;
}

/* -------------------------------------------------------------- debits */

cr_err collab_ledger_debit(struct store *s, int64_t collab_id, cr_time_ms t, const char *query,
			   uint64_t epsilon_milli, int64_t release_id)
{
	sqlite3_stmt *st = NULL;
	cr_err rc = CR_ERR_STORE;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO collab_ledger(collab_id, time_ms, query, epsilon_milli, release_id)"
			       " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, collab_id);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_text(st, 3, query, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)epsilon_milli);
	sqlite3_bind_int64(st, 5, release_id);
	rc = store_err(sqlite3_step(st));
out:
	sqlite3_finalize(st);
	return rc;
}
