/*
 * fuzz_receipt.c: libFuzzer target for the receipt verifier
 * (cleanroom/ops_consent.c ops_receipt_verify: consent/receipt.c's
 * signature check, then the attached c2sp.org/tlog-proof parsed and
 * verified by audit/proof.c), which `cleanroom receipt verify` and
 * POST /v1/receipts/verify run on whatever a person or a stranger uploads.
 *
 * The verifier key is the public key of the synthetic data directory the
 * seed receipts were made in (`cleanroom consent withdraw --receipt`), so
 * mutations of the unsigned audit_proof reach the proof parser with a
 * good signature. Those seeds predate key separation (their receipts were
 * signed with the log's key), so the same key serves as the receipts' key
 * and the log's here, as `receipt verify --receipt-key VKEY --key VKEY`
 * checks such an older receipt. Beyond surviving any input: the verifier is
 * deterministic; it accepts only what consent_receipt_verify accepts with
 * the same key and reports the same contents; an accepted receipt with a
 * proof proves its own audit index; any refusal of the proof says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "cleanroom/ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char vkey[] = "cleanroom.local/audit/88a33140a1b19e20+57fc6251+ASo0pE8Cq6svn4ogwG/ogYrQLowzc7kM7yP6E+LvA7B3";

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_receipt: invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct consent_receipt_info a, b, direct;
	struct audit_verifier v;
	char why1[256] = "", why2[256] = "";
	bool proof1 = false, proof2 = false;
	const char *json = (const char *)data;
	cr_err rc1, rc2, rcd;

	if (sodium_init() < 0 || audit_verifier_parse(vkey, strlen(vkey), &v) != CR_OK)
		abort();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	rc1 = ops_receipt_verify(vkey, vkey, json, size, &a, &proof1, why1, sizeof(why1));
	rc2 = ops_receipt_verify(vkey, vkey, json, size, &b, &proof2, why2, sizeof(why2));
	check(rc1 == rc2 && proof1 == proof2, "verifier not deterministic");
	rcd = consent_receipt_verify(json, size, v.public_key, &direct);
	if (rc1 == CR_OK) {
		check(rcd == CR_OK, "accepted a receipt whose signature is refused");
		check(memcmp(&a, &b, sizeof(a)) == 0, "two verifications report different contents");
		check(a.audit_index == direct.audit_index && a.event_id == direct.event_id &&
		      a.brand == direct.brand && a.type == direct.type, "contents differ from the signed ones");
	} else if (rcd == CR_OK) {
		/* the signature holds, so the proof was refused: it must say why */
		check(why1[0] != '\0', "proof refused without a reason");
	}
	return 0;
}
