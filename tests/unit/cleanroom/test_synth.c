/* Unit tests for cleanroom/synth.c: the seeded streams, unique identities,
 * messy variants that normalize back to one person (docs/spec/identifiers.md,
 * consent edge case 11), CSV quoting, time formatting, the consent events'
 * shape (docs/spec/formats.md), the consent mix, the partner overlap and the notice. */
#include "test_util.h"

#include <fcntl.h>
#include <math.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cleanroom/synth.h"
#include "crypto/crypto.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* docs/spec/identifiers.md, profile default, for the ASCII the generator writes. */
static void normalize(const char *raw, char *out, size_t cap)
{
	size_t b = 0, e = strlen(raw), n = 0, at = 0;
	while (b < e && (raw[b] == ' ' || raw[b] == '\t'))
		b++;
	while (e > b && (raw[e - 1] == ' ' || raw[e - 1] == '\t'))
		e--;
	for (size_t i = b; i < e && n + 1 < cap; i++) {
		char c = raw[i];
		out[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		if (c == '@')
			at = n - 1;
	}
	out[n] = '\0';
	if (strcmp(out + at, "@gmail.com") == 0 || strcmp(out + at, "@googlemail.com") == 0) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (!(i < at && out[i] == '.'))
				out[k++] = out[i];
		out[k] = '\0';
	}
}

static void test_rng_is_deterministic_per_stream(void **state)
{
	(void)state;
	struct synth_gen g1, g2, g3;
	struct synth_rng a, b, c;
	bool differs = false;

	synth_gen_init(&g1, 42);
	synth_gen_init(&g2, 42);
	synth_gen_init(&g3, 43);
	assert_memory_equal(g1.key, g2.key, sizeof(g1.key));
	assert_memory_not_equal(g1.key, g3.key, sizeof(g1.key));
	assert_true(g1.tag_mul % 2 == 1 && g1.tag_mul % 5 != 0); /* invertible mod 10^8 */

	synth_rng_init(&a, &g1, SYNTH_STREAM_CUSTOMER, 7);
	synth_rng_init(&b, &g2, SYNTH_STREAM_CUSTOMER, 7);
	synth_rng_init(&c, &g1, SYNTH_STREAM_CUSTOMER, 8);
	for (int i = 0; i < 100; i++) { /* crosses several ChaCha20 blocks */
		uint32_t x = synth_rng_u32(&a);
		assert_int_equal(x, synth_rng_u32(&b));
		differs |= x != synth_rng_u32(&c);
	}
	assert_true(differs);
	for (int i = 0; i < 1000; i++) {
		assert_true(synth_rng_below(&a, 7) < 7);
		assert_int_equal(synth_rng_below(&a, 1), 0);
	}
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void test_persons_are_unique_after_normalization(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct synth_gen g;
	struct synth_person p;
	char (*norm)[SYNTH_EMAIL_MAX] = calloc(N, SYNTH_EMAIL_MAX);
	char (*phones)[16] = calloc(N, 16);

	assert_non_null(norm);
	assert_non_null(phones);
	synth_gen_init(&g, 1);
	for (uint32_t i = 0; i < N; i++) {
		/* Spread the ids: customers from 0, partner-only people past them. */
		uint32_t pid = i % 2 ? i : 40000000 + i;
		synth_person_make(&g, pid, &p);
		synth_person_normalized(&p, norm[i]);
		assert_int_equal(p.email[p.at], '@');
		assert_int_equal(strlen(p.phone), 14);
		assert_int_equal(strncmp(p.phone, "+861", 4), 0);
		memcpy(phones[i], p.phone, 16);
	}
	qsort(norm, N, SYNTH_EMAIL_MAX, cmp_str);
	qsort(phones, N, 16, cmp_str);
	for (size_t i = 1; i < N; i++) {
		assert_string_not_equal(norm[i - 1], norm[i]);
		assert_string_not_equal(phones[i - 1], phones[i]);
	}
	free(norm);
	free(phones);
}

static unsigned local_dots(const char *email)
{
	unsigned n = 0;
	for (; *email && *email != '@'; email++)
		n += *email == '.';
	return n;
}

/* Consent edge case 11: every variant is one person after normalization. */
static void test_variants_normalize_to_the_person(void **state)
{
	(void)state;
	struct synth_gen g;
	struct synth_person p;
	struct synth_rng r;
	char want[SYNTH_EMAIL_MAX], v[SYNTH_EMAIL_MAX], got[SYNTH_EMAIL_MAX], ph[SYNTH_PHONE_MAX];
	unsigned spaces = 0, cased = 0, dots = 0, gmail = 0;

	synth_gen_init(&g, 5);
	for (uint32_t pid = 0; pid < 20000; pid++) {
		synth_person_make(&g, pid, &p);
		synth_person_normalized(&p, want);
		gmail += p.gmail;
		synth_rng_init(&r, &g, SYNTH_STREAM_PARTNER, pid);
		for (int k = 0; k < 4; k++) {
			synth_email_variant(&p, &r, v);
			normalize(v, got, sizeof(got));
			assert_string_equal(got, want);
			spaces += v[0] == ' ' || v[strlen(v) - 1] == ' ';
			cased += strcmp(v, p.email) != 0 && strcasecmp(v, p.email) == 0;
			dots += p.gmail && local_dots(v) != local_dots(p.email);
		}
		synth_phone_variant(&p, &r, ph);
		size_t n = 0;
		char digits[SYNTH_PHONE_MAX], e164[CRYPTO_NORMALIZED_MAX + 1];
		for (const char *c = ph; *c; c++)
			if (*c != ' ' && *c != '-')
				digits[n++] = *c;
		digits[n] = '\0';
		assert_string_equal(digits, p.phone);
		/* and the service (libphonenumber) reads it as the person's */
		assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, ph, strlen(ph), NULL, e164), CR_OK);
		assert_string_equal(e164, p.phone);
	}
	assert_true(gmail > 1000 && spaces > 1000 && cased > 1000 && dots > 100);
}

