/* Unit tests for crypto/pseudonym.c: HMAC-SHA-256 against all RFC 4231 test
 * cases, the pseudonym message layout of docs/spec/identifiers.md checked against
 * an HMAC written here from its RFC 2104 definition (two SHA-256 passes) and
 * against pinned values computed outside this code base, key separation per
 * brand and version (R32, R33), and one pseudonym for the case, whitespace
 * and format variants of one email or phone (consent-rules edge case 11). */
#include "test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(cr_hex_decode_exact(hex, strlen(hex), out, n), CR_OK);
}

/* ------------------------------------------------------------ RFC 4231 */

struct rfc4231 {
	const char *key_hex;   /* NULL: key_byte repeated key_len times */
	uint8_t key_byte;
	size_t key_len;
	const char *data;      /* text, or NULL for data_byte repeated data_len times */
	uint8_t data_byte;
	size_t data_len;
	const char *mac_hex;   /* case 5 is truncated to 128 bits */
};

static const struct rfc4231 rfc4231[] = {
	/* 1 */ { NULL, 0x0b, 20, "Hi There", 0, 0,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	/* 2 */ { "4a656665", 0, 4, "what do ya want for nothing?", 0, 0,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	/* 3 */ { NULL, 0xaa, 20, NULL, 0xdd, 50,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	/* 4 */ { "0102030405060708090a0b0c0d0e0f10111213141516171819", 0, 25, NULL, 0xcd, 50,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
	/* 5 */ { NULL, 0x0c, 20, "Test With Truncation", 0, 0,
		  "a3b6167473100ee06e0c796c2955552b" },
	/* 6 */ { NULL, 0xaa, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	/* 7 */ { NULL, 0xaa, 131,
		  "This is a test using a larger than block-size key and a larger than block-size "
		  "data. The key needs to be hashed before being used by the HMAC algorithm.", 0, 0,
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
};

static void test_hmac_rfc4231(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		const struct rfc4231 *v = &rfc4231[i];
		uint8_t key[131], data[64], want[32], mac[32];
		const uint8_t *msg = data;
		size_t msg_len = v->data_len;
		size_t want_len = strlen(v->mac_hex) / 2;

		if (v->key_hex)
			from_hex(v->key_hex, key, v->key_len);
		else
			memset(key, v->key_byte, v->key_len);
		if (v->data) {
			msg = (const uint8_t *)v->data;
			msg_len = strlen(v->data);
		} else {
			memset(data, v->data_byte, v->data_len);
		}
		from_hex(v->mac_hex, want, want_len);
		crypto_hmac_sha256(key, v->key_len, msg, msg_len, mac);
		print_message("RFC 4231 test case %zu\n", i + 1);
		assert_bytes_equal(mac, want, want_len);
	}
}

/* HMAC-SHA-256 from its definition (RFC 2104): H((K' ^ opad) || H((K' ^ ipad) || m)),
 * K' the key zero-padded to 64 bytes (hashed first if longer). */
static void hmac_by_definition(const uint8_t *key, size_t key_len, const uint8_t *msg,
			       size_t msg_len, uint8_t mac[32])
{
	uint8_t k[64] = { 0 }, pad[64], inner[32];
	crypto_hash_sha256_state st;

	if (key_len > 64)
		crypto_hash_sha256(k, key, key_len);
	else
		memcpy(k, key, key_len);
	for (size_t i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, pad, 64);
	crypto_hash_sha256_update(&st, msg, msg_len);
	crypto_hash_sha256_final(&st, inner);
	for (size_t i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, pad, 64);
	crypto_hash_sha256_update(&st, inner, 32);
	crypto_hash_sha256_final(&st, mac);
}

static void test_hmac_matches_definition(void **state)
{
	(void)state;
	uint8_t key[200], msg[300], a[32], b[32];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 5);
	const size_t key_lens[] = { 0, 1, 32, 63, 64, 65, 200 };
	for (size_t i = 0; i < sizeof(key_lens) / sizeof(key_lens[0]); i++) {
		crypto_hmac_sha256(key, key_lens[i], msg, sizeof(msg), a);
		hmac_by_definition(key, key_lens[i], msg, sizeof(msg), b);
		assert_bytes_equal(a, b, 32);
	}
}

/* ----------------------------------------------------------- pseudonyms */

/* "cr-pseudonym-v1" 0x00 type 0x00 digest, built by hand. */
static void pseudonym_by_definition(const uint8_t key[32], const char *type,
				    const uint8_t digest[32], uint8_t mac[32])
{
	uint8_t msg[64];
	size_t n = 0;

	memcpy(msg, "cr-pseudonym-v1", 15);
	n = 15;
	msg[n++] = 0;
	memcpy(msg + n, type, strlen(type));
	n += strlen(type);
	msg[n++] = 0;
	memcpy(msg + n, digest, 32);
	n += 32;
	hmac_by_definition(key, 32, msg, n, mac);
}

/* Key 00 01 .. 1f; the pinned values were computed with Python's hmac and
 * hashlib from the spec's text, outside this code base. */
static void test_pseudonym_known_answers(void **state)
{
	(void)state;
	uint8_t key[32], digest[32], want[32], by_def[32];
	struct crypto_pseudonym p;

	for (size_t i = 0; i < 32; i++)
		key[i] = (uint8_t)i;

	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "  Alice.Smith@Example.COM ", 26, NULL,
					  digest), CR_OK);
	crypto_pseudonym_with_key(key, 3, CRYPTO_ID_EMAIL, digest, &p);
	from_hex("621581ae0cddba28ae67a9f7957bec32a01a7fd43ddb4b8495b850c3b76dc6a7", want, 32);
	assert_bytes_equal(p.bytes, want, 32);
	assert_int_equal(p.key_version, 3);
	pseudonym_by_definition(key, "email", digest, by_def);
	assert_bytes_equal(p.bytes, by_def, 32);

	assert_int_equal(crypto_id_digest(CRYPTO_ID_PHONE, "+86 138 0013 8000", 17, NULL, digest),
			 CR_OK);
	crypto_pseudonym_with_key(key, 1, CRYPTO_ID_PHONE, digest, &p);
	from_hex("896c06877c0f031aa59de75f6c696ffb15f8acd372413899994ba1e0238fa11d", want, 32);
	assert_bytes_equal(p.bytes, want, 32);
	pseudonym_by_definition(key, "phone", digest, by_def);
	assert_bytes_equal(p.bytes, by_def, 32);

	/* the type is part of the message: same digest, other type, other pseudonym */
	struct crypto_pseudonym q;
	crypto_pseudonym_with_key(key, 1, CRYPTO_ID_EMAIL, digest, &q);
	assert_memory_not_equal(p.bytes, q.bytes, 32);
}

/* ------------------------------------------- with the keyring (R32, R33) */

struct fixture {
	char root[64];
	char keys[96];
	struct crypto_keyring *kr;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/cr-test-pseudonym-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->root);
	if (crypto_keys_create(f->keys, "test") != CR_OK ||
	    crypto_keyring_open(f->keys, &f->kr) != CR_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];
	crypto_keyring_free(f->kr);
	snprintf(p, sizeof(p), "%s/master.key", f->keys);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sign.key", f->keys);
	unlink(p);
	rmdir(f->keys);
	rmdir(f->root);
	free(f);
	return 0;
}

static void test_pseudonym_with_keyring(void **state)
{
	struct fixture *f = *state;
	uint8_t digest[32], key[32];
	struct crypto_pseudonym a, b, c, direct;

	assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, "zhang.wei@qq.com", 16, NULL, digest),
			 CR_OK);
	assert_int_equal(crypto_pseudonym(f->kr, 7, 1, CRYPTO_ID_EMAIL, digest, &a), CR_OK);
	assert_int_equal(a.key_version, 1);
	assert_int_equal(crypto_subkey_derive(f->kr, 7, CRYPTO_USE_PSEUDONYM, 1, key), CR_OK);
	crypto_pseudonym_with_key(key, 1, CRYPTO_ID_EMAIL, digest, &direct);
	assert_bytes_equal(a.bytes, direct.bytes, 32);

	assert_int_equal(crypto_pseudonym(f->kr, 8, 1, CRYPTO_ID_EMAIL, digest, &b), CR_OK);
	assert_memory_not_equal(a.bytes, b.bytes, 32); /* R32: other brand */
	assert_int_equal(crypto_pseudonym(f->kr, 7, 2, CRYPTO_ID_EMAIL, digest, &c), CR_OK);
	assert_memory_not_equal(a.bytes, c.bytes, 32); /* R33: other version */
	assert_int_equal(c.key_version, 2);

	/* a type outside the enum is refused and *out untouched */
	memset(&b, 0x5a, sizeof(b));
	struct crypto_pseudonym saved = b;
	assert_int_equal(crypto_pseudonym(f->kr, 7, 1, (enum crypto_id_type)0, digest, &b),
			 CR_ERR_ID_TYPE);
	assert_memory_equal(&b, &saved, sizeof(b));
}

