/*
 * auth.h: API tokens, roles and tenants (internal to cleanroom/).
 *
 * Every /v1 request carries `Authorization: Bearer <token>`. A token is
 * "crt_" followed by the unpadded base64url of 32 random bytes; it is shown
 * once, when issued, and only its hash is stored. Each token carries exactly
 * one role and one tenant; routes say which roles they admit (a bit mask),
 * and handlers scope what they read and write to the token's tenant.
 *
 * Issuing and revoking are state changes: each runs in one store transaction
 * together with its audit leaf (I5, docs/spec/invariants.md), so either both are stored or
 * neither is.
 */
#ifndef CR_CLEANROOM_AUTH_H
#define CR_CLEANROOM_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "cleanroom/app.h"
#include "cleanroom/store.h"

/* Roles are bits so a route can admit several with one mask. Never renumbered. */
enum auth_role {
	AUTH_ROLE_ADMIN = 1u << 0,   /* manages brands, partners and tokens */
	AUTH_ROLE_BRAND = 1u << 1,   /* a data owner: notices, consents, datasets */
	AUTH_ROLE_PARTNER = 1u << 2, /* an ad partner: its collaborations and matches */
	AUTH_ROLE_OFFICER = 1u << 3, /* reads its tenant's audit log; changes nothing */
};
#define AUTH_ROLES_ALL (AUTH_ROLE_ADMIN | AUTH_ROLE_BRAND | AUTH_ROLE_PARTNER | AUTH_ROLE_OFFICER)

#define AUTH_TOKEN_PREFIX "crt_"
#define AUTH_TOKEN_RAW_BYTES 32
#define AUTH_TOKEN_LEN 47     /* "crt_" + 43 base64url characters */
#define AUTH_TOKEN_STRLEN 48  /* with the NUL */
#define AUTH_TENANT_MAX 64
#define AUTH_NAME_MAX 64

/* What the store knows about a token: never the token, never its hash. */
struct auth_token_info {
	int64_t id;
	enum auth_role role;
	char tenant[AUTH_TENANT_MAX + 1];
	char name[AUTH_NAME_MAX + 1];
	cr_time_ms created;
	cr_time_ms revoked;   /* 0 while the token is active */
};

/* The api_tokens table; store.c runs it as a migration. */
extern const char auth_schema_v1[];

/* "admin" / "brand" / "partner" / "officer" -> role; CR_ERR_ROLE otherwise. */
cr_err auth_role_parse(const char *s, enum auth_role *out) CR_MUST_CHECK;
/* The role's name; "unknown" for a value that is not exactly one role. */
const char *auth_role_name(enum auth_role r);

/* CR_OK if `s` is 1-64 of [a-z0-9._-] starting with [a-z0-9]; else CR_ERR_TENANT. */
cr_err auth_tenant_check(const char *s) CR_MUST_CHECK;
/* True if `who` may act on brand `brand`: an admin on any, others on their tenant's only. */
bool auth_may_act_on(const struct auth_token_info *who, const char *brand);
/* CR_OK if `s` is 1-64 bytes of UTF-8 without control characters; else CR_ERR_TOKEN_NAME. */
cr_err auth_name_check(const char *s) CR_MUST_CHECK;

/*
 * Creates a token with `role` for `tenant`, labelled `name`, in one store
 * transaction with its audit leaf. Writes the token (NUL-terminated, to be
 * shown once; the caller wipes it) and what was stored to *info_out, only on
 * success. Refuses a bad role, tenant or name with its own code; nothing is
 * stored then. `a` is borrowed; its store must not be inside a transaction.
 */
cr_err auth_token_issue(struct app *a, enum auth_role role, const char *tenant,
			const char *name, char token_out[static AUTH_TOKEN_STRLEN],
			struct auth_token_info *info_out) CR_MUST_CHECK;

/*
 * Revokes token `id` in one store transaction with its audit leaf.
 * CR_ERR_NOT_FOUND for an unknown id, CR_ERR_TOKEN_REVOKED if it already is.
 * Writes the revoked token's record to *info_out (may be NULL) on success.
 */
cr_err auth_token_revoke(struct app *a, int64_t id,
			 struct auth_token_info *info_out) CR_MUST_CHECK;

/*
 * Every token, oldest first, into a heap array handed to the caller (free()).
 * *out and *n_out are written only on success.
 */
cr_err auth_token_list(struct store *s, struct auth_token_info **out,
		       size_t *n_out) CR_MUST_CHECK;

/*
 * Checks a presented token: well formed, known and not revoked. Writes its
 * record to *out on success; every refusal is CR_ERR_AUTH_INVALID, whatever
 * the reason, so a caller cannot tell a revoked token from a made-up one.
 * The token is looked up by its hash, so nothing compares the secret itself
 * byte by byte.
 */
cr_err auth_token_verify(struct store *s, const char *token, size_t token_len,
			 struct auth_token_info *out) CR_MUST_CHECK;

/*
 * Extracts the token from an Authorization header value ("Bearer <token>",
 * scheme case-insensitive, one space). NULL header: CR_ERR_AUTH_MISSING;
 * another scheme or shape: CR_ERR_AUTH_INVALID. *token and *len borrow
 * from `header`.
 */
cr_err auth_bearer_parse(const char *header, const char **token,
			 size_t *len) CR_MUST_CHECK;

#endif
