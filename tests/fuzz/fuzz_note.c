/*
 * fuzz_note.c: libFuzzer target for the signed-note parser and verifier
 * (audit/note.c): notes and verifier key texts are read from outside (a
 * checkpoint an officer saved, a key pasted on a command line).
 *
 * The input is verified as a note against two known keys (the C2SP and Go
 * examples, so real signature lines reach the Ed25519 check) and parsed as
 * a verifier key text. Invariants: an accepted note's text ends in '\n' and
 * is followed by the empty line; an accepted key formats to a text that
 * parses back to the same key.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_note.c \
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
		fprintf(stderr, "fuzz_note: invariant broken: %s\n", what);
		abort();
	}
}

static const char *const known[] = {
	"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_verifier keys[2];
	static int ready;
	const char *note = (const char *)data;
	size_t text_len = 0;

	if (!ready) {
		check(sodium_init() >= 0, "sodium_init");
		for (int i = 0; i < 2; i++)
			check(audit_verifier_parse(known[i], strlen(known[i]), &keys[i]) == CR_OK,
			      "known keys parse");
		ready = 1;
	}
	if (audit_note_verify(keys, 2, note, size, &text_len) == CR_OK) {
		check(text_len > 0 && text_len < size, "text inside the note");
		check(note[text_len - 1] == '\n', "text ends in a newline");
		check(note[text_len] == '\n', "an empty line follows the text");
	}

	struct audit_verifier v, w;
	if (audit_verifier_parse(note, size, &v) == CR_OK) {
		char *again = NULL;
		check(audit_verifier_format(&v, &again) == CR_OK, "accepted key formats");
		check(audit_verifier_parse(again, strlen(again), &w) == CR_OK, "formatted key parses");
		check(memcmp(&v, &w, sizeof(v)) == 0, "key round trip");
		free(again);
	}
	return 0;
}
