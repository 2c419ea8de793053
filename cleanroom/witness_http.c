/*
 * witness_http.c: `cleanroom witness serve`'s HTTP server (libmicrohttpd):
 * POST /add-checkpoint (c2sp.org/tlog-witness) handed to
 * witness_add_checkpoint, and nothing else (404). Plain HTTP: the answers
 * are signed, and the requests carry nothing secret. Bodies are capped at
 * WITNESS_REQUEST_MAX (413 beyond).
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanroom/witness.h"
#include "cleanroom/witness_http.h"

struct body {
	char *buf;
	size_t len;
	bool too_large;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *data,
				 size_t *data_size, void **con_cls)
{
	struct witness *w = cls;
	struct body *b = *con_cls;
	struct witness_answer a;
	(void)version;

	if (strcmp(url, "/add-checkpoint") != 0)
		return reply(c, 404, "text/plain", "not found\n");
	if (strcmp(method, "POST") != 0)
		return reply(c, 405, "text/plain", "POST only\n");
	if (b == NULL) {
		*con_cls = cr_xcalloc(1, sizeof(*b));
		return MHD_YES;
	}
	if (*data_size > 0) {
		if (b->len + *data_size > WITNESS_REQUEST_MAX) {
			b->too_large = true;
		} else if (!b->too_large) {
			b->buf = cr_xrealloc(b->buf, b->len + *data_size + 1);
			memcpy(b->buf + b->len, data, *data_size);
			b->len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (b->too_large)
		return reply(c, 413, "text/plain", "request too large\n");
	if (witness_add_checkpoint(w, b->buf ? b->buf : "", b->len, (uint64_t)time(NULL), &a) != CR_OK)
		fprintf(stderr, "{\"level\":\"error\",\"message\":\"witness store error\"}\n");
	return reply(c, a.status, a.content_type, a.body);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (b) {
		free(b->buf);
		free(b);
	}
	*con_cls = NULL;
}

cr_err witness_http_start(struct witness *w, const struct sockaddr *addr, struct MHD_Daemon **out)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, w,
						MHD_OPTION_SOCK_ADDR, addr,
						MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
						MHD_OPTION_CONNECTION_TIMEOUT, 30u,
						MHD_OPTION_CONNECTION_LIMIT, 64u,
						MHD_OPTION_END);
	if (d == NULL)
		return CR_ERR_IO;
	*out = d;
	return CR_OK;
}

unsigned witness_http_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	return i ? i->port : 0;
}
