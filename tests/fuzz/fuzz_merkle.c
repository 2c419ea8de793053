/*
 * fuzz_merkle.c: libFuzzer target for the Merkle proof verifier
 * (audit/merkle.c: audit_verify_inclusion, audit_verify_consistency, RFC
 * 9162), which checks every proof an officer or a receipt carries, and the
 * C side of the cross-check with the audit console's verifier
 * (web/tlog.js): the cases are decoded by merkle_case.h, which the tool
 * tests/tools/merkle_case.c shares, and this target's corpus is what
 * tests/browser/merkle-xcheck.test.js runs through both.
 *
 * Beyond surviving any input: an honest proof (made from a real tree by
 * RFC 9162's own definitions, independently of the verifier) is accepted;
 * an honest proof with a bit of a hash, a root or the leaf changed is
 * refused; any accepted proof has exactly the length the RFC gives for its
 * index and size; a refusal is one of the documented codes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/merkle_case.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_merkle: invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct merkle_case c;
	cr_err rc;

	merkle_case_decode(data, size, &c);
	rc = merkle_case_verify(&c);
	if (c.honest && !c.mutated)
		check(rc == CR_OK, "an honest proof refused");
	if (c.honest && c.mutated_bits)
		check(rc != CR_OK, "a proof with a changed bit accepted");
	if (rc == CR_OK) {
		size_t want = c.consistency ? audit_consistency_proof_len(c.index, c.size)
					    : audit_inclusion_proof_len(c.index, c.size);
		check(c.n == want, "a proof of the wrong length accepted");
	} else {
		check(rc == CR_ERR_AUDIT_PROOF_RANGE || rc == CR_ERR_AUDIT_PROOF_LENGTH || rc == CR_ERR_AUDIT_PROOF_ROOT,
		      "an undocumented refusal");
	}
	return 0;
}
