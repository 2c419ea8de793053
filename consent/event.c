/*
 * event.c: one NDJSON consent-event line (docs/spec/formats.md) -> struct
 * consent_event. The parser is strict because a silently dropped field
 * changes meaning: duplicate keys, unknown fields, fields the type does not
 * take, wrong JSON types and lists where one value belongs (R09 bundling)
 * are all refused, each with a message that names the field and never
 * echoes the subject. Raw identifiers are normalized and hashed, then
 * keyed (crypto_subject_digest, then the brand's pseudonym keys); the
 * digest is wiped at once and nothing but the pseudonym leaves this file.
 *
 * Field handlers are a table, one entry per JSON name (docs/style.md: tables
 * over switch ladders). The per-type required/accepted sets are the table
 * in registry.c, shared with consent_record.
 */
#include <string.h>

#include "consent/consent_internal.h"

/* What the handlers fill beside the event itself. */
struct parse_state {
	struct consent_event *ev;
	json_t *subject;              /* borrowed from the tree */
	const char *id_type;          /* borrowed; NULL if absent */
	bool has_received;
};

typedef cr_err (*field_fn)(struct parse_state *ps, const char *name, json_t *v, char *why,
			   size_t cap);

/* ---------------------------------------------------------------- handlers */

/* A string of at most cap-1 bytes into dst. */
static cr_err get_string(const char *name, json_t *v, char *dst, size_t cap, char *why,
			 size_t why_cap)
{
	if (!json_is_string(v)) {
		consent_why(why, why_cap, "%s: must be a string", name);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (json_string_length(v) == 0 || json_string_length(v) >= cap) {
		consent_why(why, why_cap, "%s: must be 1-%zu bytes", name, cap - 1);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return CR_OK;
}

/* purpose and recipient: one code; a list of several is a bundle (R09). */
static cr_err get_code(const char *name, json_t *v, char *dst, char *why, size_t cap)
{
	if (json_is_array(v) && json_array_size(v) > 1) {
		consent_why(why, cap, "%s: names several; each needs its own grant (R09)", name);
		return CR_ERR_CONSENT_BUNDLED;
	}
	if (json_is_array(v)) {
		consent_why(why, cap, "%s: must be a string, not a list", name);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	return get_string(name, v, dst, CONSENT_CODE_MAX + 1, why, cap);
}

static cr_err f_purpose(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_code(name, v, ps->ev->purpose, why, cap);
}

static cr_err f_recipient(struct parse_state *ps, const char *name, json_t *v, char *why,
			  size_t cap)
{
	return get_code(name, v, ps->ev->recipient, why, cap);
}

static cr_err f_subject(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	if (!json_is_string(v)) {
		consent_why(why, cap, "%s: must be a string", name);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	ps->subject = v;
	return CR_OK;
}

static cr_err f_id_type(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	enum crypto_id_type t;

	if (!json_is_string(v) || crypto_id_type_parse(json_string_value(v), &t) != CR_OK) {
		consent_why(why, cap, "%s: must be \"email\" or \"phone\"", name);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	ps->id_type = json_string_value(v);
	return CR_OK;
}

static cr_err get_time(const char *name, json_t *v, cr_time_ms *out, char *why, size_t cap)
{
	if (!json_is_string(v) ||
	    cr_time_parse(json_string_value(v), json_string_length(v), out) != CR_OK) {
		consent_why(why, cap, "%s: must be an RFC 3339 time with an offset", name);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	return CR_OK;
}

static cr_err f_time(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_time(name, v, &ps->ev->time, why, cap);
}

static cr_err f_received(struct parse_state *ps, const char *name, json_t *v, char *why,
			 size_t cap)
{
	ps->has_received = true;
	return get_time(name, v, &ps->ev->received, why, cap);
}

static cr_err f_expires(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_time(name, v, &ps->ev->expires, why, cap);
}

static cr_err get_int(const char *name, json_t *v, json_int_t lo, json_int_t hi, json_int_t *out,
		      char *why, size_t cap)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		consent_why(why, cap, "%s: must be an integer from %lld to %lld", name,
			    (long long)lo, (long long)hi);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	*out = json_integer_value(v);
	return CR_OK;
}

static cr_err f_notice(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	json_int_t x = 0;
	cr_err rc = get_int(name, v, 1, INT32_MAX, &x, why, cap);

	ps->ev->notice_version = (uint32_t)x;
	return rc;
}

static cr_err f_birth(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	json_int_t x = 0;
	cr_err rc = get_int(name, v, 1900, 9999, &x, why, cap);

	ps->ev->birth_year = (int)x;
	return rc;
}

static cr_err f_actor(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	if (!json_is_string(v) || !consent_actor_parse(json_string_value(v), &ps->ev->actor)) {
		consent_why(why, cap, "%s: must be subject, guardian, brand or authority", name);
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	return CR_OK;
}

static cr_err f_channel(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_string(name, v, ps->ev->channel, sizeof(ps->ev->channel), why, cap);
}

static cr_err f_method(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_string(name, v, ps->ev->method, sizeof(ps->ev->method), why, cap);
}

static cr_err f_signal(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_string(name, v, ps->ev->signal, sizeof(ps->ev->signal), why, cap);
}

static cr_err f_guardian(struct parse_state *ps, const char *name, json_t *v, char *why,
			 size_t cap)
{
	return get_string(name, v, ps->ev->guardian_ref, sizeof(ps->ev->guardian_ref), why, cap);
}

static cr_err f_jur(struct parse_state *ps, const char *name, json_t *v, char *why, size_t cap)
{
	return get_string(name, v, ps->ev->jurisdiction, sizeof(ps->ev->jurisdiction), why, cap);
}

static cr_err f_evidence(struct parse_state *ps, const char *name, json_t *v, char *why,
			 size_t cap)
{
	return get_string(name, v, ps->ev->evidence, sizeof(ps->ev->evidence), why, cap);
}

/* Every JSON name an event may carry. bit 0: every type takes it. */
static const struct {
	const char *name;
	unsigned bit;
	field_fn fn;
} fields[] = {
	{ "subject", 0, f_subject },        { "id_type", 0, f_id_type },
	{ "time", 0, f_time },              { "received", 0, f_received },
	{ "evidence", 0, f_evidence },      { "purpose", CF_PURPOSE, f_purpose },
	{ "recipient", CF_RECIPIENT, f_recipient }, { "notice_version", CF_NOTICE, f_notice },
	{ "actor", CF_ACTOR, f_actor },     { "channel", CF_CHANNEL, f_channel },
	{ "method", CF_METHOD, f_method },  { "signal", CF_SIGNAL, f_signal },
	{ "guardian_ref", CF_GUARDIAN, f_guardian }, { "jurisdiction", CF_JUR, f_jur },
	{ "birth_year", CF_BIRTH, f_birth }, { "expires", CF_EXPIRES, f_expires },
};

#define FIELD_COUNT (sizeof(fields) / sizeof(fields[0]))

/* ----------------------------------------------------------------- parsing */

/* A key we may echo: only one that looks like a field name. */
static const char *safe_key(const char *key)
{
	return consent_code_valid(key, 32) ? key : "(name not shown)";
}

static cr_err parse_type(json_t *root, enum consent_event_type *t, char *why, size_t cap)
{
	json_t *v = json_object_get(root, "type");
	const struct consent_type_rule *rule;

	if (v == NULL) {
		consent_why(why, cap, "type: missing");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (!json_is_string(v) || !consent_event_type_parse(json_string_value(v), t) ||
	    (rule = consent_type_rule(*t)) == NULL || !rule->importable) {
		consent_why(why, cap, "type: must be served, grant, refuse, withdraw or object");
		return CR_ERR_CONSENT_EVENT_TYPE;
	}
	return CR_OK;
}

/* Runs the handler of every key; unknown keys and keys the type does not
 * take are refused before any value is looked at. */
static cr_err parse_fields(json_t *root, unsigned allowed, const char *type,
			   struct parse_state *ps, char *why, size_t cap)
{
	const char *key;
	json_t *v;
	cr_err rc;

	json_object_foreach(root, key, v) {
		size_t i;
		if (strcmp(key, "type") == 0)
			continue;
		for (i = 0; i < FIELD_COUNT && strcmp(fields[i].name, key) != 0; i++)
			;
		if (i == FIELD_COUNT) {
			consent_why(why, cap, "unknown field \"%s\"", safe_key(key));
			return CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD;
		}
		if (fields[i].bit != 0 && !(allowed & fields[i].bit)) {
			consent_why(why, cap, "%s: not accepted for %s", key, type);
			return CR_ERR_CONSENT_EVENT_UNKNOWN_FIELD;
		}
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "type") == 0)
			continue;
		for (size_t i = 0; i < FIELD_COUNT; i++) {
			if (strcmp(fields[i].name, key) != 0)
				continue;
			rc = fields[i].fn(ps, key, v, why, cap);
			if (rc != CR_OK)
				return rc;
		}
	}
	return CR_OK;
}

/* The subject -> pseudonyms (crypto refusals named, the value never). */
static cr_err parse_subject(const struct consent_importer *imp, struct parse_state *ps, char *why,
			    size_t cap)
{
	struct consent_event *ev = ps->ev;
	cr_err rc;

	if (ps->subject == NULL) {
		consent_why(why, cap, "subject: missing");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (ps->id_type == NULL &&
	    consent_is_hex64(json_string_value(ps->subject), json_string_length(ps->subject))) {
		consent_why(why, cap, "id_type: missing (required when subject is a digest)");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	rc = consent_importer_subject(imp, json_string_value(ps->subject),
				      json_string_length(ps->subject), ps->id_type, &ev->subject,
				      ev->aliases, &ev->n_aliases);
	if (rc != CR_OK)
		consent_why(why, cap, "subject: %s", cr_strerror(rc));
	return rc;
}

/* Clears a free-text field that is not printable ASCII (a withdrawal keeps going without it). */
static void drop_unprintable(char *s, size_t max)
{
	if (s[0] != '\0' && !consent_printable_valid(s, max))
		s[0] = '\0';
}

/* The texts a withdrawal's purpose or recipient holds: a string, or the strings of a list. */
static size_t scope_texts(json_t *v, const char *out[CONSENT_SPLIT_MAX * 4])
{
	size_t n = 0, i;
	json_t *x;

	if (json_is_string(v))
		out[n++] = json_string_value(v);
	else if (json_is_array(v))
		json_array_foreach(v, i, x)
			if (json_is_string(x) && n < CONSENT_SPLIT_MAX * 4)
				out[n++] = json_string_value(x);
	return n;
}

/*
 * A withdrawal is never lost for its form (R17): only the subject must be
 * there and readable. Fields it does not take, unknown fields and values
 * that do not parse are ignored; a missing or unreadable time is its
 * receipt time; purpose and recipient may name several codes, in any case
 * (consent_withdraw_scope_set).
 */
static cr_err parse_withdrawal(const struct consent_importer *imp, json_t *root, cr_time_ms now,
			       struct consent_event *ev, char *why, size_t cap)
{
	struct parse_state ps = { .ev = ev };
	const char *purposes[CONSENT_SPLIT_MAX * 4], *recipients[CONSENT_SPLIT_MAX * 4];
	unsigned allowed = consent_type_rule(CONSENT_EV_WITHDRAW)->allowed & ~(CF_PURPOSE | CF_RECIPIENT);
	const char *key;
	json_t *v;
	char ignored[CONSENT_WHY_MAX];

	consent_event_init(ev, CONSENT_EV_WITHDRAW);
	ev->time = -1;
	json_object_foreach(root, key, v) {
		for (size_t i = 0; i < FIELD_COUNT; i++)
			if (strcmp(fields[i].name, key) == 0 && (fields[i].bit == 0 || (allowed & fields[i].bit)) &&
			    fields[i].fn(&ps, key, v, ignored, sizeof(ignored)) != CR_OK &&
			    strcmp(key, "id_type") == 0)
				ps.id_type = NULL;
	}
	consent_withdraw_scope_set(ev, purposes, scope_texts(json_object_get(root, "purpose"), purposes),
				   recipients, scope_texts(json_object_get(root, "recipient"), recipients));
	if (!ps.has_received)
		ev->received = now;
	ev->received_given = ps.has_received;
	if (ev->time < 0)
		ev->time = ev->received;
	if (ev->guardian_ref[0] != '\0' && ev->actor != CONSENT_ACTOR_GUARDIAN)
		ev->guardian_ref[0] = '\0';
	drop_unprintable(ev->channel, CONSENT_FIELD_MAX);
	drop_unprintable(ev->method, CONSENT_FIELD_MAX);
	drop_unprintable(ev->guardian_ref, CONSENT_REF_MAX);
	if (!consent_evidence_valid(ev->evidence))
		ev->evidence[0] = '\0';
	return parse_subject(imp, &ps, why, cap);
}

static cr_err parse_root(const struct consent_importer *imp, json_t *root, cr_time_ms now,
			 struct consent_event *ev, char *why, size_t cap)
{
	struct parse_state ps = { .ev = ev };
	enum consent_event_type t;
	cr_err rc = parse_type(root, &t, why, cap);

	if (rc != CR_OK)
		return rc;
	if (t == CONSENT_EV_WITHDRAW) {
		rc = parse_withdrawal(imp, root, now, ev, why, cap);
		return rc == CR_OK ? consent_event_check(ev, why, cap) : rc;
	}
	consent_event_init(ev, t);
	ev->time = -1;
	rc = parse_fields(root, consent_type_rule(t)->allowed, consent_event_type_name(t), &ps,
			  why, cap);
	if (rc != CR_OK)
		return rc;
	if (ev->time < 0) {
		consent_why(why, cap, "time: missing");
		return CR_ERR_CONSENT_EVENT_FIELD;
	}
	if (!ps.has_received)
		ev->received = now;
	ev->received_given = ps.has_received;
	rc = parse_subject(imp, &ps, why, cap);
	if (rc == CR_OK)
		rc = consent_event_check(ev, why, cap);
	return rc;
}

cr_err consent_event_parse(const struct consent_importer *imp, const char *line, size_t len,
			   cr_time_ms now, struct consent_event *out, char *why, size_t why_cap)
{
	struct consent_event ev;
	json_error_t err;
	json_t *root;
	cr_err rc;

	if (imp == NULL || line == NULL || out == NULL)
		return CR_ERR_INVALID_ARG;
	if (len > CONSENT_LINE_MAX) {
		consent_why(why, why_cap, "line is longer than %d bytes", CONSENT_LINE_MAX);
		return CR_ERR_CONSENT_LINE_TOO_LARGE;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL || !json_is_object(root)) {
		/* Position only: jansson's text may quote the input. */
		if (root == NULL)
			consent_why(why, why_cap, "not valid JSON (column %d)", err.column);
		else
			consent_why(why, why_cap, "not a JSON object");
		json_decref(root);
		return CR_ERR_CONSENT_EVENT_MALFORMED;
	}
	rc = parse_root(imp, root, now, &ev, why, why_cap);
	if (rc == CR_OK)
		*out = ev;
	json_decref(root);
	return rc;
}
