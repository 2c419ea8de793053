/*
 * Unit tests for cleanroom/requests.c, the register of rights requests and
 * their deadlines (R22: due 30 days after receipt; extendable once, by up
 * to two months, only within the first month and while open), each change
 * with its audit leaf (I5). Through the real data directory
 * (registry_fixture.h).
 */
#include "registry_fixture.h"
#include "cleanroom/requests.h"

#define DAY (24 * RFX_HOUR)

static int setup(void **state)
{
	*state = rfx_new();
	return 0;
}

static int teardown(void **state)
{
	rfx_free(*state);
	return 0;
}

static json_t *listed(struct rfx *f, bool overdue)
{
	json_t *l = json_array();
	assert_int_equal(requests_list(f->a, f->acme, overdue, cr_time_now(), l), CR_OK);
	return l;
}

/* R22: due in 30 days; past it unanswered it is overdue; answered, it is not. */
static void test_r22_due_in_a_month_and_overdue_after(void **state)
{
	struct rfx *f = *state;
	int64_t fresh = 0, old = 0;
	size_t leaves = rfx_leaf_count(f, "acme", "request.add");
	json_t *l;
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "access", "email", "case-1", cr_time_now(), false,
				      &fresh), CR_OK);
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "erasure", "letter", NULL, cr_time_now() - 31 * DAY,
				      false, &old), CR_OK);
	assert_int_equal(rfx_leaf_count(f, "acme", "request.add"), leaves + 2);
	l = listed(f, false);
	assert_int_equal(json_array_size(l), 2);
	json_decref(l);
	l = listed(f, true);
	assert_int_equal(json_array_size(l), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "id")), old);
	json_decref(l);
	/* answered late: still listed as overdue (late), never silently fixed */
	assert_int_equal(requests_complete(f->a, &rfx_actor, f->acme, old), CR_OK);
	l = listed(f, true);
	assert_int_equal(json_array_size(l), 1);
	assert_true(json_is_true(json_object_get(json_array_get(l, 0), "late")));
	json_decref(l);
	assert_int_equal(requests_complete(f->a, &rfx_actor, f->acme, old), CR_ERR_REQUEST_STATE);
	assert_int_equal(requests_complete(f->a, &rfx_actor, f->other, fresh), CR_ERR_NOT_FOUND);
}

/* R22: one extension, of at most two months, with a reason, within the first month, while open. */
static void test_r22_extension_rules(void **state)
{
	struct rfx *f = *state;
	int64_t id = 0, old = 0;
	size_t leaves;
	json_t *l;
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "portability", "email", NULL, cr_time_now() - 2 * DAY,
				      false, &id), CR_OK);
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "access", "email", NULL, cr_time_now() - 31 * DAY,
				      false, &old), CR_OK);
	leaves = rfx_leaf_count(f, "acme", "request.extend");
	assert_int_equal(requests_extend(f->a, &rfx_actor, f->acme, id, 61 * DAY, "many records"), CR_ERR_INVALID_ARG);
	assert_int_equal(requests_extend(f->a, &rfx_actor, f->acme, id, 30 * DAY, ""), CR_ERR_INVALID_ARG);
	assert_int_equal(requests_extend(f->a, &rfx_actor, f->acme, old, 30 * DAY, "too late"), CR_ERR_REQUEST_STATE);
	assert_int_equal(requests_extend(f->a, &rfx_actor, f->acme, id, 60 * DAY, "many records"), CR_OK);
	assert_int_equal(requests_extend(f->a, &rfx_actor, f->acme, id, 30 * DAY, "again"), CR_ERR_REQUEST_STATE);
	assert_int_equal(rfx_leaf_count(f, "acme", "request.extend"), leaves + 1);
	l = listed(f, false);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "extension_reason")), "many records");
	assert_true(json_is_string(json_object_get(json_array_get(l, 0), "extended_due")));
	json_decref(l);
}

/* Bad input is refused with nothing stored and no leaf (I7). */
static void test_r22_bad_requests_store_nothing(void **state)
{
	struct rfx *f = *state;
	size_t leaves = rfx_leaf_count(f, "acme", "request.add");
	json_t *l;
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "gossip", "email", NULL, cr_time_now(), false, NULL),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "access", "e mail", NULL, cr_time_now(), false, NULL),
			 CR_ERR_INVALID_ARG);
	assert_int_equal(requests_add(f->a, &rfx_actor, f->acme, "access", "email", NULL, cr_time_now() + DAY, false,
				      NULL), CR_ERR_INVALID_ARG);
	assert_int_equal(rfx_leaf_count(f, "acme", "request.add"), leaves);
	l = listed(f, false);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_r22_due_in_a_month_and_overdue_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r22_extension_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_r22_bad_requests_store_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
