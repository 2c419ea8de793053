/*
 * fuzz_psi_session.c: stateful libFuzzer target for the service's side of
 * a match (cleanroom/psi_session.c), fed the round messages a partner
 * sends, honest or not, in any order, against a fresh copy of a synthetic
 * clean room (fuzz_fixture.h: collaboration 1, k 10, |A| 64, budget 1.0 at
 * 0.5 a query, so the third charged query is refused).
 *
 * The input is a list of steps, each an opcode, a session slot (two) and
 * its arguments: open (a query from a table, or the input's own text),
 * B (honestly blinded by a real psi_partner over the synthetic partner
 * list, or mutated: an element repeated, a byte changed, the count
 * misannounced, or raw bytes), A' (honest, mutated the same ways, or raw),
 * abort, expiry. After every step: nothing crashes; the ledger grows only
 * when an answer was released or refused under k (a refused open, B or
 * A', a budget refusal, an abort or an expiry charges nothing); no cell is
 * released with a noisy count under k, in the result or in the JSON the
 * partner gets; a session that has ended holds no secret state. After the
 * sequence the audit log verifies.
 */
#include <stdint.h>

#include "tests/fuzz/fuzz_fixture.h"
#include "audit/audit.h"
#include "cleanroom/psi_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_psi_session: invariant broken: %s\n", what);
		abort();
	}
}

struct slot {
	struct psi_session *s;
	struct psi_partner *p;
	struct psi_session_offer offer;
	struct psi_elements a;   /* A, as the service sent it */
};

