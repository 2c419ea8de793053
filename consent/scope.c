/*
 * scope.c: what a withdrawal withdraws, from its purpose and recipient as a
 * person, a brand's system or a form wrote them (R17: a withdrawal is never
 * lost for its form). Codes are trimmed and lowercased; a field naming
 * several codes makes several withdrawals, every purpose with every
 * recipient (bundling, R09, is a rule for grants only); a code that is
 * still not a code, or more scopes than one request may make, widens the
 * withdrawal instead of refusing it: an unreadable recipient to the whole
 * purpose, an unreadable purpose, or too many scopes, to everything.
 * Widening can only withdraw more than was asked, never less.
 */
#include <string.h>

#include "consent/consent_internal.h"

#define SEPARATORS ",;|+& \t\r\n"

/* The codes of some texts (each split at SEPARATORS), lowercased, without
 * repeats. false if any is not a code or there are more than `max`. */
static bool codes_of(const char *const *texts, size_t ntexts, char out[][CONSENT_CODE_MAX + 1],
		     size_t max, size_t *n)
{
	*n = 0;
	for (size_t t = 0; t < ntexts; t++) {
		const char *p = texts[t];
		while (p != NULL && *p != '\0') {
			size_t len = strcspn(p, SEPARATORS);
			char code[CONSENT_CODE_MAX + 1];
			bool seen = false;
			if (len == 0) {
				p++;
				continue;
			}
			if (len > CONSENT_CODE_MAX)
				return false;
			for (size_t i = 0; i < len; i++)
				code[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
			code[len] = '\0';
			p += len;
			if (!consent_code_valid(code, CONSENT_CODE_MAX))
				return false;
			for (size_t i = 0; i < *n; i++)
				seen = seen || strcmp(out[i], code) == 0;
			if (seen)
				continue;
			if (*n == max)
				return false;
			memcpy(out[(*n)++], code, len + 1);
		}
	}
	return true;
}

void consent_withdraw_scope_set(struct consent_event *ev, const char *const *purposes, size_t np,
				const char *const *recipients, size_t nr)
{
	char pc[CONSENT_SPLIT_MAX][CONSENT_CODE_MAX + 1], rc[CONSENT_SPLIT_MAX][CONSENT_CODE_MAX + 1];
	size_t npc = 0, nrc = 0, k = 0;

	ev->purpose[0] = ev->recipient[0] = '\0';
	ev->n_split = 0;
	if (!codes_of(purposes, np, pc, CONSENT_SPLIT_MAX, &npc))
		return; /* an unreadable purpose: everything */
	if (!codes_of(recipients, nr, rc, CONSENT_SPLIT_MAX, &nrc))
		nrc = 0; /* an unreadable recipient: the whole purpose */
	if ((npc ? npc : 1) * (nrc ? nrc : 1) > CONSENT_SPLIT_MAX)
		return; /* more than one request may make: everything */
	for (size_t i = 0; i < (npc ? npc : 1); i++)
		for (size_t j = 0; j < (nrc ? nrc : 1); j++, k++) {
			consent_copy(ev->split[k].purpose, sizeof(ev->split[k].purpose), npc ? pc[i] : "");
			consent_copy(ev->split[k].recipient, sizeof(ev->split[k].recipient), nrc ? rc[j] : "");
		}
	consent_copy(ev->purpose, sizeof(ev->purpose), ev->split[0].purpose);
	consent_copy(ev->recipient, sizeof(ev->recipient), ev->split[0].recipient);
	ev->n_split = k > 1 ? k : 0;
}

size_t consent_event_scopes(const struct consent_event *ev)
{
	return ev->n_split > 1 ? ev->n_split : 1;
}

void consent_event_scope(const struct consent_event *ev, size_t i, struct consent_event *out)
{
	*out = *ev;
	out->n_split = 0;
	if (ev->n_split > 1 && i < ev->n_split) {
		consent_copy(out->purpose, sizeof(out->purpose), ev->split[i].purpose);
		consent_copy(out->recipient, sizeof(out->recipient), ev->split[i].recipient);
	}
}
