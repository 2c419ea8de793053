/* Unit tests for cleanroom/psi_client.c: option checks (https only unless
 * allowed, a token that cannot break the header), and what the client does
 * with each kind of answer from a fake service (a libmicrohttpd daemon on
 * loopback that replies what the test sets): the service's JSON errors map
 * to the project's codes, an unknown code or a non-JSON error is
 * CR_ERR_REMOTE, a malformed offer is CR_ERR_PSI_MESSAGE, a round-4 reply
 * longer than |A| is cut off at the cap and refused, a partial element is
 * refused, an unreachable port is CR_ERR_REMOTE, and the bearer token and
 * element counts go where the routes expect them. */
#include <microhttpd.h>

#include "test_util.h"
#include "cleanroom/psi_client.h"

/* What the fake service answers next, and what it saw. */
static struct {
	unsigned status;
	const char *type;
	const void *body;
	size_t len;
	char method[16], url[256], auth[128];
	size_t got;
} fake;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_len, void **ctx)
{
	struct MHD_Response *r;
	const char *auth;
	enum MHD_Result rc;
	(void)cls;
	(void)version;
	(void)upload;
	if (*ctx == NULL) {
		*ctx = &fake;
		fake.got = 0;
		return MHD_YES;
	}
	if (*upload_len > 0) {
		fake.got += *upload_len;
		*upload_len = 0;
		return MHD_YES;
	}
	snprintf(fake.method, sizeof(fake.method), "%s", method);
	snprintf(fake.url, sizeof(fake.url), "%s", url);
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	snprintf(fake.auth, sizeof(fake.auth), "%s", auth ? auth : "");
	r = MHD_create_response_from_buffer(fake.len, (void *)fake.body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", fake.type);
	rc = MHD_queue_response(conn, fake.status, r);
	MHD_destroy_response(r);
	return rc;
}

struct fixture {
	struct MHD_Daemon *d;
	struct psi_client *c;
	char url[64];
};

static void answer(unsigned status, const char *type, const void *body, size_t len)
{
	fake.status = status;
	fake.type = type;
	fake.body = body;
	fake.len = len;
}

static void answer_json(unsigned status, const char *json)
{
	answer(status, "application/json", json, strlen(json));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct psi_client_opts o = { NULL, "tok_123", NULL, true, 2, 10 };
	const union MHD_DaemonInfo *info;
	assert_non_null(f);
	f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, NULL,
				MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	assert_non_null(f->d);
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/", (unsigned)info->port);
	o.url = f->url;
	assert_int_equal(psi_client_new(&o, &f->c), CR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	psi_client_free(f->c);
	MHD_stop_daemon(f->d);
	free(f);
	return 0;
}

static const char OFFER[] =
	"{\"session\":\"00112233445566778899aabbccddeeff\",\"suite\":\"P256_XMD:SHA-256_SSWU_RO_\","
	"\"id_type\":\"email\",\"elements\":2,\"min_partner_set\":1,\"max_partner_set\":10,"
	"\"expires\":\"2026-12-06T12:00:00Z\"}";

/* Opens a session with the fake offer above (|A| = 2). */
static cr_err open_session(struct fixture *f, struct psi_session_offer *offer)
{
	struct psi_open_request req = { .collab_id = 7 };
	snprintf(req.group_by, sizeof(req.group_by), "segment");
	answer_json(201, OFFER);
	return psi_client_open(f->c, &req, offer);
}

static void test_options_are_checked(void **state)
{
	struct psi_client *c = NULL;
	struct psi_client_opts o = { "https://example.test", "tok", NULL, false, 0, 0 };
	(void)state;
	assert_int_equal(psi_client_new(&o, &c), CR_OK);
	psi_client_free(c);
	o.url = "http://example.test";
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);  /* http needs allow_http */
	assert_null(c);
	o.url = "ftp://example.test";
	o.allow_http = true;
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);
	o.url = "https://";
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);
	o.url = "https://example.test";
	o.token = "two words";
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);  /* would split the header */
	o.token = "tok\r\nX-Evil: 1";
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);
	o.token = "";
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);
	o.token = NULL;
	assert_int_equal(psi_client_new(&o, &c), CR_ERR_USAGE);
	psi_client_free(NULL);
}

static void test_open_sends_query_and_token(void **state)
{
	struct fixture *f = *state;
	struct psi_session_offer offer;
	assert_int_equal(open_session(f, &offer), CR_OK);
	assert_string_equal(fake.method, "POST");
	assert_string_equal(fake.url, "/v1/collaborations/7/sessions");
	assert_string_equal(fake.auth, "Bearer tok_123");
	assert_int_equal(fake.got, strlen("{\"group_by\":\"segment\"}"));
	assert_string_equal(offer.session, "00112233445566778899aabbccddeeff");
	assert_int_equal(offer.elements, 2);
	assert_string_equal(psi_client_detail(f->c), "");
}

