/*
 * witness.h: a transparency-log witness (c2sp.org/tlog-witness) and the
 * service's side of talking to one (internal to cleanroom/).
 *
 * A witness directory WDIR holds witness.key (its Ed25519 cosigning key,
 * 0600, "PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>") and
 * witness.db, a small SQLite store with one row per log it follows: the
 * log's verifier key and the size, root and note it last cosigned. It
 * cosigns a checkpoint only when the note verifies with the log's key,
 * the request's old size is the size it last cosigned, and a consistency
 * proof links the two; the check and the update of its row are one
 * transaction (docs/spec/audit-log.md, section 13).
 *
 * witness.c is the state machine (no HTTP, unit-tested on its own);
 * witness_http.c serves it; witness_client.c is the service's sender.
 */
#ifndef CR_CLEANROOM_WITNESS_H
#define CR_CLEANROOM_WITNESS_H

#include "common/common.h"
#include "audit/audit.h"

#define WITNESS_KEY_FILE "witness.key"
#define WITNESS_DB_FILE "witness.db"
#define WITNESS_REQUEST_MAX (AUDIT_NOTE_MAX + 8192)
#define WITNESS_PROOF_MAX 63 /* the spec's bound on proof lines */

struct witness;

/* Creates WDIR (0700), its key (0600) and its store; refuses an existing
 * key or store (CR_ERR_DATA_DIR_EXISTS). *vkey_out: the witness's
 * verifier key text (handed over). */
cr_err witness_init(const char *dir, const char *name, char **vkey_out) CR_MUST_CHECK;
cr_err witness_open(const char *dir, struct witness **out) CR_MUST_CHECK;
void witness_close(struct witness *w);
/* The witness's verifier key text (handed over). */
cr_err witness_vkey(const struct witness *w, char **out) CR_MUST_CHECK;
/* Follows the log whose checkpoint verifier key is `log_vkey`; its origin
 * is the key's name. An origin already followed is CR_ERR_CONFLICT. */
cr_err witness_add_log(struct witness *w, const char *log_vkey) CR_MUST_CHECK;

/* An add-checkpoint request, parsed. */
struct witness_request {
	uint64_t old_size;
	struct audit_proof proof;
	const char *note; /* borrowed from the request text */
	size_t note_len;
};
/* Strict parse of "old N\n" <base64 hash lines> "\n" <note>. */
cr_err witness_request_parse(const char *text, size_t len,
			     struct witness_request *out) CR_MUST_CHECK;
/* Formats a request (handed over, NUL-terminated). */
char *witness_request_format(uint64_t old_size, const struct audit_proof *proof,
			     const char *note, size_t *len_out);

/* What the witness answers: an HTTP status, its body and content type. */
struct witness_answer {
	unsigned status;       /* 200, 400, 403, 404, 409, 422 or 500 */
	char body[512];        /* 200: cosignature line(s); 409: "<size>\n"; else a reason */
	const char *content_type;
	uint64_t size;         /* the size it has cosigned, after the request */
};
/*
 * Handles one add-checkpoint request at time `now_s` (POSIX seconds).
 * Thread-safe (one lock around the check and the update). Returns CR_OK
 * with the answer filled in for every well-defined outcome, refusals
 * included; an error only when the store failed (then status 500).
 */
cr_err witness_add_checkpoint(struct witness *w, const char *req, size_t len,
			      uint64_t now_s, struct witness_answer *out) CR_MUST_CHECK;

/* ----------------------------------------------------- the service's side */

struct app;
struct witness_client;
/*
 * `spec` is "URL,VKEY" (cleanroom serve --witness). Each parsed witness
 * gets a sender; witness_clients_start asks each for the size it cosigned
 * (old 0), refuses (CR_ERR_WITNESS_REFUSED, reason in `why`) when our log
 * is behind it or it refuses a consistency proof from its size;
 * witness_clients_run then starts one thread that sends each new checkpoint to each witness at most
 * once a second and stores the cosignatures in audit_cosignatures.
 */
cr_err witness_clients_parse(const char *const *specs, size_t n,
			     struct witness_client **out) CR_MUST_CHECK;
cr_err witness_clients_start(struct witness_client *c, struct app *a,
			     char *why, size_t cap) CR_MUST_CHECK;
/* Starts the sending thread: only once the store lock is in place (the
 * HTTP server is started), since it shares the writer connection. */
cr_err witness_clients_run(struct witness_client *c) CR_MUST_CHECK;
/* Stops and joins the thread (before the server stops); accepts NULL. */
void witness_clients_halt(struct witness_client *c);
void witness_clients_stop(struct witness_client *c); /* halts, frees; accepts NULL */

/* The migration that holds cosignatures (cleanroom/store.c). */
extern const char witness_schema_v1[];
/* The latest stored checkpoint with its stored cosignature lines appended
 * (a valid signed note; handed over). */
cr_err witness_cosigned_checkpoint(struct app *a, char **out) CR_MUST_CHECK;

#endif
