/*
 * cli_token.c: `cleanroom token issue|list|revoke`, the operator's way to
 * manage API tokens on the machine itself (the first admin token can only
 * come from here). Each sub-verb is one table entry with one handler.
 *
 * `issue` prints the token once, on stdout and alone on its line, so it can
 * be captured by a script; only its hash is stored. `list` never shows a
 * token or a hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cleanroom/app.h"
#include "cleanroom/auth.h"
#include "cleanroom/cli.h"

struct token_verb {
	const char *name;
	const char *full;    /* "token issue": for messages */
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* RFC 3339 text of `t`, or "-" for 0 (never). */
static void time_text(cr_time_ms t, char buf[static CR_TIME_STRLEN])
{
	if (t == 0 || cr_time_format(t, buf) != CR_OK)
		memcpy(buf, "-", 2);
}

/* The record of a token as JSON (no token, no hash); new reference. */
static json_t *token_json(const struct auth_token_info *t)
{
	char created[CR_TIME_STRLEN], revoked[CR_TIME_STRLEN];
	time_text(t->created, created);
	time_text(t->revoked, revoked);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s?}", "id", (json_int_t)t->id, "name", t->name,
			 "role", auth_role_name(t->role), "tenant", t->tenant, "created", created,
			 "revoked", t->revoked ? revoked : NULL);
}

/* Prints `j` (borrowed) on one line, wiping the text: it may hold a token. */
static void json_print(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s == NULL)
		cr_die("token: cannot encode JSON");
	puts(s);
	sodium_memzero(s, strlen(s));
	free(s);
}

static const char issue_usage[] =
	"usage: cleanroom token issue --role admin|brand|partner|officer --tenant T --name N\n\n"
	"Creates an API token and prints it once; only its hash is kept.";

/* `cleanroom token issue`: the token on stdout, once. */
static int token_issue(int argc, char **argv)
{
	const char *role_s = NULL, *tenant = NULL, *name = NULL;
	const struct cli_opt opts[] = {
		{ "role", &role_s, NULL, "admin, brand, partner or officer" },
		{ "tenant", &tenant, NULL, "T: the brand, partner or organization it acts for" },
		{ "name", &name, NULL, "N: a label to recognize it by in 'token list'" },
		{ NULL, NULL, NULL, NULL },
	};
	char token[AUTH_TOKEN_STRLEN] = "";
	struct auth_token_info t;
	struct cli_args args;
	struct app *a = NULL;
	enum auth_role role;
	int ret = cli_parse(argc, argv, opts, issue_usage, &args);
	cr_err rc;

	if (ret != CLI_OK)
		return ret < 0 ? CLI_OK : ret;
	if (args.npos != 0 || !role_s || !tenant || !name)
		ret = cli_usage_error(argv[0], "'--role', '--tenant' and '--name' are required");
	else if (auth_role_parse(role_s, &role) != CR_OK)
		ret = cli_usage_error(argv[0], "%s", cr_strerror(CR_ERR_ROLE));
	if (ret != CLI_OK)
		goto out;
	rc = app_open(cli_data_dir(&args), &a);
	if (rc == CR_OK)
		rc = auth_token_issue(a, role, tenant, name, token, &t);
	if (rc != CR_OK) {
		ret = cli_fail_rc(argv[0], rc);
		goto out;
	}
	if (args.json) {
		json_t *j = token_json(&t);
		json_object_set_new(j, "token", json_string(token));
		json_print(j);
		json_decref(j);
	} else {
		printf("%s\n", token);
		fprintf(stderr, "cleanroom: token %lld (%s for '%s'): store it now, it is not shown again\n",
			(long long)t.id, auth_role_name(t.role), t.tenant);
	}
	fflush(stdout);
out:
	sodium_memzero(token, sizeof(token));
	app_close(a);
	free(args.pos);
	return ret;
}

static const char list_usage[] =
	"usage: cleanroom token list\n\nLists API tokens: id, name, role, tenant, created, revoked.";