/* docs/spec/consent-rules.md edge case 11: case, whitespace and format variants of one
 * email or phone give one pseudonym. */
static void test_variants_give_one_pseudonym(void **state)
{
	struct fixture *f = *state;
	static const char *emails[] = {
		"john.doe@gmail.com", "JOHN.DOE@GMAIL.COM", "  John.Doe@Gmail.com\t",
		"johndoe@gmail.com", "j.o.h.n.d.o.e@gmail.com", "\r\nJohnDoe@GMail.Com ",
	};
	static const char *phones[] = {
		"+86 138 0013 8000", "+8613800138000", "+86-138-0013-8000", "138 0013 8000",
		"(138) 0013.8000", " +86 (138) 0013 8000 ",
	};
	const struct crypto_id_opts cn = { .profile = NULL, .default_country = "CN" };
	struct crypto_pseudonym first, p;
	uint8_t digest[32];

	for (size_t i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
		assert_int_equal(crypto_id_digest(CRYPTO_ID_EMAIL, emails[i], strlen(emails[i]), NULL,
						  digest), CR_OK);
		assert_int_equal(crypto_pseudonym(f->kr, 1, 1, CRYPTO_ID_EMAIL, digest,
						  i ? &p : &first), CR_OK);
		if (i)
			assert_bytes_equal(p.bytes, first.bytes, 32);
	}
	for (size_t i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
		assert_int_equal(crypto_id_digest(CRYPTO_ID_PHONE, phones[i], strlen(phones[i]), &cn,
						  digest), CR_OK);
		assert_int_equal(crypto_pseudonym(f->kr, 1, 1, CRYPTO_ID_PHONE, digest,
						  i ? &p : &first), CR_OK);
		if (i)
			assert_bytes_equal(p.bytes, first.bytes, 32);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hmac_matches_definition),
		cmocka_unit_test(test_pseudonym_known_answers),
		cmocka_unit_test_setup_teardown(test_pseudonym_with_keyring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_variants_give_one_pseudonym, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
