/*
 * fuzz_link.c: libFuzzer target for the consent-link tokens
 * (cleanroom/link.c) that anyone holding a link presents to
 * POST /web/v1/link (api_links.c calls link_token_open on it).
 *
 * Mode 0 (first byte even): the rest is a presented token, opened under a
 * key the fuzzer never seals with; nothing may open (short of forging
 * Poly1305), and every refusal is CR_ERR_LINK_INVALID.
 * Mode 1: the rest gives claims (link id, brand, key version, pseudonym,
 * expiry) and a mutation; the claims are sealed and opened again, which
 * must give them back exactly, and refuse them as CR_ERR_LINK_EXPIRED at
 * and after the expiry; the token with one byte changed, cut short or
 * lengthened must be refused as CR_ERR_LINK_INVALID (no second spelling of
 * a token opens, and no byte can be changed unnoticed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cleanroom/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_link: invariant broken: %s\n", what);
		abort();
	}
}

static uint64_t take(const uint8_t **p, size_t *n, size_t k)
{
	uint64_t v = 0;
	for (size_t i = 0; i < k && *n > 0; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

static void sealed(const uint8_t key[static LINK_KEY_BYTES], const uint8_t *p, size_t n)
{
	struct link_claims c = { 0 }, got;
	char tok[LINK_TOKEN_MAX + 2];
	size_t len, at;
	uint8_t flip;
	cr_time_ms now;

	for (size_t i = 0; i < LINK_ID_BYTES; i++)
		c.link_id[i] = (uint8_t)take(&p, &n, 1);
	c.brand = (int64_t)(take(&p, &n, 8) & INT64_MAX);
	c.subject.key_version = (uint32_t)take(&p, &n, 4);
	for (size_t i = 0; i < CRYPTO_PSEUDONYM_BYTES; i++)
		c.subject.bytes[i] = (uint8_t)take(&p, &n, 1);
	c.expires = (cr_time_ms)(take(&p, &n, 8) & INT64_MAX);
	at = (size_t)take(&p, &n, 1);
	flip = (uint8_t)take(&p, &n, 1);
	now = (cr_time_ms)(take(&p, &n, 8) & INT64_MAX);

	if (link_token_seal(key, &c, tok) != CR_OK) {
		check(c.brand < 1, "a valid brand not sealed");
		return;
	}
	len = strlen(tok);
	check(len <= LINK_TOKEN_MAX, "token longer than LINK_TOKEN_MAX");
	cr_err rc = link_token_open(key, tok, len, now, &got);
	if (now >= c.expires) {
		check(rc == CR_ERR_LINK_EXPIRED, "an expired link opened");
	} else {
		check(rc == CR_OK, "a sealed link refused");
		check(memcmp(got.link_id, c.link_id, LINK_ID_BYTES) == 0 && got.brand == c.brand &&
		      got.subject.key_version == c.subject.key_version &&
		      memcmp(got.subject.bytes, c.subject.bytes, CRYPTO_PSEUDONYM_BYTES) == 0 &&
		      got.expires == c.expires, "claims differ after a round trip");
	}
	/* one byte changed: refused, whatever the time */
	at %= len;
	if (flip != 0) {
		tok[at] ^= flip;
		check(link_token_open(key, tok, len, 0, &got) == CR_ERR_LINK_INVALID, "a changed token opened");
		tok[at] ^= flip;
	}
	check(link_token_open(key, tok, at, 0, &got) == CR_ERR_LINK_INVALID, "a cut token opened");
	tok[len] = (char)(flip ? flip : 'A');
	tok[len + 1] = '\0';
	check(link_token_open(key, tok, len + 1, 0, &got) == CR_ERR_LINK_INVALID, "a longer token opened");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t key[LINK_KEY_BYTES];
	static int ready;
	struct link_claims got;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		randombytes_buf(key, sizeof(key));
		ready = 1;
	}
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		cr_err rc = link_token_open(key, (const char *)data + 1, size - 1, 0, &got);
		check(rc == CR_ERR_LINK_INVALID, "a token not sealed here was not refused as invalid");
	} else {
		sealed(key, data + 1, size - 1);
	}
	return 0;
}
