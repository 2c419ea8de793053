/*
 * error.c: the message, symbolic name and HTTP status of every error code.
 * The table is generated from common/errors/<folder>.def, so a code cannot
 * exist without its message and status.
 */
#include <ctype.h>
#include <string.h>

#include "common/common.h"

struct err_entry {
	cr_err code;
	int status;
	const char *name;
	const char *message;
};

static const struct err_entry err_table[] = {
	{ CR_OK, 200, "CR_OK", "success" },
#define CR_ERROR(name, value, status, message) { name, status, #name, message },
#include "common/errors/common.def"
#include "common/errors/crypto.def"
#include "common/errors/audit.def"
#include "common/errors/consent.def"
#include "common/errors/cleanroom.def"
#undef CR_ERROR
};

#define ERR_COUNT (sizeof(err_table) / sizeof(err_table[0]))

static const struct err_entry *err_find(cr_err e)
{
	for (size_t i = 0; i < ERR_COUNT; i++)
		if (err_table[i].code == e)
			return &err_table[i];
	return NULL;
}

const char *cr_strerror(cr_err e)
{
	const struct err_entry *x = err_find(e);
	return x ? x->message : "unknown error";
}

const char *cr_errname(cr_err e)
{
	const struct err_entry *x = err_find(e);
	return x ? x->name : "CR_ERR_UNKNOWN";
}

int cr_err_http_status(cr_err e)
{
	const struct err_entry *x = err_find(e);
	return x ? x->status : 500;
}

bool cr_err_at(size_t i, cr_err *out)
{
	if (i >= ERR_COUNT)
		return false;
	*out = err_table[i].code;
	return true;
}

const char *cr_errcode(cr_err e, char *buf, size_t cap)
{
	static const char prefix[] = "CR_ERR_";
	const char *name = cr_errname(e);
	size_t i = 0;
	if (strncmp(name, prefix, sizeof(prefix) - 1) == 0)
		name += sizeof(prefix) - 1;
	for (; cap > 0 && name[i] != '\0' && i + 1 < cap; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	if (cap > 0)
		buf[i] = '\0';
	return buf;
}

bool cr_errcode_parse(const char *code, cr_err *out)
{
	char buf[64];
	for (size_t i = 1; code != NULL && i < ERR_COUNT; i++)
		if (strcmp(cr_errcode(err_table[i].code, buf, sizeof(buf)), code) == 0) {
			*out = err_table[i].code;
			return true;
		}
	return false;
}
