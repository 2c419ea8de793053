/*
 * random.c: where crypto/ gets its randomness. It makes sure libsodium is
 * initialized before the first draw, routes every draw through a
 * replaceable struct crypto_rng (so the noise tests can run on a seeded
 * stream), and turns random bytes into uniform integers without modulo bias.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto_internal.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_init_rc;

static void sodium_init_once(void)
{
	sodium_init_rc = sodium_init();
}

void crypto_sodium_ready(void)
{
	if (pthread_once(&sodium_once, sodium_init_once) != 0 || sodium_init_rc < 0)
		cr_die("libsodium failed to initialize");
}

void crypto_rng_fill(const struct crypto_rng *rng, uint8_t *buf, size_t len)
{
	if (rng != NULL) {
		rng->fill(rng->ctx, buf, len);
		return;
	}
	crypto_sodium_ready();
	randombytes_buf(buf, len);
}

static void stream_refill(struct crypto_stream_rng *s)
{
	static const uint8_t zeros[CRYPTO_STREAM_RNG_BUF];
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	crypto_stream_chacha20_xor_ic(s->buf, zeros, sizeof(s->buf), nonce, s->block, s->key);
	s->block += sizeof(s->buf) / 64;
	s->pos = 0;
}

static void stream_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct crypto_stream_rng *s = ctx;
	while (len > 0) {
		size_t take;
		if (s->pos == sizeof(s->buf))
			stream_refill(s);
		take = sizeof(s->buf) - s->pos < len ? sizeof(s->buf) - s->pos : len;
		memcpy(buf, s->buf + s->pos, take);
		sodium_memzero(s->buf + s->pos, take); /* handed out: not kept */
		s->pos += take;
		buf += take;
		len -= take;
	}
}

void crypto_stream_rng_init_key(struct crypto_stream_rng *s, const uint8_t key[static 32])
{
	crypto_sodium_ready();
	memcpy(s->key, key, sizeof(s->key));
	s->block = 0;
	s->rng.fill = stream_fill;
	s->rng.ctx = s;
	stream_refill(s);
}

void crypto_stream_rng_init(struct crypto_stream_rng *s)
{
	uint8_t key[32];
	crypto_sodium_ready();
	randombytes_buf(key, sizeof(key));
	crypto_stream_rng_init_key(s, key);
	sodium_memzero(key, sizeof(key));
}

void crypto_stream_rng_wipe(struct crypto_stream_rng *s)
{
	sodium_memzero(s, sizeof(*s));
}

/* 64 uniform bits, read little-endian so a seeded stream gives the same
 * numbers on every machine. */
static uint64_t random_u64(const struct crypto_rng *rng)
{
	uint8_t b[8];
	uint64_t x = 0;

	crypto_rng_fill(rng, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		x |= (uint64_t)b[i] << (8 * i);
	sodium_memzero(b, sizeof(b));
	return x;
}

uint64_t crypto_random_uniform(const struct crypto_rng *rng, uint64_t n)
{
	uint64_t x, reject_below;

	if (n == 0)
		cr_die("crypto_random_uniform: n must be at least 1");
	if (n == 1)
		return 0;
	/*
	 * 2^64 mod n, computed without 128-bit arithmetic. The draws in
	 * [reject_below, 2^64) number a whole multiple of n, so x mod n is
	 * exactly uniform on them; the rest are drawn again (fewer than half
	 * of all draws, whatever n).
	 */
	reject_below = (0 - n) % n;
	do {
		x = random_u64(rng);
	} while (x < reject_below);
	return x % n;
}
