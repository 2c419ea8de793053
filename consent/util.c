/*
 * util.c: the small pieces every file of consent/ shares: validators for
 * codes and fields, the name tables of event types and actors, the R08 list
 * of non-affirmative methods, and JSON helpers (the canonical form that
 * notices and receipts hash or sign, times, event rows).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "consent/consent_internal.h"

/* ------------------------------------------------------------ validators */

static bool code_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.';
}

bool consent_code_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!code_char(s[i]))
			return false;
	return true;
}

bool consent_evidence_valid(const char *s)
{
	size_t n = strnlen(s, CONSENT_EVIDENCE_MAX + 1);

	if (n > CONSENT_EVIDENCE_MAX || !cr_utf8_valid((const uint8_t *)s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool consent_printable_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

bool consent_is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

bool consent_jur_valid(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

int consent_year_of(cr_time_ms t)
{
	/* days-from-civil inverted for the year only (H. Hinnant). */
	int64_t z = (t >= 0 ? t / 86400000 : (t - 86399999) / 86400000) + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	return (int)(yoe + era * 400 + (m <= 2));
}

void consent_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void consent_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* ----------------------------------------------------------- name tables */

static const char *const event_names[CONSENT_EV_COUNT] = {
	[CONSENT_EV_SERVED] = "served",   [CONSENT_EV_GRANT] = "grant",
	[CONSENT_EV_REFUSE] = "refuse",   [CONSENT_EV_WITHDRAW] = "withdraw",
	[CONSENT_EV_OBJECT] = "object",   [CONSENT_EV_EXPIRE] = "expire",
};

static const char *const actor_names[CONSENT_ACTOR_COUNT] = {
	[CONSENT_ACTOR_SUBJECT] = "subject",
	[CONSENT_ACTOR_GUARDIAN] = "guardian",
	[CONSENT_ACTOR_BRAND] = "brand",
	[CONSENT_ACTOR_AUTHORITY] = "authority",
};

const char *consent_event_type_name(enum consent_event_type t)
{
	return (unsigned)t < CONSENT_EV_COUNT ? event_names[t] : NULL;
}

const char *consent_actor_name(enum consent_actor a)
{
	return (unsigned)a < CONSENT_ACTOR_COUNT ? actor_names[a] : NULL;
}

bool consent_event_type_parse(const char *s, enum consent_event_type *out)
{
	for (int i = 1; i < CONSENT_EV_COUNT; i++) {
		if (strcmp(s, event_names[i]) == 0) {
			*out = (enum consent_event_type)i;
			return true;
		}
	}
	return false;
}

bool consent_actor_parse(const char *s, enum consent_actor *out)
{
	for (int i = 1; i < CONSENT_ACTOR_COUNT; i++) {
		if (strcmp(s, actor_names[i]) == 0) {
			*out = (enum consent_actor)i;
			return true;
		}
	}
	return false;
}

/*
 * R08: only an affirmative act is consent (GDPR 4(11) and recital 32, CJEU
 * Planet49): a list of the acts accepted, not of those refused, so that a
 * new spelling of silence, a default or a pre-ticked box is refused rather
 * than let through. Compared after folding case and dropping '-', '_' and
 * spaces, so "Verbal recorded" and "verbal_recorded" match too.
 */
static const char *const affirmative_methods[] = {
	"checkbox", "button", "toggle", "signature", "electronicsignature", "verbalrecorded",
	"written", "doubleoptin",
};

const char consent_affirmative_methods_text[] =
	"checkbox, button, toggle, signature, electronic-signature, verbal-recorded, written, "
	"double-opt-in";

bool consent_method_affirmative(const char *method)
{
	char folded[CONSENT_FIELD_MAX + 1];
	size_t n = 0;

	for (const char *p = method; *p != '\0' && n < CONSENT_FIELD_MAX; p++) {
		char c = *p;
		if (c == '-' || c == '_' || c == ' ')
			continue;
		folded[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	folded[n] = '\0';
	for (size_t i = 0; i < sizeof(affirmative_methods) / sizeof(affirmative_methods[0]); i++)
		if (strcmp(folded, affirmative_methods[i]) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ json */

char *consent_json_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

bool consent_json_has_real(const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_real(v))
		return true;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, item)
			if (consent_json_has_real(item))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			if (consent_json_has_real(item))
				return true;
	}
	return false;
}

void consent_hex32(const uint8_t in[static 32], char out[static 65])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[64] = '\0';
}

json_t *consent_json_time(cr_time_ms t)
{
	char buf[CR_TIME_STRLEN];

	if (t == CONSENT_TIME_NONE || cr_time_format(t, buf) != CR_OK)
		return NULL;
	return json_string(buf);
}

/* Sets key to a text column, skipping NULL. */
static void set_text(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	if (sqlite3_column_type(st, col) != SQLITE_NULL && s != NULL)
		json_object_set_new(o, key, json_string((const char *)s));
}

static void set_int(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) != SQLITE_NULL)
		json_object_set_new(o, key, json_integer(sqlite3_column_int64(st, col)));
}

static void set_hex(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
	char hex[65];
	const void *b = sqlite3_column_blob(st, col);

	if (b != NULL && sqlite3_column_bytes(st, col) == 32) {
		consent_hex32(b, hex);
		json_object_set_new(o, key, json_string(hex));
	}
}

static void set_time(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
	json_t *t;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	t = consent_json_time(sqlite3_column_int64(st, col));
	if (t != NULL)
		json_object_set_new(o, key, t);
}

json_t *consent_json_event_row(sqlite3_stmt *st)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	set_int(o, "id", st, 0);
	set_text(o, "type", st, 1);
	set_hex(o, "pseudonym", st, 2);
	set_int(o, "key_version", st, 3);
	set_text(o, "purpose", st, 4);
	set_text(o, "recipient", st, 5);
	set_int(o, "notice_version", st, 6);
	set_hex(o, "notice_hash", st, 7);
	set_int(o, "served_ref", st, 8);
	set_text(o, "actor", st, 9);
	set_text(o, "guardian_ref", st, 10);
	set_text(o, "channel", st, 11);
	set_text(o, "method", st, 12);
	set_text(o, "signal", st, 13);
	set_time(o, "time", st, 14);
	set_time(o, "received", st, 15);
	set_time(o, "effective", st, 16);
	set_time(o, "expires", st, 17);
	set_text(o, "jurisdiction", st, 18);
	set_int(o, "birth_year", st, 19);
	set_text(o, "evidence", st, 20);
	return o;
}
