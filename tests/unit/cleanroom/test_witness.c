/* Unit tests for cleanroom/witness.c, the witness's state machine without
 * HTTP (c2sp.org/tlog-witness add-checkpoint): a good sequence of
 * checkpoints gets cosignatures that verify; a stale old size is a 409
 * with the size; a rollback and a fork are refused and leave the state as
 * it was; a bad signature is a 403, an unknown log a 404; the state
 * survives a reopen. Two real audit logs (in-memory SQLite) make the
 * checkpoints and consistency proofs. */
#include <unistd.h>

#include <sodium.h>

#include "test_util.h"
#include "audit/audit.h"
#include "cleanroom/witness.h"

#define ORIGIN "log.example/w-test"

struct tlog {
	sqlite3 *db;
	struct audit_signer *s;
	struct audit_log *log;
};

static void tlog_open(struct tlog *t, uint8_t seed_byte)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof(seed));
	assert_int_equal(sqlite3_open(":memory:", &t->db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(t->db, audit_schema_v1, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(audit_signer_from_seed(ORIGIN, seed, &t->s), CR_OK);
	assert_int_equal(audit_log_open(t->db, ORIGIN, t->s, &t->log, NULL, 0), CR_OK);
}

static void tlog_close(struct tlog *t)
{
	audit_log_free(t->log);
	sqlite3_close(t->db);
	audit_signer_free(t->s);
}

/* Appends n entries with detail `tag` and signs: the new checkpoint note. */
static char *tlog_grow(struct tlog *t, int n, const char *tag)
{
	char *note = NULL;
	assert_int_equal(sqlite3_exec(t->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < n; i++) {
		struct audit_entry e = { .event_type = "test.entry", .actor_role = "system", .detail = tag };
		uint64_t idx;
		assert_int_equal(audit_log_append(t->log, &e, &idx), CR_OK);
	}
	assert_int_equal(audit_log_checkpoint(t->log, &note), CR_OK);
	assert_int_equal(sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	return note;
}

static char *vkey_of(struct tlog *t)
{
	struct audit_verifier v;
	char *k = NULL;
	assert_int_equal(audit_verifier_from_signer(t->s, &v), CR_OK);
	assert_int_equal(audit_verifier_format(&v, &k), CR_OK);
	return k;
}

/* Sends (old, proof from old to the note's size, note). */
static struct witness_answer send_cp(struct witness *w, struct tlog *t, uint64_t old, uint64_t size,
				     const char *note)
{
	struct audit_proof p = { .n = 0 };
	struct witness_answer a;
	size_t len;
	if (old > 0 && old < size)
		assert_int_equal(audit_log_prove_consistency(t->log, old, size, &p), CR_OK);
	char *req = witness_request_format(old, &p, note, &len);
	assert_int_equal(witness_add_checkpoint(w, req, len, 1700000000, &a), CR_OK);
	free(req);
	return a;
}

static char dir[64];

static struct witness *fresh_witness(char **vkey)
{
	struct witness *w = NULL;
	snprintf(dir, sizeof(dir), "/tmp/cr-witness-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/w", dir);
	assert_int_equal(witness_init(sub, "witness.example/w1", vkey), CR_OK);
	char *again = NULL;
	assert_int_equal(witness_init(sub, "witness.example/w1", &again), CR_ERR_DATA_DIR_EXISTS);
	assert_int_equal(witness_open(sub, &w), CR_OK);
	return w;
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* note || cosignature line, then the cosignature must verify. */
static void assert_cosigned(const char *vkey, const char *note, const char *line)
{
	struct audit_verifier w;
	size_t n = strlen(note), m = strlen(line);
	char *both = malloc(n + m + 1);
	memcpy(both, note, n);
	memcpy(both + n, line, m + 1);
	assert_int_equal(audit_cosig_verifier_parse(vkey, strlen(vkey), &w), CR_OK);
	assert_int_equal(audit_cosig_verify(&w, both, n + m, NULL), CR_OK);
	free(both);
}

static void test_i10_good_sequence_and_stale_size(void **state)
{
	(void)state;
	struct tlog t;
	char *vkey = NULL, *lkey;
	struct witness *w = fresh_witness(&vkey);
	tlog_open(&t, 7);
	lkey = vkey_of(&t);
	char *n3 = tlog_grow(&t, 3, "a");
	/* unknown log: 404 */
	assert_int_equal(send_cp(w, &t, 0, 3, n3).status, 404);
	assert_int_equal(witness_add_log(w, lkey), CR_OK);
	assert_int_equal(witness_add_log(w, lkey), CR_ERR_EXISTS);
	/* first contact: old 0, cosigned */
	struct witness_answer a = send_cp(w, &t, 0, 3, n3);
	assert_int_equal(a.status, 200);
	assert_cosigned(vkey, n3, a.body);
	/* asking again with old 0: 409 with the size, text/x.tlog.size */
	a = send_cp(w, &t, 0, 3, n3);
	assert_int_equal(a.status, 409);
	assert_string_equal(a.body, "3\n");
	assert_string_equal(a.content_type, "text/x.tlog.size");
	/* the same checkpoint again with the right old size: cosigned */
	assert_int_equal(send_cp(w, &t, 3, 3, n3).status, 200);
	/* grows: 3 -> 8 -> 9 with proofs */
	char *n8 = tlog_grow(&t, 5, "b");
	a = send_cp(w, &t, 3, 8, n8);
	assert_int_equal(a.status, 200);
	assert_cosigned(vkey, n8, a.body);
	char *n9 = tlog_grow(&t, 1, "c");
	/* stale old size (3, not 8): 409 "8" */
	a = send_cp(w, &t, 3, 9, n9);
	assert_int_equal(a.status, 409);
	assert_string_equal(a.body, "8\n");
	assert_int_equal(send_cp(w, &t, 8, 9, n9).status, 200);
	/* the state survives a reopen */
	witness_close(w);
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/w", dir);
	assert_int_equal(witness_open(sub, &w), CR_OK);
	a = send_cp(w, &t, 0, 9, n9);
	assert_int_equal(a.status, 409);
	assert_string_equal(a.body, "9\n");
	free(n3);
	free(n8);
	free(n9);
	free(lkey);
	free(vkey);
	witness_close(w);
	tlog_close(&t);
	cleanup();
}

static void test_i10_rollback_fork_and_bad_signature(void **state)
{
	(void)state;
	struct tlog t, fork, other;
	char *vkey = NULL, *lkey;
	struct witness *w = fresh_witness(&vkey);
	tlog_open(&t, 7);
	tlog_open(&fork, 7);  /* same origin and key: the operator's second history */
	tlog_open(&other, 9); /* same origin, another key */
	lkey = vkey_of(&t);
	assert_int_equal(witness_add_log(w, lkey), CR_OK);
	char *n4 = tlog_grow(&t, 4, "real");
	char *n6 = tlog_grow(&t, 2, "real");
	assert_int_equal(send_cp(w, &t, 0, 4, n4).status, 200);
	assert_int_equal(send_cp(w, &t, 4, 6, n6).status, 200);

	/* rollback: the older checkpoint of 4, however it is sent */
	assert_int_equal(send_cp(w, &t, 6, 4, n4).status, 400);
	assert_int_equal(send_cp(w, &t, 4, 4, n4).status, 409);
	assert_int_equal(send_cp(w, &t, 0, 4, n4).status, 409);

	/* fork: same origin and key, other entries; same size 6 and larger 7 */
	char *f6 = tlog_grow(&fork, 6, "forged");
	struct witness_answer a = send_cp(w, &fork, 6, 6, f6);
	assert_int_equal(a.status, 409);
	char *f7 = tlog_grow(&fork, 1, "forged");
	a = send_cp(w, &fork, 6, 7, f7);
	assert_int_equal(a.status, 422);
	/* a proof that is not even of the right length: also 422 */
	struct audit_proof empty = { .n = 0 };
	size_t len;
	char *req = witness_request_format(6, &empty, f7, &len);
	assert_int_equal(witness_add_checkpoint(w, req, len, 1, &a), CR_OK);
	assert_int_equal(a.status, 422);
	free(req);

	/* bad signature: same origin, another key: 403 */
	char *o8 = tlog_grow(&other, 8, "x");
	assert_int_equal(send_cp(w, &other, 6, 8, o8).status, 403);
	/* a note whose signature was altered: 403 */
	char *bad = strdup(n6);
	char *sig = strstr(bad, "\xe2\x80\x94 ");
	char *b64 = strrchr(sig, ' ') + 10;
	*b64 = *b64 == 'A' ? 'B' : 'A';
	assert_int_equal(send_cp(w, &t, 6, 6, bad).status, 403);
	free(bad);

	/* malformed requests: 400 */
	assert_int_equal(witness_add_checkpoint(w, "old 6\n", 6, 1, &a), CR_OK);
	assert_int_equal(a.status, 400);
	assert_int_equal(witness_add_checkpoint(w, "old 06\n\nx\n", 10, 1, &a), CR_OK);
	assert_int_equal(a.status, 400);

	/* after all that the witness still holds 6 and the real log goes on */
	char *n7 = tlog_grow(&t, 1, "real");
	a = send_cp(w, &t, 0, 7, n7);
	assert_int_equal(a.status, 409);
	assert_string_equal(a.body, "6\n");
	a = send_cp(w, &t, 6, 7, n7);
	assert_int_equal(a.status, 200);
	assert_cosigned(vkey, n7, a.body);
	free(n4);
	free(n6);
	free(n7);
	free(f6);
	free(f7);
	free(o8);
	free(lkey);
	free(vkey);
	witness_close(w);
	tlog_close(&t);
	tlog_close(&fork);
	tlog_close(&other);
	cleanup();
}

static void test_request_parse(void **state)
{
	(void)state;
	struct witness_request r;
	const char ok[] = "old 3\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nnote\n\n\xe2\x80\x94 x y\n";
	assert_int_equal(witness_request_parse(ok, strlen(ok), &r), CR_OK);
	assert_int_equal(r.old_size, 3);
	assert_int_equal(r.proof.n, 1);
	assert_memory_equal(r.note, "note\n", 5);
	const char *bad[] = {
		"old 0\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nn\n", /* proof with old 0 */
		"old 3\nnotbase64\n\nn\n", "old -1\n\nn\n", "old 3\n", "new 3\n\nn\n", "old 3 \n\nn\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(witness_request_parse(bad[i], strlen(bad[i]), &r), CR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i10_good_sequence_and_stale_size),
		cmocka_unit_test(test_i10_rollback_fork_and_bad_signature),
		cmocka_unit_test(test_request_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
