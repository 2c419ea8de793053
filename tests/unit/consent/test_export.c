/* Unit tests for consent/export.c (R29): a subject's whole history (events,
 * notice versions seen, suppression, current status) and the whole
 * registry as NDJSON, both streamed through the caller's writer. */
#include "consent_fixture.h"

#define AI "audience_insights"

static const char *t0s = "2026-03-01T09:00:00+08:00";

/* A writer into a growing buffer. */
struct sink {
	char *buf;
	size_t len;
	int calls;
	int fail_after; /* 0: never */
};

static cr_err sink_write(void *user, const char *b, size_t n)
{
	struct sink *s = user;
	if (s->fail_after && s->calls >= s->fail_after)
		return CR_ERR_IO;
	s->calls++;
	s->buf = realloc(s->buf, s->len + n + 1);
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return CR_OK;
}

static void history(struct fx *f, struct crypto_pseudonym p, struct crypto_pseudonym old)
{
	cr_time_ms t = T(t0s);
	struct consent_event w = ev_withdraw(p, AI, "partner-1", t + 86400000);

	fx_full_consent(f, p, t);
	w.n_aliases = 1;
	w.aliases[0] = old;
	fx_rec(f, w);
}

static void test_r29_subject_history_export(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 2), old = P(2, 1), other = P(3, 2);
	struct sink s = { 0 };
	json_t *doc, *events, *seen, *status, *x;
	size_t i;
	int sharing_withdrawn = 0;

	history(f, p, old);
	fx_full_consent(f, other, T(t0s));
	assert_int_equal(consent_export_subject(f->ctx, f->brand, (struct crypto_pseudonym[]){ p, old },
						2, T("2026-07-01T00:00:00Z"), sink_write, &s),
			 CR_OK);
	doc = json_loads(s.buf, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "export")),
			    "cr-consent-subject-v1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "brand"), "name")),
			    "acme");
	assert_int_equal(json_array_size(json_object_get(doc, "subject")), 2);
	/* every event of this subject and no one else's */
	events = json_object_get(doc, "events");
	assert_int_equal(json_array_size(events), 5);
	json_array_foreach(events, i, x) {
		char hex[65];
		assert_int_equal(cr_hex_encode(p.bytes, 32, hex, sizeof(hex)), CR_OK);
		assert_string_equal(json_string_value(json_object_get(x, "pseudonym")), hex);
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "type")),
			    "served");
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 4), "type")),
			    "withdraw");
	/* the notice versions seen, with when they were served and their text (R07) */
	seen = json_object_get(doc, "notices_seen");
	assert_int_equal(json_array_size(seen), 1);
	x = json_array_get(seen, 0);
	assert_int_equal(json_integer_value(json_object_get(x, "version")), 1);
	assert_int_equal(json_array_size(json_object_get(x, "served")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(x, "served"), 0)),
			    "2026-03-01T01:00:00.000Z");
	assert_non_null(json_object_get(json_object_get(x, "notice"), "purposes"));
	/* suppression under both key versions */
	assert_int_equal(json_array_size(json_object_get(doc, "suppression")), 2);
	/* the decision now for every purpose and recipient */
	status = json_object_get(doc, "status");
	assert_int_equal(json_array_size(status), 3);
	json_array_foreach(status, i, x) {
		if (json_is_string(json_object_get(x, "recipient"))) {
			assert_string_equal(json_string_value(json_object_get(x, "reason")),
					    "WITHDRAWN");
			assert_true(json_is_false(json_object_get(x, "allowed")));
			sharing_withdrawn++;
		} else {
			assert_true(json_is_true(json_object_get(x, "allowed")));
		}
	}
	assert_int_equal(sharing_withdrawn, 1);
	json_decref(doc);
	free(s.buf);
}

static void test_r29_registry_export_streams_every_row(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 2), old = P(2, 1), q = P(4, 1);
	struct sink s = { 0 };
	char *line, *save = NULL;
	int n = 0, kinds[5] = { 0 };
	json_t *end = NULL;

	history(f, p, old);
	fx_full_consent(f, q, T(t0s));
	assert_int_equal(consent_export_registry(f->ctx, f->brand, T("2026-07-01T00:00:00Z"),
						 sink_write, &s),
			 CR_OK);
	for (line = strtok_r(s.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		const char *kind;
		assert_non_null(o);
		kind = json_string_value(json_object_get(o, "kind"));
		assert_non_null(kind);
		if (n == 0)
			assert_string_equal(kind, "header");
		kinds[0] += strcmp(kind, "header") == 0;
		kinds[1] += strcmp(kind, "notice") == 0;
		kinds[2] += strcmp(kind, "event") == 0;
		kinds[3] += strcmp(kind, "suppression") == 0;
		if (strcmp(kind, "end") == 0) {
			kinds[4]++;
			json_decref(end);
			end = json_incref(o);
		}
		json_decref(o);
		n++;
	}
	assert_int_equal(kinds[0], 1);
	assert_int_equal(kinds[1], 1);
	assert_int_equal(kinds[2], 9);
	assert_int_equal(kinds[3], 2);
	assert_int_equal(kinds[4], 1);
	assert_int_equal(json_integer_value(json_object_get(end, "events")), 9);
	assert_int_equal(json_integer_value(json_object_get(end, "notices")), 1);
	assert_int_equal(json_integer_value(json_object_get(end, "suppression")), 2);
	json_decref(end);
	free(s.buf);
}

static void test_export_stops_at_the_first_write_error(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	struct sink s = { .fail_after = 2 };

	fx_full_consent(f, p, T(t0s));
	assert_int_equal(consent_export_registry(f->ctx, f->brand, 0, sink_write, &s), CR_ERR_IO);
	assert_int_equal(consent_export_subject(f->ctx, f->brand, &p, 1, 0, sink_write, &s),
			 CR_ERR_IO);
	assert_int_equal(consent_export_subject(f->ctx, f->brand, &p, 0, 0, sink_write, &s),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(consent_export_registry(f->ctx, 999, 0, sink_write, &s),
			 CR_ERR_CONSENT_BRAND_NOT_FOUND);
	free(s.buf);
}

static void test_export_to_a_file(void **state)
{
	struct fx *f = *state;
	struct crypto_pseudonym p = P(1, 1);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	fx_full_consent(f, p, T(t0s));
	assert_int_equal(consent_export_subject(f->ctx, f->brand, &p, 1, 0, consent_write_file, mem),
			 CR_OK);
	fclose(mem);
	assert_true(len > 100);
	assert_int_equal(buf[len - 1], '\n');
	free(buf);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_r29_subject_history_export),
		TEST(test_r29_registry_export_streams_every_row),
		TEST(test_export_stops_at_the_first_write_error),
		TEST(test_export_to_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
