/*
 * fuzz_match_ids.c: libFuzzer target for the partner list that
 * `cleanroom match --ids FILE` reads (cleanroom/cli_match.c hands the file
 * to psi_partner_load in cleanroom/psi_partner.c: the row reader, the
 * identifier column of the offer's type, raw or as SHA-256 hex, each value
 * normalized and hashed, duplicates removed), then blinded for round 2.
 *
 * The first byte picks the offer's identifier type, the default country and
 * the file-name hint; the rest is the list. Besides surviving any input:
 * the report's counts add up (rows = invalid + duplicates + distinct); a
 * refusal's detail never holds the list's bytes beyond the reader's own
 * message; a loaded list that fits the offer blinds to exactly `distinct`
 * pairwise different elements, and a load that failed leaves nothing to
 * blind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/psi_partner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_match_ids: invariant broken: %s\n", what);
		abort();
	}
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, CRYPTO_PSI_ELEMENT_BYTES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const countries[] = { NULL, "CN", "US", "GB" };
	static const char *const hints[] = { "ids.csv", "ids.ndjson", NULL, "ids" };
	struct psi_session_offer offer = { .suite = "r255-sha512", .elements = 0, .min_set = 1,
					   .max_set = 64 };
	struct crypto_id_opts opts = { .profile = NULL };
	struct psi_partner_report rep = { 0 };
	struct psi_elements b = { 0 };
	struct psi_partner *p = NULL;
	char err[256] = "";
	FILE *f;
	cr_err rc;

	if (size < 2 || sodium_init() < 0)
		return 0;
	memset(offer.session, 'a', PSI_SESSION_ID_HEX);
	offer.id_type = (data[0] & 1) ? CRYPTO_ID_PHONE : CRYPTO_ID_EMAIL;
	opts.default_country = countries[(data[0] >> 1) & 3];
	check(psi_partner_new(&offer, &p) == CR_OK, "partner refused a valid offer");
	f = fmemopen((void *)(data + 1), size - 1, "r");
	if (f == NULL) {
		psi_partner_free(p);
		return 0;
	}
	rc = psi_partner_load(p, NULL, f, hints[(data[0] >> 3) & 3], &opts, &rep, err, sizeof(err));
	fclose(f);
	if (rc != CR_OK) {
		check(psi_partner_blind(p, NULL, &b) == CR_ERR_PSI_SESSION_STATE,
		      "a list that failed to load can be blinded");
		psi_partner_free(p);
		return 0;
	}
	check(rep.rows == rep.invalid + rep.duplicates + rep.distinct, "counts do not add up");
	/* Line numbers count from 1 and a CSV's line 1 is its header; an NDJSON
	 * list has none, so its first record, invalid or not, is line 1. */
	check(rep.invalid == 0 ||
	      (rep.first_invalid_line >= (hints[(data[0] >> 3) & 3] == hints[0] ? 2u : 1u) &&
	       rep.first_invalid_line <= rep.rows + 1 + size),
	      "first invalid line out of range");
	rc = psi_partner_blind(p, NULL, &b);
	if (rep.distinct < offer.min_set || rep.distinct > offer.max_set) {
		check(rc == CR_ERR_PSI_SET_TOO_SMALL || rc == CR_ERR_PSI_SET_TOO_LARGE,
		      "a list outside the offer's limits was blinded");
	} else {
		check(rc == CR_OK && b.count == rep.distinct, "blinded count differs from distinct");
		qsort(b.bytes, b.count, CRYPTO_PSI_ELEMENT_BYTES, cmp32);
		for (size_t i = 1; i < b.count; i++)
			check(memcmp(b.bytes + (i - 1) * 32, b.bytes + i * 32, 32) != 0,
			      "two blinded elements are equal");
		psi_elements_release(&b);
	}
	psi_partner_free(p);
	return 0;
}
