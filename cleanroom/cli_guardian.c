/*
 * cli_guardian.c: `cleanroom consent guardian-link`, recording that the
 * brand verified a guardian's parental responsibility for a child (R16).
 * The child is given as users write them and keyed into the brand's
 * pseudonym before anything is stored; only the pseudonym is kept, and the
 * link is audited in the same transaction. A guardian's grant naming the
 * same --guardian-ref is accepted from then on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/registry.h"

static const struct registry_actor cli_brand_actor = { "brand", "cli" };

/* Fills the link from the options; the registry checks it again. */
static int link_from_opts(const char *ref, const char *by, const char *time_s,
			  struct consent_guardian_link *l)
{
	l->verified = cr_time_now();
	if (ref == NULL || by == NULL)
		return cli_usage_error("guardian-link", "--guardian-ref and --verified-by are required");
	if (strlen(ref) >= sizeof(l->guardian_ref) || strlen(by) >= sizeof(l->verified_by))
		return cli_usage_error("guardian-link", "--guardian-ref or --verified-by is too long");
	memcpy(l->guardian_ref, ref, strlen(ref) + 1);
	memcpy(l->verified_by, by, strlen(by) + 1);
	if (time_s && cr_time_parse(time_s, strlen(time_s), &l->verified) != CR_OK)
		return cli_usage_error("guardian-link", "--time must be an RFC 3339 time with offset");
	return CLI_OK;
}

int cli_consent_guardian_link(int argc, char **argv)
{
	const char *brand = NULL, *subject = NULL, *id_type = NULL, *ref = NULL, *by = NULL, *time_s = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "the brand" },
		{ "subject", &subject, NULL, "email, phone or 64-hex digest of the child" },
		{ "id-type", &id_type, NULL, "email or phone (required for a digest)" },
		{ "guardian-ref", &ref, NULL, "the reference the guardian's grants will carry" },
		{ "verified-by", &by, NULL, "how the link was verified: id_document, video_call, ..." },
		{ "time", &time_s, NULL, "when it was verified (RFC 3339; default now)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct consent_guardian_link l = { 0 };
	char why[CONSENT_WHY_MAX] = "";
	struct cli_args args;
	struct app *a = NULL;
	bool dup = false;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom consent guardian-link --brand B --subject ID --guardian-ref REF\n"
			    "                                       --verified-by METHOD [--time T] [--json]\n\n"
			    "Records that the brand verified a guardian for a child (R16): a guardian's grant\n"
			    "is accepted only when its guardian_ref has such a link for that subject.");
	rc = subject ? link_from_opts(ref, by, time_s, &l) : cli_usage_error("guardian-link", "--subject ID is required");
	if (rc == CLI_OK)
		rc = cli_open_app("guardian-link", &args, &a);
	if (rc == CLI_OK)
		rc = cli_brand("guardian-link", a, brand, &id);
	if (rc != CLI_OK)
		goto out;
	err = registry_subject(a, id, subject, id_type, &l.child, NULL, NULL);
	if (err != CR_OK) {
		rc = cli_fail("guardian-link", "--subject: %s", cr_strerror(err));
		goto out;
	}
	err = registry_guardian_link(a, &cli_brand_actor, id, &l, &dup, why, sizeof(why));
	if (err != CR_OK) {
		rc = cli_fail("guardian-link", "refused: %s%s%s", cr_strerror(err), why[0] ? ": " : "", why);
		goto out;
	}
	if (args.json)
		cli_print_json(json_pack("{s:s}", "status", dup ? "already_linked" : "linked"));
	else
		fprintf(stderr, dup ? "this link was already recorded; nothing changed\n"
				    : "guardian link recorded (R16)\n");
out:
	free(args.pos);
	app_close(a);
	return rc;
}
