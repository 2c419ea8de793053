/* Unit tests for crypto/random.c: draws go through the given rng (or
 * randombytes_buf), 64-bit draws are read little-endian, and
 * crypto_random_uniform rejects exactly the draws below 2^64 mod n (no
 * modulo bias), checked with scripted draws at the edges of the range. */
#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"

/* An rng that hands out a fixed list of 64-bit values, little-endian. */
struct script {
	const uint64_t *values;
	size_t n, next;
	size_t bytes_asked;
};

static void script_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct script *s = ctx;
	s->bytes_asked += len;
	assert_int_equal(len, 8);
	assert_true(s->next < s->n);
	uint64_t v = s->values[s->next++];
	for (size_t i = 0; i < 8; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t uniform_scripted(uint64_t n, const uint64_t *values, size_t count,
				 size_t *used)
{
	struct script s = { .values = values, .n = count };
	const struct crypto_rng rng = { .fill = script_fill, .ctx = &s };
	uint64_t r = crypto_random_uniform(&rng, n);
	*used = s.next;
	return r;
}

static void test_uniform_rejects_below_threshold(void **state)
{
	(void)state;
	size_t used = 0;

	/* n = 2^63 + 1: 2^64 mod n = 2^63 - 1, so 0 .. 2^63-2 are rejected */
	{
		const uint64_t n = ((uint64_t)1 << 63) + 1;
		const uint64_t v[] = { 0, ((uint64_t)1 << 63) - 2, ((uint64_t)1 << 63) - 1 };
		assert_int_equal(uniform_scripted(n, v, 3, &used), ((uint64_t)1 << 63) - 1);
		assert_int_equal(used, 3);
	}
	/* n = 6: 2^64 mod 6 = 4, so 0..3 are rejected and 4 gives 4 */
	{
		const uint64_t v[] = { 0, 1, 2, 3, 4 };
		assert_int_equal(uniform_scripted(6, v, 5, &used), 4);
		assert_int_equal(used, 5);
		const uint64_t w[] = { UINT64_MAX };
		assert_int_equal(uniform_scripted(6, w, 1, &used), UINT64_MAX % 6);
		assert_int_equal(used, 1);
	}
	/* n = 2^64 - 1: only 0 is rejected; 2^64 - 1 wraps to 0 */
	{
		const uint64_t v[] = { 0, UINT64_MAX };
		assert_int_equal(uniform_scripted(UINT64_MAX, v, 2, &used), 0);
		assert_int_equal(used, 2);
	}
	/* a power of two rejects nothing */
	{
		const uint64_t v[] = { 0 };
		assert_int_equal(uniform_scripted(1024, v, 1, &used), 0);
		assert_int_equal(used, 1);
	}
	/* n = 1 needs no randomness at all */
	{
		assert_int_equal(uniform_scripted(1, NULL, 0, &used), 0);
		assert_int_equal(used, 0);
	}
}

static void bytes_fill(void *ctx, uint8_t *buf, size_t len)
{
	const uint8_t *src = ctx;
	memcpy(buf, src, len);
}

static void test_rng_fill_and_byte_order(void **state)
{
	(void)state;
	uint8_t src[8] = { 0x01, 0x02, 0, 0, 0, 0, 0, 0 };
	const struct crypto_rng rng = { .fill = bytes_fill, .ctx = src };
	uint8_t buf[8] = { 0 };

	crypto_rng_fill(&rng, buf, 8);
	assert_bytes_equal(buf, src, 8);
	/* little-endian: 0x0201 */
	assert_int_equal(crypto_random_uniform(&rng, 1u << 20), 0x0201);

	/* the default source: 64 random bytes are not all zero */
	uint8_t big[64] = { 0 };
	crypto_rng_fill(NULL, big, sizeof(big));
	assert_false(sodium_is_zero(big, sizeof(big)));
	crypto_sodium_ready(); /* idempotent */
	crypto_sodium_ready();
}

/* The default source stays in range and hits every value of a small range. */
static void test_uniform_default_rng(void **state)
{
	(void)state;
	unsigned hits[7] = { 0 };
	for (int i = 0; i < 7000; i++) {
		uint64_t r = crypto_random_uniform(NULL, 7);
		assert_true(r < 7);
		hits[r]++;
	}
	/* each expected 1000; 700 is more than 9 standard deviations away */
	for (int i = 0; i < 7; i++)
		assert_true(hits[i] > 700 && hits[i] < 1300);
}

/* n == 0 is misuse and aborts (docs/style.md: misuse aborts). */
static void test_uniform_zero_aborts(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* keep the child's abort message out of the test output */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		(void)crypto_random_uniform(NULL, 0);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* randombytes calls, counted by an implementation that wraps the system one. */
static size_t system_calls;
static randombytes_implementation *system_impl;

static void counting_buf(void *buf, size_t len)
{
	system_calls++;
	system_impl->buf(buf, len);
}

static const char *counting_name(void)
{
	return "counting";
}

static uint32_t counting_random(void)
{
	system_calls++;
	return system_impl->random();
}

static randombytes_implementation counting = {
	.implementation_name = counting_name, .random = counting_random, .buf = counting_buf,
};

/*
 * The stream rng is ChaCha20 under its key from block 0, whatever the sizes
 * of the draws (buffer edges included), and takes one system draw when it
 * is seeded and none after (issue 21, item 6).
 */
static void test_stream_rng_is_chacha20_and_draws_once(void **state)
{
	(void)state;
	uint8_t key[32], want[4096], got[4096];
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	struct crypto_stream_rng s;
	size_t off = 0, step = 1;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	crypto_stream_chacha20(want, sizeof(want), nonce, key);
	crypto_stream_rng_init_key(&s, key);
	while (off < sizeof(got)) {
		size_t take = step < sizeof(got) - off ? step : sizeof(got) - off;
		crypto_rng_fill(&s.rng, got + off, take);
		off += take;
		step = step * 3 % 301 + 1; /* 1, 4, 13, ..., across the 256-byte buffer's edges */
	}
	assert_memory_equal(got, want, sizeof(want));
	crypto_stream_rng_wipe(&s);

	assert_true(sodium_init() >= 0); /* stirs the system source before it is wrapped */
	system_impl = &randombytes_sysrandom_implementation;
	assert_int_equal(randombytes_set_implementation(&counting), 0);
	system_calls = 0;
	crypto_stream_rng_init(&s);
	for (int i = 0; i < 100000; i++)
		(void)crypto_random_uniform(&s.rng, 1000003);
	assert_int_equal(system_calls, 1);
	crypto_stream_rng_wipe(&s);
	assert_int_equal(randombytes_set_implementation(system_impl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform_rejects_below_threshold),
		cmocka_unit_test(test_rng_fill_and_byte_order),
		cmocka_unit_test(test_uniform_default_rng),
		cmocka_unit_test(test_uniform_zero_aborts),
		cmocka_unit_test(test_stream_rng_is_chacha20_and_draws_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
