/*
 * http_json.c: strict JSON request bodies and JSON replies.
 *
 * Bodies are parsed with jansson and refused unless they are exactly what
 * the route accepts: one object, no duplicate keys, no unknown fields, each
 * field of its type. Error replies carry only the code's stable name and its
 * fixed message, never anything taken from the request, so an error cannot
 * echo an identifier, a token or an internal detail back to the client.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "cleanroom/http.h"

void http_secure_free(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

bool http_media_is(const char *ct, const char *want)
{
	const size_t n = strlen(want);
	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* The listed field called `name`, or NULL. */
static const struct http_field *field_find(const struct http_field *fields, const char *name)
{
	for (const struct http_field *f = fields; f && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* Whether `v` has type `t`; null is never any type. */
static bool type_ok(enum http_json_type t, const json_t *v)
{
	switch (t) {
	case HTTP_JSON_STRING:
		return json_is_string(v);
	case HTTP_JSON_INTEGER:
		return json_is_integer(v);
	case HTTP_JSON_BOOL:
		return json_is_boolean(v);
	case HTTP_JSON_OBJECT:
		return json_is_object(v);
	case HTTP_JSON_ARRAY:
		return json_is_array(v);
	default:
		return false;
	}
}

/* Every key is listed with its type, and every required field is present. */
static cr_err fields_check(const json_t *obj, const struct http_field *fields)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		const struct http_field *f = field_find(fields, key);
		if (f == NULL)
			return CR_ERR_JSON_UNKNOWN_FIELD;
		if (!type_ok(f->type, val))
			return CR_ERR_JSON_TYPE;
	}
	for (const struct http_field *f = fields; f && f->name; f++)
		if (f->required && json_object_get(obj, f->name) == NULL)
			return CR_ERR_JSON_MISSING_FIELD;
	return CR_OK;
}

cr_err http_json_body(const struct http_request *req, const struct http_field *fields,
		      json_t **out)
{
	json_error_t jerr;
	json_t *j = NULL;
	cr_err rc;

	if (!http_media_is(req->content_type, "application/json"))
		return CR_ERR_HTTP_MEDIA_TYPE;
	if (req->body_len > 0)
		j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		rc = CR_ERR_JSON_MALFORMED;
		goto out;
	}
	rc = fields_check(j, fields);
out:
	if (rc != CR_OK) {
		json_decref(j);
		return rc;
	}
	*out = j;
	return CR_OK;
}

cr_err http_reply_json(struct http_reply *rep, unsigned status, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (s == NULL)
		return CR_ERR_INTERNAL;
	http_reply_text(rep, status, "application/json", s, strlen(s));
	return CR_OK;
}

void http_reply_text(struct http_reply *rep, unsigned status, const char *content_type,
		     char *body, size_t len)
{
	http_secure_free(rep->body);
	rep->status = status;
	rep->content_type = content_type;
	rep->body = body;
	rep->len = len;
}

cr_err http_json_join(const json_t *arr, char *buf, size_t cap)
{
	size_t i, n = 0;
	json_t *v;
	if (cap == 0)
		return CR_ERR_PARSE;
	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL)
			return CR_ERR_JSON_TYPE;
		if (strchr(s, ',') != NULL || strlen(s) + 2 > cap - n)
			return CR_ERR_PARSE;
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "," : "", s);
	}
	return CR_OK;
}

void http_reply_error(struct http_reply *rep, cr_err e)
{
	char code[64];
	json_t *body;
	char *s;

	if (e == CR_OK)
		e = CR_ERR_INTERNAL;
	body = json_pack("{s:{s:s,s:s}}", "error", "code", cr_errcode(e, code, sizeof(code)),
			 "message", cr_strerror(e));
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (s == NULL)
		cr_die("http: cannot encode an error reply");
	http_reply_text(rep, (unsigned)cr_err_http_status(e), "application/json", s, strlen(s));
}

json_t *http_json_time(cr_time_ms t)
{
	char buf[CR_TIME_STRLEN];
	if (cr_time_format(t, buf) != CR_OK)
		return json_null();
	return json_string(buf);
}
