/* Unit tests for audit/leaf.c: the canonical leaf encoding against a
 * hand-assembled byte string, round trips, every refusal with its exact
 * error (version, truncation, trailing bytes, oversize, field rules), and
 * canonicity: whatever the decoder accepts re-encodes to the same bytes. */
#include "test_util.h"
#include "audit/audit_int.h"

static const char *const purposes[] = { "ads", "analytics" };
static const char *const recipients[] = { "partner-x" };

static struct audit_leaf sample_leaf(void)
{
	struct audit_leaf l = {
		.sequence = 7, .time_ms = 1700000000000, .event_type = "consent.grant",
		.actor_role = "brand", .actor_id = "tok-1", .tenant = "acme",
		.purposes = purposes, .n_purposes = 2, .recipients = recipients,
		.n_recipients = 1, .has_subject = true, .detail = "ok",
	};
	memset(l.subject_commit, 0x11, sizeof(l.subject_commit));
	return l;
}

/* The layout of audit.h, byte by byte. */
static size_t sample_bytes(uint8_t *b)
{
	size_t n = 0;
	const uint8_t head[] = { 0x01, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00 };
	memcpy(b, head, sizeof(head));
	n += sizeof(head);
#define STR8(s) do { b[n++] = (uint8_t)strlen(s); memcpy(b + n, s, strlen(s)); n += strlen(s); } while (0)
	STR8("consent.grant");
	STR8("brand");
	STR8("tok-1");
	STR8("acme");
	STR8("");
	STR8("");
	STR8("");
	STR8("");
	b[n++] = 2;
	STR8("ads");
	STR8("analytics");
	b[n++] = 1;
	STR8("partner-x");
#undef STR8
	b[n++] = 1;
	memset(b + n, 0x11, 32);
	n += 32;
	b[n++] = 0;
	b[n++] = 2;
	b[n++] = 'o';
	b[n++] = 'k';
	return n;
}

static void test_encoding_is_the_documented_layout(void **state)
{
	(void)state;
	struct audit_leaf l = sample_leaf();
	uint8_t want[256], *got = NULL;
	size_t want_len = sample_bytes(want), got_len = 0;
	assert_int_equal(audit_leaf_encode(&l, &got, &got_len), CR_OK);
	assert_int_equal(got_len, want_len);
	assert_bytes_equal(got, want, want_len);
	free(got);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct audit_leaf l = sample_leaf(), *d = NULL;
	uint8_t *b = NULL, *b2 = NULL;
	size_t n = 0, n2 = 0;
	l.dataset = "ds-1";
	l.collaboration = "col\xe5\x90\x88";
	l.session = "s1";
	l.notice = "notice@3";
	assert_int_equal(audit_leaf_encode(&l, &b, &n), CR_OK);
	assert_int_equal(audit_leaf_decode(b, n, &d), CR_OK);
	assert_int_equal(d->sequence, 7);
	assert_int_equal(d->time_ms, 1700000000000);
	assert_string_equal(d->event_type, "consent.grant");
	assert_string_equal(d->actor_role, "brand");
	assert_string_equal(d->actor_id, "tok-1");
	assert_string_equal(d->tenant, "acme");
	assert_string_equal(d->dataset, "ds-1");
	assert_string_equal(d->collaboration, "col\xe5\x90\x88");
	assert_string_equal(d->session, "s1");
	assert_string_equal(d->notice, "notice@3");
	assert_int_equal(d->n_purposes, 2);
	assert_string_equal(d->purposes[1], "analytics");
	assert_int_equal(d->n_recipients, 1);
	assert_string_equal(d->recipients[0], "partner-x");
	assert_true(d->has_subject);
	assert_string_equal(d->detail, "ok");
	/* the decoded leaf encodes to the same bytes */
	assert_int_equal(audit_leaf_encode(d, &b2, &n2), CR_OK);
	assert_int_equal(n2, n);
	assert_bytes_equal(b2, b, n);
	free(b);
	free(b2);
	audit_leaf_free(d);

	/* a minimal leaf: NULL strings read as empty, no subject */
	struct audit_leaf min = { .event_type = "x", .actor_role = "system" };
	assert_int_equal(audit_leaf_encode(&min, &b, &n), CR_OK);
	assert_int_equal(n, 17 + 2 + 7 + 6 + 2 + 1 + 2);
	assert_int_equal(audit_leaf_decode(b, n, &d), CR_OK);
	assert_false(d->has_subject);
	assert_string_equal(d->tenant, "");
	assert_int_equal(d->n_purposes, 0);
	free(b);
	audit_leaf_free(d);
	audit_leaf_free(NULL);
}

