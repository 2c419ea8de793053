/*
 * fuzz_psi_msg.c: libFuzzer target for the match protocol's messages as
 * parsed on either side (cleanroom/psi_partner.c): the round-1 query a
 * partner sends (psi_open_request_from_json, which the service reads), the
 * offer and the release a service sends back (psi_offer_from_json,
 * psi_partner_release, which `match --server` reads), and round 4's A,
 * which the partner multiplies (psi_partner_answer).
 *
 * The first byte picks the message; the rest is its body. Beyond surviving
 * any input: an accepted query or offer writes back to JSON that parses to
 * the same message (field by field); an accepted release is exactly the
 * shape release.h describes and names this session; A of the wrong length
 * is refused as CR_ERR_PSI_COUNT and, whatever the outcome, the partner's
 * scalar is gone afterwards (a second answer is refused).
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
		fprintf(stderr, "fuzz_psi_msg: invariant broken: %s\n", what);
		abort();
	}
}

static const char session_hex[] = "0123456789abcdef0123456789abcdef";

/* A partner that has loaded one identifier and blinded it, awaiting A of `elements`. */
static struct psi_partner *answered_partner(uint64_t elements)
{
	static const char list[] = "email\nsomeone@example.com\n";
	struct psi_session_offer o = { .suite = "r255-sha512", .id_type = CRYPTO_ID_EMAIL,
				       .elements = elements, .min_set = 1, .max_set = 10 };
	struct psi_elements b = { 0 };
	struct psi_partner *p = NULL;
	FILE *f = fmemopen((void *)list, sizeof(list) - 1, "r");
	memcpy(o.session, session_hex, sizeof(session_hex));
	check(f != NULL && psi_partner_new(&o, &p) == CR_OK, "partner set-up");
	check(psi_partner_load(p, NULL, f, "ids.csv", NULL, NULL, NULL, 0) == CR_OK, "partner load");
	fclose(f);
	check(psi_partner_blind(p, NULL, &b) == CR_OK, "partner blind");
	psi_elements_release(&b);
	return p;
}

static void query(const uint8_t *d, size_t n)
{
	struct psi_open_request r, again;
	json_t *j = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, NULL), *w;
	if (j == NULL)
		return;
	if (psi_open_request_from_json(j, &r) == CR_OK) {
		w = psi_open_request_to_json(&r);
		check(w != NULL && psi_open_request_from_json(w, &again) == CR_OK, "query round trip");
		check(r.collab_id == again.collab_id && strcmp(r.group_by, again.group_by) == 0 &&
		      strcmp(r.metrics, again.metrics) == 0, "query round trip differs");
		json_decref(w);
	}
	json_decref(j);
}

static void offer(const uint8_t *d, size_t n)
{
	struct psi_session_offer o, again;
	json_t *j = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, NULL), *w;
	if (j == NULL)
		return;
	if (psi_offer_from_json(j, &o) == CR_OK) {
		check(o.min_set <= o.max_set, "offer limits inverted");
		w = psi_offer_to_json(&o);
		if (w != NULL) { /* NULL: an expiry a time string cannot hold */
			check(psi_offer_from_json(w, &again) == CR_OK, "offer round trip");
			check(strcmp(o.session, again.session) == 0 && strcmp(o.suite, again.suite) == 0 &&
			      o.id_type == again.id_type && o.elements == again.elements &&
			      o.min_set == again.min_set && o.max_set == again.max_set &&
			      o.expires == again.expires, "offer round trip differs");
			json_decref(w);
		}
	}
	json_decref(j);
}

static void release(const uint8_t *d, size_t n)
{
	struct psi_partner *p = answered_partner(0);
	struct psi_elements a = { 0 };
	json_t *out = NULL;
	check(psi_partner_answer(p, NULL, NULL, 0, &a) == CR_OK, "empty answer");
	psi_elements_release(&a);
	if (psi_partner_release(p, (const char *)d, n, &out) == CR_OK) {
		const char *outcome = json_string_value(json_object_get(out, "outcome"));
		check(strcmp(json_string_value(json_object_get(out, "session")), session_hex) == 0,
		      "release of another session accepted");
		check(outcome && (strcmp(outcome, "released") == 0 || strcmp(outcome, "refused") == 0),
		      "release outcome unknown");
		json_decref(out);
		check(psi_partner_release(p, (const char *)d, n, &out) == CR_ERR_PSI_SESSION_STATE,
		      "a second release accepted");
	}
	psi_partner_free(p);
}

static void answer(const uint8_t *d, size_t n, uint8_t announce)
{
	uint64_t elements = (announce & 1) ? n / CRYPTO_PSI_ELEMENT_BYTES : announce >> 1;
	struct psi_partner *p = answered_partner(elements);
	struct psi_elements a = { 0 };
	cr_err rc = psi_partner_answer(p, NULL, d, n, &a);
	if (n != elements * CRYPTO_PSI_ELEMENT_BYTES)
		check(rc == CR_ERR_PSI_COUNT, "A of the wrong length not refused as such");
	if (rc == CR_OK)
		check(a.count == elements, "A' count differs from A's");
	else
		check(rc == CR_ERR_PSI_COUNT || rc == CR_ERR_PSI_ENCODING || rc == CR_ERR_PSI_IDENTITY,
		      "undocumented refusal of A");
	psi_elements_release(&a);
	check(psi_partner_answer(p, NULL, d, n, &a) == CR_ERR_PSI_SESSION_STATE, "answered twice");
	psi_partner_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || sodium_init() < 0)
		return 0;
	switch (data[0] & 3) {
	case 0: query(data + 1, size - 1); break;
	case 1: offer(data + 1, size - 1); break;
	case 2: release(data + 1, size - 1); break;
	default: answer(data + 2, size - 2, data[1]); break;
	}
	return 0;
}
