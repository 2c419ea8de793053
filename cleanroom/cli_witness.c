/*
 * cli_witness.c: `cleanroom witness init|add-log|serve`, a transparency-log
 * witness (witness.h) run by an officer or a third party, with its own key
 * and store in WDIR, apart from any data directory.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanroom/cli.h"
#include "cleanroom/witness.h"
#include "cleanroom/witness_http.h"

static int witness_init_cmd(int argc, char **argv)
{
	const char *dir = NULL, *name = NULL;
	const struct cli_opt opts[] = {
		{ "dir", &dir, NULL, "WDIR: the witness's directory (created 0700)" },
		{ "name", &name, NULL, "NAME: the witness's key name, e.g. witness.example.org/w1" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	char *vkey = NULL;
	cr_err rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom witness init --dir WDIR --name NAME\n\n"
			    "Creates a witness: its Ed25519 cosigning key (WDIR/witness.key, 0600)\n"
			    "and its store (WDIR/witness.db). Prints its verifier key, which\n"
			    "'serve --witness URL,KEY' and 'audit verify --witness KEY' take.");
	free(args.pos);
	if (dir == NULL || name == NULL)
		return cli_usage_error("witness init", "'--dir' and '--name' are required");
	rc = witness_init(dir, name, &vkey);
	if (rc != CR_OK)
		return cli_fail("witness init", "'%s': %s", dir, cr_strerror(rc));
	printf("%s\n", vkey);
	free(vkey);
	return CLI_OK;
}

static int witness_add_log_cmd(int argc, char **argv)
{
	const char *dir = NULL, *key = NULL;
	const struct cli_opt opts[] = {
		{ "dir", &dir, NULL, "WDIR: the witness's directory" },
		{ "key", &key, NULL, "VKEY: the log's checkpoint verifier key ('cleanroom audit key')" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct witness *w = NULL;
	cr_err rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom witness add-log --dir WDIR --key VKEY\n\n"
			    "Follows a log: the witness cosigns its checkpoints (origin = the\n"
			    "key's name) from now on, each consistent with the last it cosigned.");
	free(args.pos);
	if (dir == NULL || key == NULL)
		return cli_usage_error("witness add-log", "'--dir' and '--key' are required");
	rc = witness_open(dir, &w);
	if (rc == CR_OK)
		rc = witness_add_log(w, key);
	witness_close(w);
	if (rc != CR_OK)
		return cli_fail("witness add-log", "%s", cr_strerror(rc));
	return CLI_OK;
}

static int witness_serve_cmd(int argc, char **argv)
{
	const char *dir = NULL, *listen = "127.0.0.1:8444";
	const struct cli_opt opts[] = {
		{ "dir", &dir, NULL, "WDIR: the witness's directory" },
		{ "listen", &listen, NULL, "ADDR:PORT (default 127.0.0.1:8444; port 0 picks one)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;
	struct witness *w = NULL;
	struct MHD_Daemon *d = NULL;
	sigset_t set;
	int sig = 0;
	cr_err rc;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom witness serve --dir WDIR [--listen ADDR:PORT]\n\n"
			    "Serves POST /add-checkpoint (c2sp.org/tlog-witness) over plain HTTP\n"
			    "until SIGTERM or SIGINT: the answers are signed cosignatures.");
	free(args.pos);
	if (dir == NULL)
		return cli_usage_error("witness serve", "'--dir' is required");
	if (cli_listen_parse(listen, &ss, &ss_len) != CR_OK)
		return cli_usage_error("witness serve", "'--listen' must be ADDR:PORT");
	rc = witness_open(dir, &w);
	if (rc != CR_OK)
		return cli_fail("witness serve", "'%s': %s (run 'cleanroom witness init' first)", dir,
				cr_strerror(rc));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = witness_http_start(w, (const struct sockaddr *)&ss, &d);
	if (rc != CR_OK) {
		witness_close(w);
		return cli_fail("witness serve", "cannot listen on '%s'", listen);
	}
	fprintf(stderr, "{\"level\":\"info\",\"message\":\"witness listening\",\"url\":\"http://%.*s:%u\"}\n",
		(int)(strrchr(listen, ':') - listen), listen, witness_http_port(d));
	fflush(stderr);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	witness_close(w);
	return CLI_OK;
}

static const struct cli_subverb subverbs[] = {
	{ "init", witness_init_cmd, "create a witness: key and store; prints its verifier key" },
	{ "add-log", witness_add_log_cmd, "follow a log, given its checkpoint verifier key" },
	{ "serve", witness_serve_cmd, "serve POST /add-checkpoint (c2sp.org/tlog-witness)" },
};

int cmd_witness(int argc, char **argv)
{
	return cli_dispatch("witness", subverbs, sizeof(subverbs) / sizeof(subverbs[0]), argc, argv);
}
