/*
 * ops_dataset.c: dataset creation and description, shared by `cleanroom
 * dataset` and the service's dataset routes. Creation checks the purposes
 * and recipients against the brand's current notice (I2, R09), wants an
 * impact assessment covering every purpose (R12, R28; pia.h) and stores
 * the dataset with its audit leaf in one transaction (I5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/ops.h"
#include "cleanroom/pia.h"

/* Each purpose (and recipient, for some purpose) must be in the current notice. */
static cr_err check_declared(struct app *a, const struct dataset *d, char *why, size_t cap)
{
	for (size_t i = 0; i < d->npurposes; i++) {
		bool yes = false;
		cr_err rc = consent_notice_declares(a->consent, d->brand_id, 0, d->purposes[i], NULL, &yes);
		if (rc == CR_ERR_CONSENT_NOTICE_NOT_FOUND)
			snprintf(why, cap, "the brand has no published notice; publish one first");
		if (rc != CR_OK)
			return rc;
		if (!yes) {
			snprintf(why, cap, "purpose '%s' is not declared by the brand's current notice",
				 d->purposes[i]);
			return CR_ERR_DATASET_PURPOSES;
		}
	}
	for (size_t r = 0; r < d->nrecipients; r++) {
		bool any = false;
		for (size_t i = 0; i < d->npurposes && !any; i++) {
			cr_err rc = consent_notice_declares(a->consent, d->brand_id, 0, d->purposes[i],
							    d->recipients[r], &any);
			if (rc != CR_OK)
				return rc;
		}
		if (!any) {
			snprintf(why, cap,
				 "recipient '%s' is not declared by the current notice for any of the dataset's purposes",
				 d->recipients[r]);
			return CR_ERR_DATASET_PURPOSES;
		}
	}
	return CR_OK;
}

static int code_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Stores the dataset and its "dataset.create" leaf together. The leaf lists
 * purposes and recipients sorted (its canonical form), whatever order the
 * brand gave them in. */
static cr_err store_dataset(struct app *a, const struct registry_actor *who, struct dataset *d,
			    const char *brand)
{
	struct audit_entry e = { .event_type = "dataset.create", .actor_role = who->role,
				 .actor_id = who->id, .tenant = brand, .dataset = d->name };
	const char *p[DATASET_PURPOSES_MAX], *r[DATASET_PURPOSES_MAX];
	char detail[4200], cols[4096];
	cr_err rc = columns_format(&d->columns, cols, sizeof(cols));
	if (rc != CR_OK)
		return rc;
	for (size_t i = 0; i < d->npurposes; i++)
		p[i] = d->purposes[i];
	for (size_t i = 0; i < d->nrecipients; i++)
		r[i] = d->recipients[i];
	qsort(p, d->npurposes, sizeof(p[0]), code_cmp);
	qsort(r, d->nrecipients, sizeof(r[0]), code_cmp);
	e.purposes = p;
	e.n_purposes = d->npurposes;
	e.recipients = r;
	e.n_recipients = d->nrecipients;
	snprintf(detail, sizeof(detail), "id_type=%s suite=%s child_directed=%d columns=%s",
		 crypto_id_type_name(d->id_type), crypto_psi_suite_name(d->suite), d->child_directed ? 1 : 0, cols);
	e.detail = detail;
	rc = app_begin(a);
	if (rc != CR_OK)
		return rc;
	rc = dataset_insert(a->store, d);
	if (rc == CR_OK)
		rc = app_audit(a, &e, NULL);
	return app_end(a, rc);
}

cr_err ops_dataset_create(struct app *a, const struct registry_actor *who, const char *brand,
			  struct dataset *d, char *why, size_t why_cap)
{
	cr_err rc = check_declared(a, d, why, why_cap);
	if (rc == CR_OK)
		rc = pia_dataset_check(a, d, why, why_cap);
	if (rc == CR_OK)
		rc = consent_brand_key_version(a->consent, d->brand_id, &d->key_version);
	d->created = cr_time_now();
	if (rc == CR_OK)
		rc = store_dataset(a, who, d, brand);
	return rc;
}

json_t *ops_dataset_json(struct app *a, const struct dataset *d)
{
	char cols[4096] = "", when[CR_TIME_STRLEN] = "";
	json_t *p = json_array(), *r = json_array();
	uint64_t n = 0;
	for (size_t i = 0; i < d->npurposes; i++)
		json_array_append_new(p, json_string(d->purposes[i]));
	for (size_t i = 0; i < d->nrecipients; i++)
		json_array_append_new(r, json_string(d->recipients[i]));
	if (columns_format(&d->columns, cols, sizeof(cols)) != CR_OK)
		cols[0] = '\0';
	if (dataset_record_count(a->store, d->id, &n) != CR_OK)
		n = 0;
	if (cr_time_format(d->created, when) != CR_OK)
		when[0] = '\0';
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:i, s:I, s:s, s:b}", "name", d->name,
			 "id_type", crypto_id_type_name(d->id_type), "suite", crypto_psi_suite_name(d->suite),
			 "profile", d->profile, "purposes", p,
			 "recipients", r, "columns", cols, "key_version", (int)d->key_version,
			 "records", (json_int_t)n, "created", when, "child_directed", d->child_directed);
}
