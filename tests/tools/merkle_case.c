/*
 * merkle_case.c: the C Merkle verifier's verdicts (audit/merkle.c) on the
 * cases of fuzz_merkle's corpus, for the cross-check with the audit
 * console's verifier (tests/browser/merkle-xcheck.test.js). A test tool
 * only.
 *
 * Each argument is a case file, decoded as tests/fuzz/merkle_case.h says;
 * each output line is one JSON object: the file, the kind ("inclusion" or
 * "consistency"), index and size (size1 and size2) as decimal strings, the
 * leaf hash (root1), the proof and the root(s) in base64, and the verdict
 * ("accepted" or the refusal's API code). Exit 0, or 2 on an unreadable file.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/merkle_case.h"

static void b64(const uint8_t h[AUDIT_HASH_BYTES])
{
	char out[64];
	if (cr_base64_encode(h, AUDIT_HASH_BYTES, out, sizeof(out)) != CR_OK)
		exit(2);
	printf("\"%s\"", out);
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	char code[64];
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		struct merkle_case c;
		size_t n;
		cr_err rc;
		if (f == NULL)
			return 2;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		merkle_case_decode(buf, n, &c);
		rc = merkle_case_verify(&c);
		printf("{\"file\":\"%s\",\"kind\":\"%s\",\"index\":\"%llu\",\"size\":\"%llu\",\"leaf\":", argv[i],
		       c.consistency ? "consistency" : "inclusion", (unsigned long long)c.index,
		       (unsigned long long)c.size);
		b64(c.leaf);
		printf(",\"root\":");
		b64(c.root);
		printf(",\"proof\":[");
		for (size_t k = 0; k < c.n; k++) {
			if (k)
				printf(",");
			b64(c.hash[k]);
		}
		printf("],\"verdict\":\"%s\"}\n", rc == CR_OK ? "accepted" : cr_errcode(rc, code, sizeof(code)));
	}
	return 0;
}
