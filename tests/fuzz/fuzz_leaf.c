/*
 * fuzz_leaf.c: libFuzzer target for the audit leaf decoder (audit/leaf.c),
 * which reads every stored leaf and the leaf carried in a tlog-proof.
 *
 * Invariant: the encoding is canonical, so any bytes the decoder accepts
 * encode back to exactly the same bytes.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_leaf.c \
 *        audit/\*.c common/\*.c -lsodium -lsqlite3
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_leaf: invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_leaf *leaf = NULL;
	if (audit_leaf_decode(data, size, &leaf) != CR_OK)
		return 0;
	uint8_t *again = NULL;
	size_t len = 0;
	check(audit_leaf_encode(leaf, &again, &len) == CR_OK, "decoded leaf encodes");
	check(len == size && memcmp(again, data, size) == 0, "canonical: same bytes");
	free(again);
	audit_leaf_free(leaf);
	return 0;
}
