/*
 * cli_receipt.c: `cleanroom receipt verify FILE`: checks a consent receipt
 * offline (R27): the service's Ed25519 signature over the payload and, when
 * the receipt carries one, the inclusion proof of its audit entry against
 * the log's signed checkpoint. Needs only the two verifier keys
 * (--receipt-key for the signature, --key for the proof: receipts and
 * checkpoints are signed with separate keys), or a data directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/ops.h"

#define RECEIPT_MAX (AUDIT_TLOG_PROOF_MAX + 65536)

/*
 * The two verifier keys: --receipt-key and --key as given, the rest from
 * the data directory (when one is given or found). Handed over.
 */
static int verifier_texts(const char *rkey, const char *key, const struct cli_args *args, char **r_out,
			  char **v_out)
{
	struct app *a = NULL;
	int rc = CLI_OK;
	if (rkey == NULL || key == NULL) {
		if (rkey == NULL && key != NULL)
			return cli_usage_error("receipt verify",
					       "receipts have their own key: add --receipt-key RKEY ('cleanroom audit key "
					       "--receipts' prints it)");
		rc = cli_open_app("receipt verify", args, &a);
		if (rc == CLI_OK && ((rkey == NULL && app_receipt_key(a, r_out) != CR_OK) ||
				     (key == NULL && app_verifier_key(a, v_out) != CR_OK)))
			rc = cli_fail("receipt verify", "cannot read the verifier keys");
		app_close(a);
	}
	if (rc == CLI_OK && rkey)
		*r_out = cr_xstrdup(rkey);
	if (rc == CLI_OK && key)
		*v_out = cr_xstrdup(key);
	return rc;
}

static int receipt_verify(int argc, char **argv)
{
	const char *key = NULL, *rkey = NULL;
	const struct cli_opt opts[] = {
		{ "receipt-key", &rkey, NULL, "the receipts' verifier key (from 'cleanroom audit key --receipts')" },
		{ "key", &key, NULL, "the audit log's verifier key, for the proof (from 'cleanroom audit key')" },
		{ NULL, NULL, NULL, NULL },
	};
	struct consent_receipt_info info;
	struct audit_verifier v;
	struct cli_args args;
	char *json = NULL, *vkey = NULL, *receipt_key = NULL;
	char why[AUDIT_MSG_MAX] = "";
	size_t len = 0;
	bool had_proof = false;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 1,
			    "usage: cleanroom receipt verify FILE [--receipt-key RKEY --key VKEY | --data DIR]\n\n"
			    "Verifies a consent receipt's signature with the receipts' key and, if\n"
			    "attached, its audit-log inclusion proof with the log's key, offline.\n"
			    "Receipts and checkpoints are signed with separate keys.");
	if (cli_read_file(args.pos[0], RECEIPT_MAX, &json, &len) != CR_OK) {
		rc = cli_fail("receipt verify", "cannot read '%s'", args.pos[0]);
		goto out;
	}
	rc = verifier_texts(rkey, key, &args, &receipt_key, &vkey);
	if (rc != CLI_OK)
		goto out;
	if (audit_verifier_parse(vkey, strlen(vkey), &v) != CR_OK ||
	    audit_verifier_parse(receipt_key, strlen(receipt_key), &v) != CR_OK) {
		rc = cli_usage_error("receipt verify", "--key and --receipt-key take verifier keys (name+keyid+base64)");
		goto out;
	}
	err = ops_receipt_verify(receipt_key, vkey, json, len, &info, &had_proof, why, sizeof(why));
	if (err == CR_OK)
		printf("receipt OK: %s event %lld, signed by the receipts' key; audit entry %llu%s\n",
		       consent_event_type_name(info.type), (long long)info.event_id,
		       (unsigned long long)info.audit_index,
		       had_proof ? " proven in the signed log" : " (no inclusion proof attached)");
	else if (why[0] && (err == CR_ERR_CONSENT_RECEIPT_MALFORMED || err == CR_ERR_AUDIT_PROOF_RANGE))
		rc = cli_fail("receipt verify", "REJECTED: %s", why);
	else if (why[0])
		rc = cli_fail("receipt verify", "REJECTED: audit proof: %s", why);
	else
		rc = cli_fail("receipt verify", "REJECTED: %s", cr_strerror(err));
out:
	free(vkey);
	free(receipt_key);
	free(json);
	free(args.pos);
	return rc;
}

static const struct cli_subverb subverbs[] = {
	{ "verify", receipt_verify, "verify a consent receipt offline" },
};

int cmd_receipt(int argc, char **argv)
{
	return cli_dispatch("receipt", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
