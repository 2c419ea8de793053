/*
 * fuzz_checkpoint.c: libFuzzer target for the tlog-checkpoint body parser
 * (audit/checkpoint.c) and for opening a signed checkpoint, which an
 * officer's saved file and every tlog-proof go through.
 *
 * Invariants: an accepted body formats back to a body that parses to the
 * same checkpoint, and that formatted body is the input minus any
 * extension lines (the format is canonical); opening the input as a signed
 * checkpoint with a key that never signed one never succeeds.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_checkpoint.c \
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
		fprintf(stderr, "fuzz_checkpoint: invariant broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
	static struct audit_verifier v;
	static int ready;
	const char *text = (const char *)data;
	struct audit_checkpoint cp, again;

	if (!ready) {
		check(sodium_init() >= 0, "sodium_init");
		check(audit_verifier_parse(vkey, strlen(vkey), &v) == CR_OK, "key parses");
		ready = 1;
	}
	if (audit_checkpoint_parse(text, size, &cp) == CR_OK) {
		char *body = NULL;
		size_t len = 0;
		check(audit_checkpoint_format(&cp, &body, &len) == CR_OK, "accepted body formats");
		check(len <= size && memcmp(body, text, len) == 0, "canonical: the input starts with it");
		check(audit_checkpoint_parse(body, len, &again) == CR_OK, "formatted body parses");
		check(memcmp(&cp, &again, sizeof(cp)) == 0, "round trip");
		free(body);
	}
	/* No checkpoint was ever signed with this key: no input may open. */
	check(audit_checkpoint_open(&v, text, size, NULL, &cp) != CR_OK, "unsigned note opened");
	return 0;
}