/* The token list as aligned columns with a header line. */
static void list_print_text(const struct auth_token_info *v, size_t n)
{
	printf("%-6s %-24s %-8s %-24s %-25s %s\n", "ID", "NAME", "ROLE", "TENANT", "CREATED",
	       "REVOKED");
	for (size_t i = 0; i < n; i++) {
		char created[CR_TIME_STRLEN], revoked[CR_TIME_STRLEN];
		time_text(v[i].created, created);
		time_text(v[i].revoked, revoked);
		printf("%-6lld %-24s %-8s %-24s %-25s %s\n", (long long)v[i].id, v[i].name,
		       auth_role_name(v[i].role), v[i].tenant, created, revoked);
	}
}

/* `cleanroom token list`: records only. */
static int token_list(int argc, char **argv)
{
	const struct cli_opt opts[] = { { NULL, NULL, NULL, NULL } };
	struct auth_token_info *v = NULL;
	size_t n = 0;
	struct cli_args args;
	struct app *a = NULL;
	int ret = cli_parse(argc, argv, opts, list_usage, &args);
	cr_err rc;

	if (ret != CLI_OK)
		return ret < 0 ? CLI_OK : ret;
	if (args.npos != 0) {
		ret = cli_usage_error(argv[0], "unexpected argument (not echoed: it may be personal data)");
		goto out;
	}
	rc = app_open(cli_data_dir(&args), &a);
	if (rc == CR_OK)
		rc = auth_token_list(a->store, &v, &n);
	if (rc != CR_OK) {
		ret = cli_fail_rc(argv[0], rc);
		goto out;
	}
	if (args.json) {
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, token_json(&v[i]));
		json_t *j = json_pack("{s:o}", "tokens", list);
		json_print(j);
		json_decref(j);
	} else {
		list_print_text(v, n);
	}
out:
	free(v);
	app_close(a);
	free(args.pos);
	return ret;
}

static const char revoke_usage[] =
	"usage: cleanroom token revoke ID\n\nRevokes a token at once; its holder gets 401 from then on.";

/* `cleanroom token revoke ID`. */
static int token_revoke(int argc, char **argv)
{
	const struct cli_opt opts[] = { { NULL, NULL, NULL, NULL } };
	struct auth_token_info t;
	struct cli_args args;
	struct app *a = NULL;
	uint64_t id = 0;
	int ret = cli_parse(argc, argv, opts, revoke_usage, &args);
	cr_err rc;

	if (ret != CLI_OK)
		return ret < 0 ? CLI_OK : ret;
	if (args.npos != 1 || cr_parse_u64(args.pos[0], 1, INT64_MAX, &id) != CR_OK) {
		ret = cli_usage_error(argv[0], "give one token ID, as 'token list' shows it");
		goto out;
	}
	rc = app_open(cli_data_dir(&args), &a);
	if (rc == CR_OK)
		rc = auth_token_revoke(a, (int64_t)id, &t);
	if (rc != CR_OK) {
		ret = cli_fail(argv[0], "token %llu: %s", (unsigned long long)id, cr_strerror(rc));
		goto out;
	}
	if (args.json) {
		json_t *j = token_json(&t);
		json_print(j);
		json_decref(j);
	} else {
		printf("revoked token %lld (%s)\n", (long long)t.id, t.name);
	}
out:
	app_close(a);
	free(args.pos);
	return ret;
}

static const struct token_verb verbs[] = {
	{ "issue", "token issue", token_issue, "create a token and print it once" },
	{ "list", "token list", token_list, "list tokens (never the tokens themselves)" },
	{ "revoke", "token revoke", token_revoke, "revoke a token by its ID" },
};

#define VERB_COUNT (sizeof(verbs) / sizeof(verbs[0]))

/* The sub-verbs, for `cleanroom token` without one. */
static void token_usage(FILE *f)
{
	fprintf(f, "usage: cleanroom token <issue|list|revoke> [options]\n\nAPI tokens.\n\nCommands:\n");
	for (size_t i = 0; i < VERB_COUNT; i++)
		fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
}

/* `cleanroom token <verb>`: dispatches through verbs[]. */
int cmd_token(int argc, char **argv)
{
	if (argc < 2) {
		token_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		token_usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < VERB_COUNT; i++) {
		if (strcmp(argv[1], verbs[i].name) != 0)
			continue;
		/* The sub-verb sees "token <verb>" as its name, so messages say both. */
		argv[1] = (char *)verbs[i].full;
		return verbs[i].run(argc - 1, argv + 1);
	}
	return cli_usage_error("token", "'%s' is not a token command", argv[1]);
}
