/*
 * cli_notice.c: `cleanroom notice publish|show`: privacy notices are
 * versioned, immutable and content-hashed (R04); publishing one that lacks
 * what R04 requires is refused with the missing fields named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/registry.h"

static const struct registry_actor cli_brand_actor = { "brand", "cli" };

static int notice_publish(int argc, char **argv)
{
	const char *brand = NULL, *at_s = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand publishing the notice" },
		{ "published-at", &at_s, NULL, "when it took effect, to back-fill a history (RFC 3339; default now)" },
		{ NULL, NULL, NULL, NULL },
	};
	cr_time_ms at = cr_time_now();
	struct cli_args args;
	struct app *a = NULL;
	struct consent_notice_published pub;
	char *json = NULL, why[CONSENT_WHY_MAX] = "", hash[65];
	size_t len = 0;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1,
			    "usage: cleanroom notice publish --brand B FILE.json [--published-at TIME] [--json]\n\n"
			    "Publishes a privacy notice version (format: docs/spec/formats.md).");
	if (at_s && cr_time_parse(at_s, strlen(at_s), &at) != CR_OK) {
		free(args.pos);
		return cli_usage_error("notice publish", "--published-at must be an RFC 3339 time with offset");
	}
	err = cli_read_file(args.pos[0], CONSENT_NOTICE_MAX, &json, &len);
	if (err != CR_OK) {
		rc = cli_fail("notice publish", "cannot read '%s': %s", args.pos[0], cr_strerror(err));
		goto out;
	}
	rc = cli_open_app("notice publish", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("notice publish", a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	err = registry_notice_publish(a, &cli_brand_actor, id, json, len, at, &pub, why, sizeof(why));
	if (err != CR_OK) {
		rc = cli_fail("notice publish", "refused: %s%s%s", cr_strerror(err), why[0] ? ": " : "", why);
		goto out;
	}
	if (cr_hex_encode(pub.hash, sizeof(pub.hash), hash, sizeof(hash)) != CR_OK)
		hash[0] = '\0';
	if (args.json)
		cli_print_json(json_pack("{s:s, s:i, s:s, s:b, s:b}", "brand", brand, "version", (int)pub.version,
					 "sha256", hash, "material", pub.material, "already_published", pub.already));
	else
		printf("%s notice version %u of brand '%s' (sha256 %s%s)\n",
		       pub.already ? "already published:" : "published", pub.version, brand, hash,
		       pub.material ? ", material change" : ", wording only");
out:
	free(json);
	free(args.pos);
	app_close(a);
	return rc;
}

static int notice_show(int argc, char **argv)
{
	const char *brand = NULL, *version = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "version", &version, NULL, "the version (default: the current one)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct app *a = NULL;
	char *json = NULL;
	uint64_t v = 0;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom notice show --brand B [--version N]\n\n"
			    "Prints a published notice version in its canonical (hashed) form.");
	if (version && cr_parse_u64(version, 1, UINT32_MAX, &v) != CR_OK) {
		free(args.pos);
		return cli_usage_error("notice show", "--version must be a positive integer");
	}
	rc = cli_open_app("notice show", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("notice show", a, brand, &id);
	if (rc == CLI_OK) {
		err = consent_notice_get(a->consent, id, (uint32_t)v, &json, NULL);
		if (err != CR_OK)
			rc = cli_fail("notice show", "%s", cr_strerror(err));
		else
			printf("%s\n", json);
	}
	free(json);
	free(args.pos);
	app_close(a);
	return rc;
}

static const struct cli_subverb subverbs[] = {
	{ "publish", notice_publish, "publish a notice version (R04 checked)" },
	{ "show", notice_show, "print a published version in canonical form" },
};

int cmd_notice(int argc, char **argv)
{
	return cli_dispatch("notice", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
