/*
 * cli_requests.c: `cleanroom requests list|add|complete|extend`, the
 * register of rights requests and their deadlines (R22; requests.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/requests.h"

static const struct registry_actor cli_actor = { "brand", "cli" };

/* Opens the data directory and finds the brand; 0 on success. */
static int open_brand(const char *verb, const struct cli_args *args, const char *brand, struct app **a, int64_t *id)
{
	int rc = brand ? cli_open_app(verb, args, a) : cli_usage_error(verb, "--brand B is required");
	if (rc == CLI_OK)
		rc = cli_brand(verb, *a, brand, id);
	return rc;
}

static int requests_list_cmd(int argc, char **argv)
{
	const char *brand = NULL;
	bool overdue = false;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "overdue", NULL, &overdue, "only requests past their due date (answered late or not yet)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	json_t *list = json_array(), *r;
	int64_t id = 0;
	size_t i;
	int rc;
	cr_err err;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom requests list --brand B [--overdue] [--json]\n\n"
			    "The brand's rights requests, newest first, with their due dates (R22: 30 days,\n"
			    "extendable once by up to two months within the first).");
	rc = open_brand("requests list", &args, brand, &a, &id);
	if (rc == CLI_OK && (err = requests_list(a, id, overdue, cr_time_now(), list)) != CR_OK)
		rc = cli_fail_rc("requests list", err);
	if (rc == CLI_OK && args.json) {
		cli_print_json(json_incref(list));
	} else if (rc == CLI_OK) {
		json_array_foreach(list, i, r) {
			const json_t *ext = json_object_get(r, "extended_due"), *done = json_object_get(r, "completed");
			printf("%-5lld %-13s %-15s received %s  due %s%s  %s%s\n",
			       (long long)json_integer_value(json_object_get(r, "id")),
			       json_string_value(json_object_get(r, "kind")), json_string_value(json_object_get(r, "channel")),
			       json_string_value(json_object_get(r, "received")),
			       json_string_value(json_is_string(ext) ? ext : json_object_get(r, "due")),
			       json_is_string(ext) ? " (extended)" : "",
			       json_is_string(done) ? "answered " : "OPEN",
			       json_is_string(done) ? json_string_value(done) : "");
		}
		if (json_array_size(list) == 0)
			printf("no %srequests\n", overdue ? "overdue " : "");
	}
	json_decref(list);
	free(args.pos);
	app_close(a);
	return rc;
}

static int requests_add_cmd(int argc, char **argv)
{
	const char *brand = NULL, *kind = NULL, *channel = NULL, *ref = NULL, *received = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "kind", &kind, NULL, "access, portability, objection, erasure, withdrawal or rectification" },
		{ "channel", &channel, NULL, "how it arrived: a word such as email, letter, phone" },
		{ "ref", &ref, NULL, "the brand's own case reference (no personal data)" },
		{ "received", &received, NULL, "when it was received, RFC 3339 (default now)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	cr_time_ms at = cr_time_now();
	int64_t id = 0, rid = 0;
	int rc;
	cr_err err;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom requests add --brand B --kind K --channel C [--ref R] [--received T]\n\n"
			    "Records a rights request that reached the brand outside the clean room; it is\n"
			    "due 30 days after it was received. Audited as request.add.");
	if (received && cr_time_parse(received, strlen(received), &at) != CR_OK) {
		free(args.pos);
		return cli_usage_error("requests add", "--received must be an RFC 3339 time");
	}
	if (kind == NULL || !request_kind_valid(kind) || channel == NULL) {
		free(args.pos);
		return cli_usage_error("requests add", "--kind (access, portability, objection, erasure, withdrawal, "
				       "rectification) and --channel are required");
	}
	rc = open_brand("requests add", &args, brand, &a, &id);
	if (rc == CLI_OK && (err = requests_add(a, &cli_actor, id, kind, channel, ref, at, false, &rid)) != CR_OK)
		rc = err == CR_ERR_INVALID_ARG
			     ? cli_fail("requests add", "refused: the channel must be a short word, the reference "
						       "printable text, and the time not in the future")
			     : cli_fail_rc("requests add", err);
	if (rc == CLI_OK)
		printf("recorded request %lld\n", (long long)rid);
	free(args.pos);
	app_close(a);
	return rc;
}

static int request_change(int argc, char **argv, bool extend)
{
	const char *brand = NULL, *id_s = NULL, *months = NULL, *reason = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "id", &id_s, NULL, "the request's number (requests list)" },
		{ "months", &months, NULL, "extend: 1 or 2 more months (30 days each)" },
		{ "reason", &reason, NULL, "extend: why (told to the person, R22)" },
		{ NULL, NULL, NULL, NULL },
	};
	const char *verb = extend ? "requests extend" : "requests complete";
	struct cli_args args;
	struct app *a = NULL;
	uint64_t rid = 0, m = 0;
	int64_t id = 0;
	int rc;
	cr_err err;
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    extend ? "usage: cleanroom requests extend --brand B --id N --months 1|2 --reason TEXT\n\n"
				     "Extends an open request once, within its first month (R22)."
				   : "usage: cleanroom requests complete --brand B --id N\n\nMarks a request answered.");
	if (id_s == NULL || cr_parse_u64(id_s, 1, INT64_MAX, &rid) != CR_OK ||
	    (extend && (months == NULL || cr_parse_u64(months, 1, 2, &m) != CR_OK || reason == NULL))) {
		free(args.pos);
		return cli_usage_error(verb, extend ? "--id N, --months 1|2 and --reason are required" : "--id N is required");
	}
	rc = open_brand(verb, &args, brand, &a, &id);
	if (rc == CLI_OK) {
		err = extend ? requests_extend(a, &cli_actor, id, (int64_t)rid, (cr_time_ms)m * 30 * 24 * 3600 * 1000, reason)
			     : requests_complete(a, &cli_actor, id, (int64_t)rid);
		if (err != CR_OK)
			rc = cli_fail_rc(verb, err);
		else
			printf("request %llu %s\n", (unsigned long long)rid, extend ? "extended" : "answered");
	}
	free(args.pos);
	app_close(a);
	return rc;
}

static int requests_complete_cmd(int argc, char **argv) { return request_change(argc, argv, false); }
static int requests_extend_cmd(int argc, char **argv) { return request_change(argc, argv, true); }

static const struct cli_subverb subverbs[] = {
	{ "list", requests_list_cmd, "the brand's rights requests and their due dates (--overdue)" },
	{ "add", requests_add_cmd, "record a request that reached the brand elsewhere" },
	{ "complete", requests_complete_cmd, "mark a request answered" },
	{ "extend", requests_extend_cmd, "extend an open request once, within its first month" },
};

int cmd_requests(int argc, char **argv)
{
	return cli_dispatch("requests", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