static void test_encode_field_rules(void **state)
{
	(void)state;
	char long_text[AUDIT_TEXT_MAX + 2], long_detail[AUDIT_DETAIL_MAX + 2];
	const char *unsorted[] = { "b", "a" }, *dup[] = { "a", "a" }, *empty[] = { "" };
	const char *many[AUDIT_LIST_MAX + 1];
	uint8_t *b = (uint8_t *)0x1;
	size_t n = 0;
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	memset(long_detail, 'x', sizeof(long_detail) - 1);
	long_detail[sizeof(long_detail) - 1] = '\0';
	for (size_t i = 0; i <= AUDIT_LIST_MAX; i++)
		many[i] = "p";

	struct audit_leaf cases[14];
	for (size_t i = 0; i < 14; i++)
		cases[i] = sample_leaf();
	cases[0].event_type = NULL;           /* required */
	cases[1].event_type = "Consent";      /* upper case */
	cases[2].actor_role = "";
	cases[3].actor_id = long_text;         /* 256 bytes */
	cases[4].tenant = "a\nb";              /* control */
	cases[5].dataset = "\xc3\x28";         /* not UTF-8 */
	cases[6].purposes = unsorted;
	cases[7].purposes = dup;
	cases[8].recipients = empty;
	cases[9].n_purposes = AUDIT_LIST_MAX + 1;
	cases[9].purposes = many;
	cases[10].detail = long_detail;
	cases[11].time_ms = -1;
	cases[12].notice = "\x7f";
	cases[13].event_type = "a b";
	for (size_t i = 0; i < 14; i++) {
		cr_err rc = audit_leaf_encode(&cases[i], &b, &n);
		if (rc != CR_ERR_AUDIT_FIELD)
			fail_msg("case %zu: got %s", i, cr_errname(rc));
	}
	assert_ptr_equal(b, (uint8_t *)0x1);

	/* the limits themselves are fine */
	struct audit_leaf edge = sample_leaf();
	long_text[AUDIT_TEXT_MAX] = '\0';
	long_detail[AUDIT_DETAIL_MAX] = '\0';
	edge.actor_id = long_text;
	edge.detail = long_detail;
	assert_int_equal(audit_leaf_encode(&edge, &b, &n), CR_OK);
	free(b);
}

static void test_decode_refusals(void **state)
{
	(void)state;
	uint8_t good[256], buf[AUDIT_LEAF_MAX + 2];
	size_t n = sample_bytes(good);
	struct audit_leaf *d = (struct audit_leaf *)0x1;

	/* every truncation */
	for (size_t len = 0; len < n; len++) {
		cr_err rc = audit_leaf_decode(good, len, &d);
		if (rc != CR_ERR_AUDIT_LEAF_MALFORMED)
			fail_msg("truncated to %zu: got %s", len, cr_errname(rc));
	}
	/* a trailing byte */
	memcpy(buf, good, n);
	buf[n] = 0;
	assert_int_equal(audit_leaf_decode(buf, n + 1, &d), CR_ERR_AUDIT_LEAF_MALFORMED);
	/* unknown versions */
	buf[0] = 2;
	assert_int_equal(audit_leaf_decode(buf, n, &d), CR_ERR_AUDIT_LEAF_VERSION);
	buf[0] = 0;
	assert_int_equal(audit_leaf_decode(buf, n, &d), CR_ERR_AUDIT_LEAF_VERSION);
	/* oversize as a whole */
	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	assert_int_equal(audit_leaf_decode(buf, AUDIT_LEAF_MAX + 1, &d), CR_ERR_AUDIT_LEAF_TOO_LARGE);
	/* a time beyond INT64_MAX */
	memcpy(buf, good, n);
	buf[9] = 0x80;
	assert_int_equal(audit_leaf_decode(buf, n, &d), CR_ERR_AUDIT_FIELD);
	/* the subject flag is 0 or 1 */
	memcpy(buf, good, n);
	buf[n - 4 - 32 - 1] = 2;
	assert_int_equal(audit_leaf_decode(buf, n, &d), CR_ERR_AUDIT_LEAF_MALFORMED);
	/* detail longer than AUDIT_DETAIL_MAX (length field says 4097) */
	memcpy(buf, good, n - 4);
	buf[n - 4] = 0x10;
	buf[n - 3] = 0x01;
	memset(buf + n - 2, 'x', 4097);
	assert_int_equal(audit_leaf_decode(buf, n - 2 + 4097, &d), CR_ERR_AUDIT_FIELD);
	/* an upper-case event type */
	memcpy(buf, good, n);
	buf[18] = 'C';
	assert_int_equal(audit_leaf_decode(buf, n, &d), CR_ERR_AUDIT_FIELD);
	/* unsorted purposes: swap "ads" to "zds" */
	memcpy(buf, good, n);
	size_t p = 17 + 14 + 6 + 6 + 5 + 4 + 1 + 1;
	assert_int_equal(buf[p], 'a');
	buf[p] = 'z';
	assert_int_equal(audit_leaf_decode(buf, n, &d), CR_ERR_AUDIT_FIELD);
	assert_ptr_equal(d, (struct audit_leaf *)0x1);
}

/* Canonicity: any single-byte change the decoder accepts re-encodes to the
 * changed bytes, so no two byte strings decode to the same fields. */
static void test_canonical_under_mutation(void **state)
{
	(void)state;
	uint8_t good[256], buf[256];
	size_t n = sample_bytes(good), accepted = 0;
	for (size_t i = 0; i < n; i++) {
		for (unsigned v = 0; v < 256; v += 7) {
			struct audit_leaf *d = NULL;
			uint8_t *re = NULL;
			size_t re_len = 0;
			memcpy(buf, good, n);
			buf[i] = (uint8_t)v;
			if (audit_leaf_decode(buf, n, &d) != CR_OK)
				continue;
			accepted++;
			assert_int_equal(audit_leaf_encode(d, &re, &re_len), CR_OK);
			assert_int_equal(re_len, n);
			assert_bytes_equal(re, buf, n);
			free(re);
			audit_leaf_free(d);
		}
	}
	assert_true(accepted > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_is_the_documented_layout),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_field_rules),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_canonical_under_mutation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