static void test_service_errors_map_to_codes(void **state)
{
	struct fixture *f = *state;
	struct psi_open_request req = { .collab_id = 7 };
	struct psi_session_offer offer;
	answer_json(409, "{\"error\":{\"code\":\"budget_exhausted\",\"message\":\"privacy budget left is less than the query's epsilon\"}}");
	assert_int_equal(psi_client_open(f->c, &req, &offer), CR_ERR_BUDGET_EXHAUSTED);
	assert_string_equal(psi_client_detail(f->c), "the service answered HTTP 409");
	answer_json(404, "{\"error\":{\"code\":\"collab_not_found\",\"message\":\"no such collaboration\"}}");
	assert_int_equal(psi_client_open(f->c, &req, &offer), CR_ERR_COLLAB_NOT_FOUND);
	answer_json(418, "{\"error\":{\"code\":\"teapot\",\"message\":\"short and stout\"}}");
	assert_int_equal(psi_client_open(f->c, &req, &offer), CR_ERR_REMOTE);
	assert_string_equal(psi_client_detail(f->c), "the service answered HTTP 418: short and stout");
	answer(502, "text/html", "<html>bad gateway</html>", 24);
	assert_int_equal(psi_client_open(f->c, &req, &offer), CR_ERR_REMOTE);
	answer_json(201, "{\"session\":\"nope\"}");
	assert_int_equal(psi_client_open(f->c, &req, &offer), CR_ERR_PSI_MESSAGE);
	answer_json(201, "[1,2]");
	assert_int_equal(psi_client_open(f->c, &req, &offer), CR_ERR_REMOTE);
}

static void test_round4_reply_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct psi_session_offer offer;
	static uint8_t big[32 * 64], b_bytes[32 * 3];
	struct psi_elements b = { b_bytes, 3 }, a;
	assert_int_equal(open_session(f, &offer), CR_OK);
	/* |A| = 2: a 64-element reply is cut off at the cap */
	answer(200, "application/octet-stream", big, sizeof(big));
	assert_int_equal(psi_client_blinded(f->c, &b, &a), CR_ERR_REMOTE);
	assert_null(a.bytes);
	assert_true(strstr(psi_client_detail(f->c), "exceeds") != NULL);
	/* the session is over for the client: a second round is out of order */
	assert_int_equal(psi_client_blinded(f->c, &b, &a), CR_ERR_PSI_SESSION_STATE);

	assert_int_equal(open_session(f, &offer), CR_OK);
	answer(200, "application/octet-stream", big, 32 + 5);  /* not whole elements */
	assert_int_equal(psi_client_blinded(f->c, &b, &a), CR_ERR_PSI_COUNT);

	assert_int_equal(open_session(f, &offer), CR_OK);
	answer(200, "application/octet-stream", big, 64);
	assert_int_equal(psi_client_blinded(f->c, &b, &a), CR_OK);
	assert_string_equal(fake.url, "/v1/sessions/00112233445566778899aabbccddeeff/blinded");
	assert_int_equal(fake.got, sizeof(b_bytes));
	assert_int_equal(a.count, 2);
	psi_elements_release(&a);
}

static void test_answer_and_abort(void **state)
{
	struct fixture *f = *state;
	struct psi_session_offer offer;
	static uint8_t ap[64];
	struct psi_elements a_prime = { ap, 2 };
	uint64_t sent, received;
	char *rel = NULL;
	json_t *ledger = NULL;

	assert_int_equal(open_session(f, &offer), CR_OK);
	answer_json(200, "{\"outcome\":\"released\"}");
	assert_int_equal(psi_client_answer(f->c, &a_prime, &rel), CR_OK);
	assert_string_equal(rel, "{\"outcome\":\"released\"}");
	free(rel);
	/* answered: abort has nothing to end and sends nothing */
	fake.method[0] = '\0';
	assert_int_equal(psi_client_abort(f->c), CR_OK);
	assert_string_equal(fake.method, "");

	assert_int_equal(open_session(f, &offer), CR_OK);
	answer_json(200, "{\"state\":\"refused\"}");
	assert_int_equal(psi_client_abort(f->c), CR_OK);
	assert_string_equal(fake.method, "DELETE");
	assert_string_equal(fake.url, "/v1/sessions/00112233445566778899aabbccddeeff");

	answer_json(200, "{\"collaboration\":7,\"budget\":\"5.000\",\"left\":\"4.500\"}");
	assert_int_equal(psi_client_budget(f->c, 7, &ledger), CR_OK);
	assert_string_equal(json_string_value(json_object_get(ledger, "left")), "4.500");
	assert_string_equal(fake.url, "/v1/collaborations/7/budget");
	json_decref(ledger);
	psi_client_traffic(f->c, &sent, &received);
	assert_true(sent >= sizeof(ap) && received > 0);
}

static void test_unreachable_service(void **state)
{
	struct psi_client *c = NULL;
	struct psi_client_opts o = { "http://127.0.0.1:1", "tok", NULL, true, 2, 5 };
	struct psi_open_request req = { .collab_id = 1 };
	struct psi_session_offer offer;
	(void)state;
	assert_int_equal(psi_client_new(&o, &c), CR_OK);
	assert_int_equal(psi_client_open(c, &req, &offer), CR_ERR_REMOTE);
	assert_true(strstr(psi_client_detail(c), "127.0.0.1:1") != NULL);
	assert_null(strstr(psi_client_detail(c), "tok"));
	psi_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_are_checked),
		cmocka_unit_test_setup_teardown(test_open_sends_query_and_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_errors_map_to_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round4_reply_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_and_abort, setup, teardown),
		cmocka_unit_test(test_unreachable_service),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