/* Every person's number is a valid China mobile number to libphonenumber,
 * over all the prefixes synth uses and tags from the whole 8-digit range. */
static void test_phones_are_valid_numbers(void **state)
{
	(void)state;
	struct synth_gen g;
	struct synth_person p;
	char e164[CRYPTO_NORMALIZED_MAX + 1], prefixes[64][4] = { { 0 } };
	size_t distinct = 0;

	synth_gen_init(&g, 3);
	for (uint32_t pid = 0; pid < 5000; pid++) {
		synth_person_make(&g, pid * 19997u, &p);
		assert_int_equal(crypto_id_normalize(CRYPTO_ID_PHONE, p.phone, strlen(p.phone), NULL,
						     e164), CR_OK);
		assert_string_equal(e164, p.phone);
		size_t k = 0;
		while (k < distinct && strncmp(prefixes[k], p.phone + 3, 3) != 0)
			k++;
		if (k == distinct && distinct < 64)
			memcpy(prefixes[distinct++], p.phone + 3, 3);
	}
	assert_true(distinct >= 30); /* every prefix of the table was drawn */
}

/* synth stops rather than write a number the service would refuse. */
static void test_invalid_phone_stops_synth(void **state)
{
	(void)state;
	struct synth_gen g;
	struct synth_person p;
	struct synth_rng r;
	char ph[SYNTH_PHONE_MAX];
	int status = 0;
	pid_t child;

	synth_gen_init(&g, 3);
	synth_person_make(&g, 7, &p);
	memcpy(p.phone, "+86100", 6); /* no China mobile number starts with 100 */
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		synth_rng_init(&r, &g, SYNTH_STREAM_CSV, 7);
		synth_phone_variant(&p, &r, ph);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_csv_field_quotes_only_when_needed(void **state)
{
	(void)state;
	struct synth_buf b = { 0 };
	synth_csv_field(&b, " Alice@Example.com ");
	synth_csv_field(&b, "|a,b|");
	synth_csv_field(&b, "say \"hi\"");
	synth_csv_field(&b, "two\nlines");
	const char *want = " Alice@Example.com \"|a,b|\"\"say \"\"hi\"\"\"\"two\nlines\"";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	synth_buf_release(&b);
	synth_buf_release(&b);
	synth_buf_release(NULL);
}

static void test_time_format(void **state)
{
	(void)state;
	char s[26];
	synth_time_format(1767225600, s);
	assert_string_equal(s, "2026-01-01T00:00:00+08:00");
	synth_time_format(1772326861, s);
	assert_string_equal(s, "2026-03-01T01:01:01+08:00");
	synth_time_format(1709251199, s);
	assert_string_equal(s, "2024-02-29T23:59:59+08:00");
	synth_time_format(978264000, s);
	assert_string_equal(s, "2000-12-31T12:00:00+08:00");
}

/* docs/spec/formats.md: the fields each event type may carry (unknown fields are refused). */
static bool field_allowed(const char *type, const char *key)
{
	static const char *const common[] = { "type", "subject", "time", NULL };
	static const char *const served[] = { "notice_version", "channel", NULL };
	static const char *const grant[] = { "purpose", "recipient", "notice_version", "expires",
					     "method", "channel", "actor", "guardian_ref",
					     "jurisdiction", "birth_year", NULL };
	static const char *const withdraw[] = { "purpose", "recipient", "channel", NULL };
	static const char *const object[] = { "signal", NULL };
	static const char *const link[] = { "guardian_ref", "verified_by", NULL };
	const char *const *extra = strcmp(type, "guardian_link") == 0 ? link :
				   strcmp(type, "served") == 0 ? served :
				   strcmp(type, "grant") == 0 || strcmp(type, "refuse") == 0 ? grant :
				   strcmp(type, "withdraw") == 0 ? withdraw :
				   strcmp(type, "object") == 0 ? object : NULL;
	for (const char *const *k = common; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	for (const char *const *k = extra; k && *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

static void test_customer_events_have_the_format(void **state)
{
	(void)state;
	struct synth_gen g;
	struct synth_buf csv = { 0 }, nd = { 0 }, again = { 0 };
	struct synth_counts c = { 0 }, c2 = { 0 };
	uint64_t lines = 0;

	synth_gen_init(&g, 11);
	for (uint32_t i = 0; i < 2000; i++)
		synth_customer_render(&g, i, &csv, &nd, &c);
	for (uint32_t i = 0; i < 2000; i++)
		synth_customer_render(&g, i, &csv, &again, &c2);
	assert_int_equal(nd.len, again.len);
	assert_memory_equal(nd.p, again.p, nd.len);
	assert_int_equal(c.customers, 2000);
	assert_int_equal(c.by_event[SYNTH_EV_SERVED], 2000);

	for (size_t start = 0; start < nd.len; lines++) {
		const char *nl = memchr(nd.p + start, '\n', nd.len - start);
		json_error_t err;
		const char *key;
		json_t *v, *ev;
		assert_non_null(nl);
		ev = json_loadb(nd.p + start, (size_t)(nl - nd.p) - start, 0, &err);
		assert_non_null(ev);
		const char *type = json_string_value(json_object_get(ev, "type"));
		assert_non_null(type);
		json_object_foreach(ev, key, v) {
			if (!field_allowed(type, key))
				fail_msg("field '%s' on a %s event", key, type);
		}
		assert_non_null(json_string_value(json_object_get(ev, "subject")));
		assert_non_null(json_string_value(json_object_get(ev, "time")));
		json_decref(ev);
		start = (size_t)(nl - nd.p) + 1;
	}
	assert_int_equal(lines, c.events);
	synth_buf_release(&csv);
	synth_buf_release(&nd);
	synth_buf_release(&again);
}

static void test_consent_mix_matches_the_table(void **state)
{
	(void)state;
	enum { N = 40000 };
	struct synth_gen g;
	struct synth_buf csv = { 0 }, nd = { 0 };
	struct synth_counts c = { 0 };
	uint32_t total = 0;

	assert_null(synth_kind_info(SYNTH_KIND_COUNT));
	for (int k = 0; k < SYNTH_KIND_COUNT; k++)
		total += synth_kind_info((enum synth_kind)k)->per_10k;
	assert_int_equal(total, 10000);

	synth_gen_init(&g, 3);
	for (uint32_t i = 0; i < N; i++) {
		synth_customer_render(&g, i, &csv, &nd, &c);
		csv.len = nd.len = 0;
	}
	for (int k = 0; k < SYNTH_KIND_COUNT; k++) {
		double want = synth_kind_info((enum synth_kind)k)->per_10k * (N / 10000.0);
		/* Six standard deviations of a binomial count: fixed seed, no flakiness. */
		double tol = 6 * sqrt(want) + 1;
		assert_true(c.by_kind[k] > want - tol && c.by_kind[k] < want + tol);
	}
	assert_true(c.by_event[SYNTH_EV_WITHDRAW] > 0 && c.by_event[SYNTH_EV_OBJECT] > 0 &&
		    c.by_event[SYNTH_EV_REFUSE] > 0);
	synth_buf_release(&csv);
	synth_buf_release(&nd);
}

static void test_partner_rows_overlap_exactly(void **state)
{
	(void)state;
	enum { N = 5000, M = 3000, K = 1200 };
	struct synth_gen g;
	uint32_t rows[M], again[M];
	uint8_t *seen = calloc(N + M, 1);
	unsigned customers = 0, in_order = 0;

	assert_non_null(seen);
	synth_gen_init(&g, 9);
	assert_int_equal(synth_partner_rows(&g, N, M, K, rows), CR_OK);
	assert_int_equal(synth_partner_rows(&g, N, M, K, again), CR_OK);
	assert_memory_equal(rows, again, sizeof(rows));
	for (uint32_t i = 0; i < M; i++) {
		assert_true(rows[i] < N + (M - K));
		assert_int_equal(seen[rows[i]], 0);
		seen[rows[i]] = 1;
		customers += rows[i] < N;
		in_order += i > 0 && rows[i] == rows[i - 1] + 1;
	}
	assert_int_equal(customers, K);
	assert_true(in_order < M / 10); /* shuffled */

	rows[0] = 77;
	assert_int_equal(synth_partner_rows(&g, 10, 20, 11, rows), CR_ERR_INVALID_ARG);
	assert_int_equal(synth_partner_rows(&g, 30, 20, 21, rows), CR_ERR_INVALID_ARG);
	assert_int_equal(synth_partner_rows(&g, 60000000, 60000000, 1, rows), CR_ERR_INVALID_ARG);
	assert_int_equal(rows[0], 77);
	assert_int_equal(synth_partner_rows(&g, 10, 0, 0, rows), CR_OK);
	free(seen);
}

static void test_partner_file_writes_customers_differently(void **state)
{
	(void)state;
	/* Enough rows that some take the last-resort case flip (about 1 in 1000). */
	enum { N = 20000, M = 20000, K = 20000 };
	struct synth_gen g;
	struct synth_counts c = { 0 };
	struct synth_person p;
	uint32_t *rows = calloc(M, sizeof(uint32_t));
	char *text = NULL, csv_email[SYNTH_EMAIL_MAX], a[SYNTH_EMAIL_MAX], b[SYNTH_EMAIL_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_non_null(rows);
	synth_gen_init(&g, 1);
	assert_int_equal(synth_partner_rows(&g, N, M, K, rows), CR_OK);
	assert_int_equal(synth_partner_write(&g, N, rows, M, f, &c, NULL, NULL), CR_OK);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(c.partner_rows, M);
	assert_int_equal(c.partner_overlap, K);
	assert_int_equal(strncmp(text, "email\n", 6), 0);

	char *line = text + 6;
	for (uint32_t i = 0; i < M; i++) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		synth_person_make(&g, rows[i], &p);
		synth_csv_email(&g, &p, rows[i], csv_email);
		assert_string_not_equal(line, csv_email);
		normalize(line, a, sizeof(a));
		normalize(csv_email, b, sizeof(b));
		assert_string_equal(a, b);
		line = nl + 1;
	}
	assert_int_equal(*line, '\0');
	free(text);
	free(rows);
}

static void test_notice_has_the_required_fields(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_error_t err;
	json_t *n, *r;

	assert_non_null(f);
	assert_int_equal(synth_notice_write(f), CR_OK);
	assert_int_equal(fclose(f), 0);
	n = json_loadb(text, len, 0, &err);
	assert_non_null(n);
	assert_int_equal(json_integer_value(json_object_get(n, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(n, "language")), "zh-CN");
	assert_true(json_is_true(json_object_get(n, "material")));
	assert_int_equal(json_array_size(json_object_get(n, "purposes")), 2);
	r = json_array_get(json_object_get(n, "recipients"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "partner-1");
	assert_string_equal(json_string_value(json_object_get(r, "purpose")), "audience_insights");
	assert_string_equal(json_string_value(json_object_get(r, "country")), "CN");
	for (const char *const *k = (const char *const[]){ "controller", "methods", "categories",
		"retention", "rights", "jurisdictions", "text", NULL }; *k; k++)
		assert_non_null(json_object_get(n, *k));
	json_decref(n);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_is_deterministic_per_stream),
		cmocka_unit_test(test_persons_are_unique_after_normalization),
		cmocka_unit_test(test_variants_normalize_to_the_person),
		cmocka_unit_test(test_phones_are_valid_numbers),
		cmocka_unit_test(test_invalid_phone_stops_synth),
		cmocka_unit_test(test_csv_field_quotes_only_when_needed),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_customer_events_have_the_format),
		cmocka_unit_test(test_consent_mix_matches_the_table),
		cmocka_unit_test(test_partner_rows_overlap_exactly),
		cmocka_unit_test(test_partner_file_writes_customers_differently),
		cmocka_unit_test(test_notice_has_the_required_fields),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
