/*
 * cli.c: option parsing and error reporting shared by every CLI verb, so all
 * verbs accept options the same way and fail with the same shape of message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/cli.h"

static void print_help(const char *usage, const struct cli_opt *opts)
{
	printf("%s\n\nOptions:\n", usage);
	for (const struct cli_opt *o = opts; o && o->name; o++)
		printf("  --%-22s %s\n", o->value ? o->name : o->name, o->help);
	printf("  --%-22s %s\n", "data DIR", "data directory (default $CLEANROOM_DATA, then ./cleanroom-data)");
	printf("  --%-22s %s\n", "json", "machine-readable output");
	printf("  --%-22s %s\n", "help", "show this help");
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t len)
{
	for (const struct cli_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts,
	      const char *usage, struct cli_args *out)
{
	const char *verb = argv[0];
	struct cli_args a = { 0 };
	a.pos = cr_xcalloc((size_t)argc + 1, sizeof(char *));

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			while (++i < argc)
				a.pos[a.npos++] = argv[i];
			break;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			print_help(usage, opts);
			free(a.pos);
			return -1;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			a.pos[a.npos++] = arg;
			continue;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const char *val = eq ? eq + 1 : NULL;
		bool is_data = nlen == 4 && strncmp(name, "data", 4) == 0;
		bool is_json = nlen == 4 && strncmp(name, "json", 4) == 0;
		const struct cli_opt *o = find_opt(opts, name, nlen);

		if (is_json && !o) {
			if (val) {
				free(a.pos);
				return cli_usage_error(verb, "'--json' takes no value");
			}
			a.json = true;
			continue;
		}
		if (!o && !is_data) {
			free(a.pos);
			return cli_usage_error(verb, "unknown option '--%.*s'", (int)nlen, name);
		}
		if (o && o->flag) {
			if (val) {
				free(a.pos);
				return cli_usage_error(verb, "'--%s' takes no value", o->name);
			}
			*o->flag = true;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				free(a.pos);
				return cli_usage_error(verb, "'--%.*s' needs a value", (int)nlen, name);
			}
			val = argv[++i];
		}
		if (is_data && !o)
			a.data = val;
		else
			*o->value = val;
	}
	*out = a;
	return CLI_OK;
}

const char *cli_data_dir(const struct cli_args *a)
{
	const char *env = getenv("CLEANROOM_DATA");
	if (a && a->data && *a->data)
		return a->data;
	if (env && *env)
		return env;
	return "./cleanroom-data";
}

static void vreport(const char *verb, const char *fmt, va_list ap)
{
	fprintf(stderr, "cleanroom: %s: ", verb);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_fail(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(verb, fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_fail_rc(const char *verb, cr_err rc)
{
	return cli_fail(verb, "%s", cr_strerror(rc));
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(verb, fmt, ap);
	va_end(ap);
	fprintf(stderr, "try 'cleanroom %s --help'\n", verb);
	return CLI_USAGE;
}
