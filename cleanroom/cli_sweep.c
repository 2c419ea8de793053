/*
 * cli_sweep.c: `cleanroom sweep [--brand B]`: removes stored records whose
 * consent no longer holds (expired grants, R14), auditing what it removed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cleanroom/cli.h"
#include "cleanroom/registry.h"
#include "cleanroom/sweep.h"

int cmd_sweep(int argc, char **argv)
{
	const char *brand = NULL;
	const struct cli_opt opts[] = {
		{ "brand", &brand, NULL, "only this brand's datasets (default: all)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct sweep_report rep;
	struct cli_args args;
	struct app *a = NULL;
	int64_t id = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom sweep [--brand B] [--json]\n\n"
			    "Removes records whose consent is no longer valid (for example expired\n"
			    "grants), one audited transaction per dataset.");
	rc = cli_open_app("sweep", &args, &a);
	if (rc == CLI_OK && brand)
		rc = cli_brand("sweep", a, brand, &id);
	if (rc == CLI_OK) {
		err = sweep_run(a, id, cr_time_now(), &rep);
		if (err != CR_OK)
			rc = cli_fail_rc("sweep", err);
		else if (args.json)
			cli_print_json(json_pack("{s:I, s:I, s:I}", "datasets", (json_int_t)rep.datasets,
						 "checked", (json_int_t)rep.checked, "removed", (json_int_t)rep.removed));
		else
			printf("sweep: %llu datasets, %llu records checked, %llu removed\n",
			       (unsigned long long)rep.datasets, (unsigned long long)rep.checked,
			       (unsigned long long)rep.removed);
	}
	free(args.pos);
	app_close(a);
	return rc;
}