static uint64_t ledger(struct app *a)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	if (sqlite3_prepare_v2(a->store->db, "SELECT coalesce(sum(epsilon_milli), 0) FROM collab_ledger", -1, &st,
			       NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void slot_free(struct slot *x)
{
	psi_session_free(x->s);
	psi_partner_free(x->p);
	psi_elements_release(&x->a);
	memset(x, 0, sizeof(*x));
}

static void open_step(struct ffx *f, struct slot *x, const uint8_t *arg, size_t n, cr_time_ms now)
{
	static const char *const q[][2] = {
		{ "segment", "" }, { "region", "count,sum:spend" }, { "segment,region", "count" },
		{ "age_band", "" }, { "", "" }, { "segment", "sum:nope" }, { "segment,segment", "" },
	};
	struct psi_open_request req = { .collab_id = 1 };
	struct psi_session_opts o = { .now = now };
	char why[256];
	slot_free(x);
	if (n > 0 && arg[0] >= 7) { /* the input's own text: group_by '|' metrics */
		size_t bar = 1;
		while (bar < n && arg[bar] != '|')
			bar++;
		snprintf(req.group_by, sizeof(req.group_by), "%.*s", (int)(bar - 1), (const char *)arg + 1);
		if (bar < n)
			snprintf(req.metrics, sizeof(req.metrics), "%.*s", (int)(n - bar - 1), (const char *)arg + bar + 1);
		req.collab_id = arg[0] == 255 ? 2 : 1;
	} else {
		snprintf(req.group_by, sizeof(req.group_by), "%s", q[n ? arg[0] : 0][0]);
		snprintf(req.metrics, sizeof(req.metrics), "%s", q[n ? arg[0] : 0][1]);
	}
	if (psi_session_open(f->a, f->pool, &req, &o, &x->s, &x->offer, why, sizeof(why)) != CR_OK)
		x->s = NULL;
}

/* B: honest from a real partner, then mutated as `how` says (0: as is). */
static cr_err b_step(struct ffx *f, struct slot *x, uint8_t how, const uint8_t *arg, size_t n, cr_time_ms now)
{
	static char *list;
	static size_t list_len;
	struct psi_elements b = { 0 };
	uint64_t announced;
	FILE *in;
	cr_err rc;
	if (list == NULL) {
		FILE *lf = fopen(f->partner_csv, "rb");
		list = calloc(1, 1 << 16);
		if (lf == NULL || list == NULL)
			abort();
		list_len = fread(list, 1, (1 << 16) - 1, lf);
		fclose(lf);
	}
	if (how == 7) /* raw bytes */
		return psi_session_blinded(x->s, f->a, f->pool, arg, n, n / 32, now, &x->a);
	psi_partner_free(x->p);
	x->p = NULL;
	if (psi_partner_new(&x->offer, &x->p) != CR_OK)
		return CR_ERR_PSI_SUITE;
	in = fmemopen(list, list_len, "r");
	rc = psi_partner_load(x->p, NULL, in, "partner.csv", NULL, NULL, NULL, 0);
	fclose(in);
	check(rc == CR_OK, "the synthetic partner list loads");
	check(psi_partner_blind(x->p, f->pool, &b) == CR_OK, "the synthetic partner list blinds");
	announced = b.count;
	size_t at = n ? arg[0] % b.count : 0;
	if (how == 1 && b.count > 1) /* an element twice */
		memcpy(b.bytes + 32 * ((at + 1) % b.count), b.bytes + 32 * at, 32);
	else if (how == 2) /* a byte changed */
		b.bytes[32 * at + (n > 1 ? arg[1] % 32 : 0)] ^= (uint8_t)(n > 2 && arg[2] ? arg[2] : 1);
	else if (how == 3)
		announced += 1;
	else if (how == 4)
		b.count -= 1;
	rc = psi_session_blinded(x->s, f->a, f->pool, b.bytes, b.count * 32, announced, now, &x->a);
	psi_elements_release(&b);
	return rc;
}

/* A': honest (the partner's answer to A), mutated, or raw; checks the release. */
static void answer_step(struct ffx *f, struct slot *x, uint8_t how, const uint8_t *arg, size_t n,
			cr_time_ms now)
{
	struct psi_elements ap = { 0 };
	char *rel = NULL;
	uint64_t before = ledger(f->a), announced;
	cr_err rc;
	if (how == 7 || x->p == NULL || x->a.bytes == NULL ||
	    psi_partner_answer(x->p, f->pool, x->a.bytes, x->a.count * 32, &ap) != CR_OK) {
		rc = psi_session_answer(x->s, f->a, f->pool, arg, n, n / 32, now, &rel);
	} else {
		size_t at = n ? arg[0] % ap.count : 0;
		announced = ap.count;
		if (how == 1 && ap.count > 1)
			memcpy(ap.bytes + 32 * ((at + 1) % ap.count), ap.bytes + 32 * at, 32);
		else if (how == 2)
			ap.bytes[32 * at + (n > 1 ? arg[1] % 32 : 0)] ^= (uint8_t)(n > 2 && arg[2] ? arg[2] : 1);
		else if (how == 3)
			announced -= 1;
		rc = psi_session_answer(x->s, f->a, f->pool, ap.bytes, ap.count * 32, announced, now, &rel);
		psi_elements_release(&ap);
	}
	if (rc == CR_OK) {
		const struct release_result *r = psi_session_result(x->s);
		json_t *j = json_loads(rel, 0, NULL), *c;
		size_t i;
		check(r != NULL && j != NULL, "a release without its result or JSON");
		check(ledger(f->a) > before, "a release charged nothing");
		for (i = 0; i < r->ncells; i++)
			check(r->cells[i].suppressed || r->cells[i].noisy_count >= COLLAB_K_MIN,
			      "a cell released under k");
		json_array_foreach(json_object_get(j, "cells"), i, c)
			check(json_integer_value(json_object_get(c, "count")) >= COLLAB_K_MIN,
			      "the partner received a cell under k");
		json_decref(j);
	} else {
		check(ledger(f->a) == before, "a refused answer was charged");
	}
	free(rel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ffx *f = ffx_get();
	struct slot slots[2];
	struct audit_verifier v;
	struct audit_verify_report vr;
	cr_time_ms now = cr_time_now();
	int steps = 0;

	memset(slots, 0, sizeof(slots));
	ffx_fresh(f);
	while (size >= 3 && steps++ < 12) {
		struct slot *x = &slots[data[1] & 1];
		size_t n = data[2] < size - 3 ? data[2] : size - 3;
		const uint8_t *arg = data + 3;
		uint64_t before = ledger(f->a);
		switch (data[0] % 5) {
		case 0:
			open_step(f, x, arg, n, now);
			break;
		case 1:
			if (x->s)
				(void)b_step(f, x, (uint8_t)(data[1] >> 1) & 7, arg, n, now);
			break;
		case 2:
			if (x->s)
				answer_step(f, x, (uint8_t)(data[1] >> 1) & 7, arg, n, now);
			break;
		case 3:
			if (x->s)
				(void)psi_session_abort(x->s, f->a, CR_ERR_PSI_MESSAGE);
			break;
		default:
			now += (int64_t)(data[1] >> 1) * 60 * 1000;
			if (x->s)
				(void)psi_session_expire(x->s, f->a, now);
			break;
		}
		if (data[0] % 5 != 2)
			check(ledger(f->a) == before, "a step other than an answer charged the budget");
		for (int i = 0; i < 2; i++) {
			enum psi_state st = slots[i].s ? psi_session_state(slots[i].s) : PSI_OPEN;
			if (slots[i].s && (st == PSI_RELEASED || st == PSI_REFUSED || st == PSI_EXPIRED))
				check(psi_session_held_bytes(slots[i].s) == 0, "an ended session holds secret state");
		}
		data += 3 + n;
		size -= 3 + n;
	}
	slot_free(&slots[0]);
	slot_free(&slots[1]);
	if (audit_verifier_from_signer(&f->a->signer, &v) != CR_OK ||
	    audit_log_verify(f->a->store->db, f->a->origin, &v, NULL, 0, &vr) != CR_OK) {
		fprintf(stderr, "fuzz_psi_session: audit verify: %s\n", vr.problem);
		abort();
	}
	return 0;
}
