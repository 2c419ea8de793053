/*
 * fuzz_proof.c: libFuzzer target for the c2sp.org/tlog-proof@v1 parser
 * and the offline verifier (audit/proof.c), which read files an officer is
 * handed.
 *
 * Invariants: an accepted proof formats back to a text that parses to the
 * same proof; the offline verifier, run with a real verifier key, never
 * accepts an input it did not sign (no input can, short of forging
 * Ed25519), and always explains a refusal.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_proof.c \
 *        audit/\*.c common/\*.c -lsodium -lsqlite3
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_proof: invariant broken: %s\n", what);
		abort();
	}
}

static int same(const struct audit_tlog_proof *a, const struct audit_tlog_proof *b)
{
	return a->index == b->index && a->extra_len == b->extra_len &&
	       (a->extra_len == 0 || memcmp(a->extra, b->extra, a->extra_len) == 0) &&
	       a->proof.n == b->proof.n &&
	       memcmp(a->proof.hash, b->proof.hash, a->proof.n * AUDIT_HASH_BYTES) == 0 &&
	       a->checkpoint_len == b->checkpoint_len &&
	       memcmp(a->checkpoint, b->checkpoint, a->checkpoint_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The C2SP example key: its secret half is not published, so any input
	 * it accepts would be a forgery. */
	static const char vkey[] = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
	const char *text = (const char *)data;
	struct audit_tlog_proof *p = NULL, *q = NULL;
	struct audit_proof_check out;
	char why[AUDIT_MSG_MAX];

	if (sodium_init() < 0)
		abort();
	if (audit_tlog_proof_parse(text, size, &p) == CR_OK) {
		char *again = NULL;
		size_t len = 0;
		check(audit_tlog_proof_format(p, &again, &len) == CR_OK, "accepted proof formats");
		check(audit_tlog_proof_parse(again, len, &q) == CR_OK, "formatted proof parses");
		check(same(p, q), "round trip");
		free(again);
		audit_tlog_proof_free(q);
		audit_tlog_proof_free(p);
	}
	cr_err rc = audit_tlog_proof_verify(vkey, strlen(vkey), text, size, NULL, 0, NULL, &out, why,
					    sizeof(why));
	check(rc != CR_OK, "unsigned proof accepted");
	check(why[0] != '\0', "refusal explained");
	return 0;
}
