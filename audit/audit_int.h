/*
 * audit_int.h: declarations shared by the files of audit/ (and their unit
 * tests), not part of the folder's public interface.
 *
 * - Proof generation over any store of complete-subtree hashes, reached
 *   through a reader callback: SQLite in log.c, an in-memory array in the
 *   property tests, the running frontier in verify.c.
 * - The dense stored-hash index that places subtree hash (level, index) in
 *   audit_hashes.
 * - The struct behind struct audit_log and its statement helpers.
 * - Small text checks and a "why" message writer used by several files.
 */
#ifndef CR_AUDIT_INT_H
#define CR_AUDIT_INT_H

#include <stdarg.h>

#include "audit/audit.h"

/* ------------------------------------------------------------- merkle */

/*
 * Reads the hash of the complete subtree of 2^level leaves starting at leaf
 * index << level. Returns CR_OK, or an error that aborts the computation.
 */
typedef cr_err (*merkle_reader)(void *ctx, unsigned level, uint64_t index,
				uint8_t out[static AUDIT_HASH_BYTES]);

/* Receives each new complete-subtree hash an append creates, level 0 first. */
typedef cr_err (*merkle_emitter)(void *ctx, unsigned level, uint64_t index,
				 const uint8_t hash[static AUDIT_HASH_BYTES]);

/* MTH(D[lo:hi]) for 0 <= lo < hi, reading complete subtrees where it can. */
cr_err merkle_range_hash(merkle_reader rd, void *ctx, uint64_t lo, uint64_t hi,
			 uint8_t out[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;
/* The root of the first `size` leaves (the empty hash for 0). */
cr_err merkle_root(merkle_reader rd, void *ctx, uint64_t size,
		   uint8_t out[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;
/* PATH(index, D[size]) of RFC 9162 §2.1.3.1. */
cr_err merkle_inclusion(merkle_reader rd, void *ctx, uint64_t index, uint64_t size,
			struct audit_proof *out) CR_MUST_CHECK;
/* PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1 (0 < size1 <= size2). */
cr_err merkle_consistency(merkle_reader rd, void *ctx, uint64_t size1, uint64_t size2,
			  struct audit_proof *out) CR_MUST_CHECK;
/*
 * Adds leaf number `size` (0-based: the tree had `size` leaves) with hash
 * `leaf_hash`: emits (0, size, leaf_hash) and then, for each trailing one
 * bit of `size`, the parent of the node just emitted and its left sibling.
 * Emission is in increasing level (and so increasing stored-hash id) order;
 * the sibling at a level is read before that level's node is emitted.
 */
cr_err merkle_append(merkle_reader rd, void *rctx, uint64_t size,
		     const uint8_t leaf_hash[static AUDIT_HASH_BYTES],
		     merkle_emitter emit, void *ectx) CR_MUST_CHECK;

/*
 * Position of subtree hash (level, index) in the dense order of Go's
 * sumdb/tlog stored hash index: hashes are numbered in the order an
 * append-only writer creates them. With m = ((index + 1) << level) - 1, the
 * last leaf under the node, id = (2m - popcount(m)) + level.
 */
uint64_t audit_hash_id(unsigned level, uint64_t index);
/* The number of stored hashes of a tree of `size` leaves: 2n - popcount(n). */
uint64_t audit_hash_count(uint64_t size);

/* --------------------------------------------------------------- leaf */

/* Checks every field rule of audit_leaf_encode without encoding; on
 * success *size is the exact encoded length. */
cr_err audit_leaf_check(const struct audit_leaf *leaf, size_t *size) CR_MUST_CHECK;

/* --------------------------------------------------------------- text */

/* Valid UTF-8 with no C0 control, no DEL, and no '\n' unless allowed. */
bool audit_text_ok(const uint8_t *s, size_t len, bool newline_ok);
/* Writes a formatted one-line reason into why[0..cap) if why is non-NULL. */
void audit_why(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* cr_base64_decode, refusing any text that is not the canonical encoding
 * of what it decodes to (CR_ERR_ENCODING). */
cr_err audit_base64_decode(const char *b64, size_t len, uint8_t *bin, size_t cap,
			   size_t *out_len) CR_MUST_CHECK;
/* Key id = the first 4 bytes (big endian) of SHA-256(name || 0x0A || alg ||
 * key): signed-note keys (alg 0x01) and cosigner keys (alg 0x04). */
uint32_t audit_key_id_alg(const char *name, size_t name_len, uint8_t alg, const uint8_t public_key[static 32]);

/* ---------------------------------------------------------------- log */

enum log_stmt {
	ST_SIZE,
	ST_LEAF_INSERT,
	ST_LEAF_GET,
	ST_HASH_INSERT,
	ST_HASH_GET,
	ST_SALT_GET,
	ST_SALT_INSERT,
	ST_SUBJECT_INSERT,
	ST_CP_LATEST,
	ST_CP_INSERT,
	ST_SALT_DELETE,
	ST_SUBJECT_DELETE,
	ST_COUNT
};

struct audit_log {
	sqlite3 *db;                        /* borrowed */
	const struct audit_signer *signer;  /* borrowed; NULL: read-only */
	struct audit_verifier verifier;     /* the signer's, when there is one */
	char origin[AUDIT_ORIGIN_MAX + 1];
	sqlite3_stmt *st[ST_COUNT];         /* owned, prepared lazily */
	/* Random salts drawn 64 at a time (one getrandom call, not one per new
	 * subject); a salt handed out is wiped from here at once. */
	uint8_t salt_pool[64][32];
	size_t salt_left;
};

/* The prepared statement `which`, reset and with bindings cleared. */
cr_err log_stmt(struct audit_log *log, enum log_stmt which, sqlite3_stmt **out) CR_MUST_CHECK;
/* merkle_reader over audit_hashes; ctx is the struct audit_log. */
cr_err log_hash_reader(void *ctx, unsigned level, uint64_t index,
		       uint8_t out[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;
/* Splits a signed note without verifying it: *text_len as in
 * audit_note_verify. CR_ERR_AUDIT_NOTE_MALFORMED if there is no empty line. */
cr_err audit_note_text(const char *note, size_t len, size_t *text_len) CR_MUST_CHECK;
/* Maps a SQLite result code to CR_ERR_AUDIT (or busy/nomem). */
cr_err log_sqlite_err(int rc);
/*
 * Runs reads that belong together in one read transaction when the caller
 * has none open: one consistent snapshot, and one lock acquisition instead
 * of one per statement. *began says whether read_end must end it.
 */
cr_err log_read_begin(sqlite3 *db, bool *began) CR_MUST_CHECK;
void log_read_end(sqlite3 *db, bool began);
/* The latest stored checkpoint note (handed over) and its size; *note NULL
 * and *size 0 when there is none. */
cr_err log_latest_checkpoint(struct audit_log *log, char **note, size_t *note_len,
			     uint64_t *size) CR_MUST_CHECK;

#endif /* CR_AUDIT_INT_H */
