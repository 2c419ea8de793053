/*
 * witness_http.h: the witness's HTTP server (witness_http.c), internal to
 * cleanroom/ (cli_witness.c starts it).
 */
#ifndef CR_CLEANROOM_WITNESS_HTTP_H
#define CR_CLEANROOM_WITNESS_HTTP_H

#include <sys/socket.h>

#include "common/common.h"

struct witness;
struct MHD_Daemon;

/* Serves POST /add-checkpoint for `w` (borrowed) on `addr` (port 0: any). */
cr_err witness_http_start(struct witness *w, const struct sockaddr *addr,
			  struct MHD_Daemon **out) CR_MUST_CHECK;
/* The port it listens on. */
unsigned witness_http_port(struct MHD_Daemon *d);

#endif
