/*
 * fuzz_report.c: libFuzzer target for the compliance report verifier
 * (cleanroom/report_verify.c report_compliance_verify), which `cleanroom
 * report verify` runs on a report file an officer was handed: the brand or
 * the service that made it is the party the check must not trust.
 *
 * The first byte chooses how far a mutated report gets: bit 0 re-signs the
 * report with the harness's reports key (so mutations of the figures, the
 * window and the indices reach the checkpoint and figure checks past the
 * signature), bit 1 first replaces its checkpoint with one the harness's
 * log key signs over the report's own tree_size and root (so the index
 * checks run against a checkpoint that verifies). The rest is the JSON
 * document. Both keys are fixed (seeds below), their verifier texts given
 * to the verifier as `report verify --key --log-key` would. Beyond
 * surviving any input: the verdict is the same twice; an accepted report
 * has every figure's count equal to its list of indices, each index below
 * the checkpoint's size; and a report the harness did not re-sign is
 * accepted only if its signature was made by the harness's key (the seed
 * corpus has none, so any acceptance without bit 0 would be a forgery).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "cleanroom/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOG_ORIGIN "fuzz.example/audit"

static struct audit_signer *report_signer, *log_signer;
static char *report_key, *log_key;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_report: invariant broken: %s\n", what);
		abort();
	}
}

static char *key_text(const struct audit_signer *s)
{
	struct audit_verifier v;
	char *out = NULL;
	check(audit_verifier_from_signer(s, &v) == CR_OK && audit_verifier_format(&v, &out) == CR_OK, "key text");
	return out;
}

static void init_once(void)
{
	uint8_t seed[32];
	if (report_signer != NULL)
		return;
	check(sodium_init() >= 0, "sodium_init");
	memset(seed, 0x52, sizeof(seed));
	check(audit_signer_from_seed(LOG_ORIGIN "/reports", seed, &report_signer) == CR_OK, "report signer");
	memset(seed, 0x4c, sizeof(seed));
	check(audit_signer_from_seed(LOG_ORIGIN, seed, &log_signer) == CR_OK, "log signer");
	report_key = key_text(report_signer);
	log_key = key_text(log_signer);
}

/* Replaces report.checkpoint with one signed by the log key over its tree_size and root. */
static void resign_checkpoint(json_t *report)
{
	struct audit_checkpoint cp = { .size = 0 };
	const char *root = json_string_value(json_object_get(report, "root"));
	json_t *size = json_object_get(report, "tree_size");
	char *body = NULL, *note = NULL;
	size_t body_len = 0, note_len = 0, root_len = 0;
	snprintf(cp.origin, sizeof(cp.origin), "%s", LOG_ORIGIN);
	if (json_is_integer(size) && json_integer_value(size) >= 0)
		cp.size = (uint64_t)json_integer_value(size) & ((1ull << 40) - 1);
	if (root != NULL)
		(void)sodium_base642bin(cp.root, sizeof(cp.root), root, strlen(root), NULL, &root_len, NULL,
					sodium_base64_VARIANT_ORIGINAL);
	if (audit_checkpoint_format(&cp, &body, &body_len) == CR_OK &&
	    audit_note_sign(log_signer, body, body_len, &note, &note_len) == CR_OK)
		json_object_set_new(report, "checkpoint", json_stringn(note, note_len));
	free(body);
	free(note);
}

/* Signs the report as report_compliance does: the signature lines after the signed text. */
static void resign_report(json_t *doc, const json_t *report)
{
	char *text = report_signed_text(report), *note = NULL;
	size_t note_len = 0;
	if (text != NULL && audit_note_sign(report_signer, text, strlen(text), &note, &note_len) == CR_OK)
		json_object_set_new(doc, "signature", json_string(note + strlen(text) + 1));
	free(text);
	free(note);
}

/* Every figure of an accepted report: its count is its list's length, each index below the size. */
static void check_accepted(const json_t *report)
{
	const json_t *figures = json_object_get(report, "figures"), *f, *idx, *x;
	json_int_t tree = json_integer_value(json_object_get(report, "tree_size"));
	const char *key;
	size_t i;
	json_object_foreach((json_t *)figures, key, f) {
		idx = json_object_get(f, "indices");
		if (!json_is_array(idx))
			continue; /* a figure given as a range and a Merkle root */
		check(json_integer_value(json_object_get(f, "count")) == (json_int_t)json_array_size(idx),
		      "an accepted figure's count is not its list's length");
		json_array_foreach(idx, i, x)
			check(json_is_integer(x) && json_integer_value(x) >= 0 && json_integer_value(x) < tree,
			      "an accepted index lies outside the checkpoint");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256] = "", why2[256] = "";
	json_t *doc, *report;
	cr_err rc, rc2;
	uint8_t mode;

	init_once();
	if (size < 1)
		return 0;
	mode = data[0];
	doc = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL)
		return 0;
	report = json_object_get(doc, "report");
	if (json_is_object(doc) && json_is_object(report)) {
		if (mode & 2)
			resign_checkpoint(report);
		if (mode & 1)
			resign_report(doc, report);
	}
	rc = report_compliance_verify(doc, report_key, log_key, NULL, NULL, why, sizeof(why));
	rc2 = report_compliance_verify(doc, report_key, log_key, NULL, NULL, why2, sizeof(why2));
	check(rc == rc2 && strcmp(why, why2) == 0, "two verdicts on one document differ");
	if (rc == CR_OK) {
		check(mode & 1, "a report the harness did not sign was accepted");
		check_accepted(report);
	} else {
		check(why[0] != '\0', "a refusal that does not say why");
	}
	json_decref(doc);
	return 0;
}
