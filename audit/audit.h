/*
 * audit.h: the tamper-evident audit log (docs/spec/audit-log.md).
 *
 * An RFC 6962 / RFC 9162 Merkle tree of canonical, versioned leaves, kept in
 * the project's SQLite database, with C2SP signed-note checkpoints
 * (c2sp.org/tlog-checkpoint), inclusion proofs exported in the
 * c2sp.org/tlog-proof@v1 shape, and an offline verifier that needs only the
 * log's verifier key.
 *
 * Layers, bottom up (each one usable without the ones above it):
 *  - hashing and proof verification: pure functions (merkle.c);
 *  - signed notes, verifier keys and the signer interface (note.c);
 *  - checkpoint bodies (checkpoint.c) and tlog-proof texts (proof.c);
 *  - leaf encoding (leaf.c);
 *  - the stored log: append, checkpoint, proofs, search, erasure (log.c,
 *    query.c) and full verification of a database (verify.c).
 *
 * audit/ never signs with crypto/: the caller hands it a struct
 * audit_signer (name, public key, sign callback), so the verifier side needs
 * no key material at all. audit/ never opens the database either: the caller
 * runs audit_schema_v1 in its migrations and lends a sqlite3 handle.
 *
 * Ownership: pointer parameters are borrowed unless a comment says the
 * result is handed over; everything handed over has a matching _free or is
 * released with free(). Free functions accept NULL. Out-parameters are
 * written only on success.
 */
#ifndef CR_AUDIT_H
#define CR_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <sqlite3.h>

#include "common/common.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_PROOF_MAX 64          /* ceil(log2 n) + 1 for any n < 2^63 */
#define AUDIT_LEAF_MAX 65536        /* a leaf is at most 64 KiB */
#define AUDIT_KEY_NAME_MAX 255
#define AUDIT_ORIGIN_MAX 255
#define AUDIT_NOTE_MAX (256 * 1024) /* room for 16+ post-quantum signatures */
#define AUDIT_NOTE_SIGS_MAX 64      /* the signed-note spec asks for >= 16 */
#define AUDIT_MSG_MAX 256           /* size of a "why" message buffer */
#define AUDIT_SIZE_MAX (UINT64_C(1) << 48) /* the log refuses to grow past this */

/* ================================================= hashing and proofs */

/* A Merkle audit path: n hashes, leaf side first (RFC 9162 §2.1.3, §2.1.4). */
struct audit_proof {
	size_t n;
	uint8_t hash[AUDIT_PROOF_MAX][AUDIT_HASH_BYTES];
};

/* SHA-256(0x00 || leaf): the hash of one leaf's bytes. */
void audit_hash_leaf(const uint8_t *leaf, size_t len,
		     uint8_t out[static AUDIT_HASH_BYTES]);
/* SHA-256(0x01 || left || right): the hash of an interior node. */
void audit_hash_children(const uint8_t left[static AUDIT_HASH_BYTES],
			 const uint8_t right[static AUDIT_HASH_BYTES],
			 uint8_t out[static AUDIT_HASH_BYTES]);
/* SHA-256(""): the root of the empty tree. */
void audit_hash_empty(uint8_t out[static AUDIT_HASH_BYTES]);
/* The RFC 6962 Merkle tree hash of n items of item_len bytes each (the
 * empty hash for none): one 32-byte root committing to a list. */
void audit_list_root(const uint8_t *items, size_t n, size_t item_len,
		     uint8_t root[static AUDIT_HASH_BYTES]);

/* Number of hashes in the inclusion proof of `index` in a tree of `size`
 * (0 when index >= size). */
size_t audit_inclusion_proof_len(uint64_t index, uint64_t size);
/* Number of hashes in the consistency proof from size1 to size2
 * (0 unless 0 < size1 < size2). */
size_t audit_consistency_proof_len(uint64_t size1, uint64_t size2);

/*
 * Verifies that `leaf_hash` is entry `index` of the tree of `size` leaves
 * whose root is `root`, by the algorithm of RFC 9162 §2.1.3.2.
 * CR_ERR_AUDIT_PROOF_RANGE if index >= size; CR_ERR_AUDIT_PROOF_LENGTH if
 * the proof does not have exactly audit_inclusion_proof_len() hashes;
 * CR_ERR_AUDIT_PROOF_ROOT if the walk does not end at `root`.
 */
cr_err audit_verify_inclusion(uint64_t index, uint64_t size,
			      const uint8_t leaf_hash[static AUDIT_HASH_BYTES],
			      const struct audit_proof *proof,
			      const uint8_t root[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;

/*
 * Verifies that the tree of size1 leaves with root1 is a prefix of the tree
 * of size2 leaves with root2, by RFC 9162 §2.1.4.2. The RFC defines proofs
 * for 0 < size1 < size2 only; in addition size1 == size2 > 0 is accepted
 * with an empty proof and equal roots. CR_ERR_AUDIT_PROOF_RANGE for
 * size1 == 0 or size1 > size2 (an empty tree is trivially a prefix of any
 * tree: callers that need that say so themselves);
 * CR_ERR_AUDIT_PROOF_LENGTH for a proof of the wrong length;
 * CR_ERR_AUDIT_PROOF_ROOT when either root is not reproduced.
 */
cr_err audit_verify_consistency(uint64_t size1, uint64_t size2,
				const struct audit_proof *proof,
				const uint8_t root1[static AUDIT_HASH_BYTES],
				const uint8_t root2[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;

/* ============================================ signer, keys, signed notes */

/*
 * What the log signs with. cleanroom/ wires this to the service key
 * (crypto_keyring_sign); tests use audit_signer_from_seed(). `sign` writes
 * the 64-byte Ed25519 signature of (msg, len) made with the key whose public
 * half is `public_key`. `name` and `ctx` are borrowed by whoever holds the
 * struct; `name` is the signed-note key name.
 */
struct audit_signer {
	const char *name;
	uint8_t public_key[32];
	cr_err (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]);
	void *ctx;
};

/*
 * Makes a signer from a raw 32-byte Ed25519 seed. The secret key lives in
 * sodium_malloc'd memory owned by the result; the seed is not kept.
 * CR_ERR_AUDIT_KEY_NAME for an invalid name. *out is handed over; release
 * with audit_signer_free (which wipes the key).
 */
cr_err audit_signer_from_seed(const char *name, const uint8_t seed[static 32],
			      struct audit_signer **out) CR_MUST_CHECK;
void audit_signer_free(struct audit_signer *s);

/* A public Ed25519 note-verifier key. */
struct audit_verifier {
	char name[AUDIT_KEY_NAME_MAX + 1];
	uint32_t key_id;
	uint8_t public_key[32];
};

/* Strict decimal (no sign, no leading zero unless "0", 1-20 digits), at most
 * `max`: the sizes of checkpoints, proofs and witness requests. CR_ERR_PARSE. */
cr_err audit_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out) CR_MUST_CHECK;

/* Key id = first 4 bytes (big endian) of SHA-256(name || 0x0A || 0x01 || pk). */
uint32_t audit_key_id(const char *name, size_t name_len, const uint8_t public_key[static 32]);

/* CR_OK if `name` may be a key name: 1-255 bytes of UTF-8 with no Unicode
 * space, no '+' and no control character; CR_ERR_AUDIT_KEY_NAME otherwise. */
cr_err audit_key_name_check(const char *name, size_t len) CR_MUST_CHECK;

/*
 * Parses "<name>+<hex key id>+<base64(0x01 || public key)>". Refuses other
 * algorithms, a key id that does not match name and key, and any extra
 * byte (CR_ERR_AUDIT_KEY_MALFORMED, CR_ERR_AUDIT_KEY_NAME).
 */
cr_err audit_verifier_parse(const char *text, size_t len,
			    struct audit_verifier *out) CR_MUST_CHECK;
/* The verifier of a signer (its name and public key). */
cr_err audit_verifier_from_signer(const struct audit_signer *s,
				  struct audit_verifier *out) CR_MUST_CHECK;
/* The verifier key text, NUL-terminated; *out is handed over (free()). */
cr_err audit_verifier_format(const struct audit_verifier *v, char **out) CR_MUST_CHECK;

/*
 * Signs `text` as a C2SP signed note: text, an empty line, then
 * "— <name> <base64(key id || signature)>\n". The text must be non-empty
 * valid UTF-8 ending in a newline with no control character but newline
 * (CR_ERR_AUDIT_NOTE_MALFORMED). The signature is checked against the
 * signer's public key before the note is returned (CR_ERR_AUDIT_SIGN if the
 * callback fails or signs with another key). *note_out (NUL-terminated,
 * *note_len bytes without the NUL) is handed over (free()).
 */
cr_err audit_note_sign(const struct audit_signer *s, const char *text, size_t len,
		       char **note_out, size_t *note_len) CR_MUST_CHECK;

/*
 * Verifies a signed note against the known keys `keys[0..n_keys)`.
 * Signatures from unknown keys (name and key id not both matching) are
 * ignored; a signature from a known key that fails rejects the whole note
 * (CR_ERR_AUDIT_NOTE_BAD_SIG); no verified known signature is
 * CR_ERR_AUDIT_NOTE_UNVERIFIED; anything not in the format, over
 * AUDIT_NOTE_MAX bytes or AUDIT_NOTE_SIGS_MAX signatures is
 * CR_ERR_AUDIT_NOTE_MALFORMED. On success *text_len is the length of the
 * signed text, which is note[0 .. *text_len) (it ends in '\n').
 */
cr_err audit_note_verify(const struct audit_verifier *keys, size_t n_keys,
			 const char *note, size_t len, size_t *text_len) CR_MUST_CHECK;

/* ========================================= cosignatures (tlog-cosignature) */

/*
 * c2sp.org/tlog-cosignature v1, Ed25519 type. A cosignature is a note
 * signature line on a checkpoint:
 *
 *     — <witness name> base64(key id (4) || timestamp (8, big endian) || sig (64))
 *
 * where the key id is the first 4 bytes of SHA-256(name || 0x0A || 0x04 ||
 * public key) and sig is the Ed25519 signature over
 * "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint's whole
 * note text (body with any extension lines, ending in '\n'). A witness's
 * verifier key text is "<name>+<hex key id>+<base64(0x04 || public key)>".
 * The plain note verifier (audit_note_verify) ignores these lines, since
 * their key ids use algorithm byte 0x04, so a cosigned checkpoint stays a
 * valid checkpoint for a verifier that knows nothing of witnesses.
 * A struct audit_verifier holding a cosigner key has key_id computed with
 * 0x04; a struct audit_signer is used as is (its sign callback signs).
 */
#define AUDIT_COSIG_ALG 0x04
#define AUDIT_COSIG_TIME_MAX ((UINT64_C(1) << 63) - 1)

uint32_t audit_cosig_key_id(const char *name, size_t name_len,
			    const uint8_t public_key[static 32]);
/* Parses a witness verifier key text (0x04 keys only; CR_ERR_AUDIT_KEY_*). */
cr_err audit_cosig_verifier_parse(const char *text, size_t len,
				  struct audit_verifier *out) CR_MUST_CHECK;
/* The witness verifier of a signer (key id with 0x04). */
cr_err audit_cosig_verifier_from_signer(const struct audit_signer *s,
					struct audit_verifier *out) CR_MUST_CHECK;
/* The witness verifier key text, NUL-terminated; handed over (free()). */
cr_err audit_cosig_verifier_format(const struct audit_verifier *v, char **out) CR_MUST_CHECK;
/*
 * Cosigns the note text `text` (a checkpoint body, ending in '\n') at
 * `timestamp` (POSIX seconds, at most 2^63 - 1): *line_out is the signature
 * line with its newline, NUL-terminated, handed over (free()). The
 * signature is checked against the signer's public key before it is
 * returned (CR_ERR_AUDIT_SIGN).
 */
cr_err audit_cosig_sign(const struct audit_signer *s, uint64_t timestamp,
			const char *text, size_t len, char **line_out) CR_MUST_CHECK;
/*
 * Looks in the signed note `note` for a cosignature by witness `w` (name
 * and 0x04 key id both matching) and verifies it over the note's text.
 * CR_ERR_AUDIT_NOTE_MALFORMED for a note that does not split; 
 * CR_ERR_AUDIT_COSIG_MISSING when no line matches; CR_ERR_AUDIT_COSIG_BAD
 * when a matching line does not verify (wrong length, time over 2^63 - 1,
 * signature). On success *timestamp (may be NULL) is its time. The log's
 * own signature is not checked here: callers open the checkpoint first.
 */
cr_err audit_cosig_verify(const struct audit_verifier *w, const char *note, size_t len,
			  uint64_t *timestamp) CR_MUST_CHECK;

/* ========================================================== checkpoints */

/*
 * The extension line each checkpoint after the first carries:
 * "previous <size of the checkpoint signed before it>", so that full
 * verification notices a deleted checkpoint row.
 */
#define AUDIT_PREVIOUS_EXT "previous"

/* A tree head: c2sp.org/tlog-checkpoint body "<origin>\n<size>\n<b64 root>\n". */
struct audit_checkpoint {
	char origin[AUDIT_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[AUDIT_HASH_BYTES];
};

/*
 * Formats the checkpoint body (no extension lines). The origin must be
 * 1-255 bytes of UTF-8 with no control character
 * (CR_ERR_AUDIT_CHECKPOINT_MALFORMED). *out (NUL-terminated, *out_len
 * bytes) is handed over (free()).
 */
cr_err audit_checkpoint_format(const struct audit_checkpoint *c, char **out,
			       size_t *out_len) CR_MUST_CHECK;
/*
 * Parses a checkpoint body: origin, decimal size with no leading zero, a
 * base64 32-byte root, then optional non-empty extension lines, which are
 * ignored. CR_ERR_AUDIT_CHECKPOINT_MALFORMED otherwise.
 */
cr_err audit_checkpoint_parse(const char *text, size_t len,
			      struct audit_checkpoint *out) CR_MUST_CHECK;
/*
 * Verifies a signed checkpoint note with `v` and parses its body. With
 * `origin` non-NULL the body's origin must equal it (CR_ERR_AUDIT_ORIGIN).
 */
cr_err audit_checkpoint_open(const struct audit_verifier *v, const char *note,
			     size_t len, const char *origin,
			     struct audit_checkpoint *out) CR_MUST_CHECK;

/* ========================================================== tlog-proofs */

/*
 * A c2sp.org/tlog-proof@v1 text:
 *
 *     c2sp.org/tlog-proof@v1
 *     extra <base64 leaf bytes>
 *     index <N>
 *     <base64 hash>          (the inclusion proof, zero or more lines)
 *     <empty line>
 *     <signed checkpoint note, verbatim>
 *
 * How the leaf travels: the spec's optional "extra" line carries opaque
 * data "necessary to reconstruct the record hash"; this log puts the whole
 * leaf there, so one file lets an officer check both that the entry is in
 * the log and what it says. The extra data is not trusted as such: it is
 * accepted only because SHA-256(0x00 || extra) verifies against the signed
 * root. A verifier may also be given the leaf separately (then the two must
 * be identical if both are present).
 */
struct audit_tlog_proof {
	uint64_t index;
	uint8_t *extra;           /* owned; NULL when the line is absent */
	size_t extra_len;
	struct audit_proof proof;
	char *checkpoint;         /* owned: the signed note, NUL-terminated */
	size_t checkpoint_len;
};

#define AUDIT_TLOG_PROOF_MAX (AUDIT_NOTE_MAX + 4 * AUDIT_LEAF_MAX)

/* Formats a tlog-proof; *out (NUL-terminated) is handed over (free()). */
cr_err audit_tlog_proof_format(const struct audit_tlog_proof *p, char **out,
			       size_t *out_len) CR_MUST_CHECK;
/*
 * Parses a tlog-proof text strictly (CR_ERR_AUDIT_TLOG_PROOF_MALFORMED);
 * the checkpoint is kept as text, not verified. *out is handed over;
 * release with audit_tlog_proof_free.
 */
cr_err audit_tlog_proof_parse(const char *text, size_t len,
			      struct audit_tlog_proof **out) CR_MUST_CHECK;
void audit_tlog_proof_free(struct audit_tlog_proof *p);

/* What an offline check established. */
struct audit_proof_check {
	uint64_t index;
	struct audit_checkpoint checkpoint;  /* the signed tree head it is proven in */
};

/*
 * The offline verifier a compliance officer runs (no database): parses the
 * verifier key text, parses the proof, verifies the checkpoint signature,
 * takes the leaf from `leaf` (may be NULL) or from the extra line, checks the
 * inclusion proof against the signed root, and checks the leaf decodes with
 * its sequence field equal to the index. Returns CR_OK or the exact failure
 * (CR_ERR_AUDIT_KEY_*, _TLOG_PROOF_MALFORMED, _NOTE_*, _CHECKPOINT_MALFORMED,
 * _ORIGIN when the checkpoint's origin is not `origin` (NULL: the
 * verifier key's name, the log's origin by convention), _LEAF_MISSING,
 * _LEAF_MISMATCH, _PROOF_RANGE, _PROOF_LENGTH, _PROOF_ROOT, _LEAF_*), with a
 * one-line reason in `why` (may be NULL).
 */
cr_err audit_tlog_proof_verify(const char *vkey, size_t vkey_len,
			       const char *proof, size_t proof_len,
			       const uint8_t *leaf, size_t leaf_len,
			       const char *origin, struct audit_proof_check *out,
			       char *why, size_t why_cap) CR_MUST_CHECK;

/* =============================================================== leaves */

#define AUDIT_LEAF_VERSION 1
#define AUDIT_LIST_MAX 32           /* purposes, recipients */
#define AUDIT_TEXT_MAX 255          /* each short text field */
#define AUDIT_CODE_MAX 64           /* each purpose / recipient code */
#define AUDIT_DETAIL_MAX 4096

/*
 * One log entry's fields. Encoding (all integers big endian):
 *   u8  version (1)          u64 sequence (= index)   u64 time_ms (>= 0)
 *   8 x str8: event_type, actor_role, actor_id, tenant, dataset,
 *             collaboration, session, notice
 *   u8 count, count x str8: purposes; then the same for recipients
 *   u8 0 | u8 1 + 32 bytes: subject commitment SHA-256(salt || pseudonym)
 *   u16 length + bytes: detail
 * where str8 is a u8 length then that many bytes. Rules, which the encoder
 * and the decoder both enforce so the bytes are a function of the fields:
 * event_type and actor_role are 1-64 of [a-z0-9._-]; the other texts are
 * 0-255 bytes of UTF-8 with no control character; codes are 1-64 such bytes,
 * at most 32 per list, strictly increasing (sorted, no duplicates); detail is
 * 0-4096 such bytes. No personal data goes in a leaf: subjects appear only
 * as the salted commitment (I5, docs/spec/invariants.md).
 * Strings are NUL-terminated; NULL reads as "" when encoding.
 */
struct audit_leaf {
	uint64_t sequence;
	cr_time_ms time_ms;
	const char *event_type;
	const char *actor_role;
	const char *actor_id;
	const char *tenant;
	const char *dataset;
	const char *collaboration;
	const char *session;
	const char *notice;
	const char *const *purposes;
	size_t n_purposes;
	const char *const *recipients;
	size_t n_recipients;
	bool has_subject;
	uint8_t subject_commit[AUDIT_HASH_BYTES];
	const char *detail;
};

/* Encodes `leaf`; CR_ERR_AUDIT_FIELD names no field but refuses any rule
 * broken. *out is handed over (free()). */
cr_err audit_leaf_encode(const struct audit_leaf *leaf, uint8_t **out,
			 size_t *out_len) CR_MUST_CHECK;
/*
 * Decodes leaf bytes into one allocation (strings point inside it).
 * CR_ERR_AUDIT_LEAF_TOO_LARGE over 64 KiB, CR_ERR_AUDIT_LEAF_VERSION for a
 * version other than 1, CR_ERR_AUDIT_LEAF_MALFORMED for truncation, trailing
 * bytes or a bad flag, CR_ERR_AUDIT_FIELD for a field breaking a rule.
 * *out is handed over; release with audit_leaf_free.
 */
cr_err audit_leaf_decode(const uint8_t *bytes, size_t len,
			 struct audit_leaf **out) CR_MUST_CHECK;
void audit_leaf_free(struct audit_leaf *leaf);

/* ============================================================ the log */

/*
 * The DDL cleanroom/ runs in its migrations. Tables:
 *   audit_leaves(idx, time_ms, type, tenant, actor, data)   the tree's leaves
 *   audit_hashes(id, hash)     complete-subtree hashes, in the dense "stored
 *                              hash index" order of Go's sumdb/tlog
 *   audit_checkpoints(size, time_ms, note)   every signed checkpoint
 *   audit_salts(id, pseudonym, salt)         one row per subject; deletable
 *   audit_subjects(subject, idx)             subject index (subject = salt
 *                                            row id), deletable
 */
extern const char audit_schema_v1[];

/* What an append records; the log adds sequence, commitment and salt. */
struct audit_entry {
	cr_time_ms time_ms;          /* <= 0: now */
	const char *event_type;      /* required, e.g. "consent.withdraw" */
	const char *actor_role;      /* required, e.g. "brand", "system" */
	const char *actor_id;
	const char *tenant;
	const char *dataset;
	const char *collaboration;
	const char *session;
	const char *notice;
	const char *const *purposes;
	size_t n_purposes;
	const char *const *recipients;
	size_t n_recipients;
	const uint8_t *subject;      /* NULL, or the 32-byte subject pseudonym */
	const char *detail;
};

/*
 * A handle on the log stored in `db` (borrowed; must outlive the handle).
 * The handle keeps no tree state between calls (only prepared statements
 * and a pool of fresh random salts): every call re-reads what it needs
 * (O(log n) rows), so when the caller's transaction rolls back there is
 * nothing to reload. Reads that belong together (a proof, the start-up
 * check) run in one read transaction when the caller has none open. Not
 * thread-safe: use it from the connection's one thread.
 */
struct audit_log;

/*
 * Opens the log named `origin` (the checkpoint origin line) and runs the
 * start-up check (spec: refuse to start on a mismatch): the latest stored
 * checkpoint must carry origin `origin` and a valid signature by `signer`'s
 * key, the log must hold at least that many leaves, and the root recomputed
 * from the stored subtree hashes at that size must equal the signed root.
 * On failure returns CR_ERR_AUDIT_STARTUP with the reason in `why` (may be
 * NULL). `signer` may be NULL for a read-only handle (queries and proofs):
 * then the signature is not checked and append/checkpoint return
 * CR_ERR_AUDIT_READ_ONLY. `signer` is borrowed and must outlive the handle.
 * *out is handed over; release with audit_log_free.
 */
cr_err audit_log_open(sqlite3 *db, const char *origin,
		      const struct audit_signer *signer, struct audit_log **out,
		      char *why, size_t why_cap) CR_MUST_CHECK;
void audit_log_free(struct audit_log *log);

/* The number of leaves stored (committed or in the open transaction). */
cr_err audit_log_size(struct audit_log *log, uint64_t *size) CR_MUST_CHECK;

/*
 * Appends one entry. Must run inside a transaction the caller opened
 * (CR_ERR_AUDIT_NO_TXN otherwise), the same one that holds the state change
 * the entry records (I5, docs/spec/invariants.md); the index is acknowledged to anyone only
 * after the caller's COMMIT returns. Encodes the leaf with sequence = index,
 * time, and for a subject the commitment SHA-256(salt || pseudonym), where
 * salt is the pseudonym's stored random 32-byte salt (created on first use);
 * writes the leaf, its subject index row and the 1 + (trailing one bits of
 * index) new subtree hashes. Every field is checked before anything is
 * written, so a refused entry (CR_ERR_AUDIT_FIELD, _LEAF_TOO_LARGE,
 * _NO_TXN, _READ_ONLY, _FULL) leaves the transaction as it was. Any other
 * error is a storage error after partial writes: roll the transaction back
 * (I5 requires that anyway: the state change must not commit without its
 * leaf). *index_out (may be NULL) is the new entry's index.
 */
cr_err audit_log_append(struct audit_log *log, const struct audit_entry *e,
			uint64_t *index_out) CR_MUST_CHECK;

/*
 * Signs and stores a checkpoint of the current size, inside the caller's
 * transaction, ending a batch (group commit: the caller's transaction holds
 * up to N appends, then this, then COMMIT). Before signing it checks the
 * new tree against the latest stored checkpoint: the stored hashes must
 * reproduce that checkpoint's root and a consistency proof from it to the
 * new root must verify; otherwise CR_ERR_AUDIT_INCONSISTENT and nothing is
 * signed (I6). If the size did not change, returns the latest note again.
 * *note_out (NUL-terminated) is handed over (free()); publish it only after
 * COMMIT returns. note_out may be NULL.
 */
cr_err audit_log_checkpoint(struct audit_log *log, char **note_out) CR_MUST_CHECK;

/* The latest stored signed checkpoint (handed over, free());
 * CR_ERR_AUDIT_NO_CHECKPOINT if there is none. */
cr_err audit_log_latest_checkpoint(struct audit_log *log, char **note_out) CR_MUST_CHECK;

/* The bytes of leaf `index` (handed over, free()); CR_ERR_AUDIT_NOT_FOUND. */
cr_err audit_log_leaf(struct audit_log *log, uint64_t index, uint8_t **bytes,
		      size_t *len) CR_MUST_CHECK;

/* The root of the first `size` leaves (size <= audit_log_size). */
cr_err audit_log_root(struct audit_log *log, uint64_t size,
		      uint8_t root[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;
/* The inclusion proof of `index` in the tree of the first `size` leaves,
 * from stored hashes (O(log n) reads). CR_ERR_AUDIT_PROOF_RANGE. */
cr_err audit_log_prove_inclusion(struct audit_log *log, uint64_t index,
				 uint64_t size, struct audit_proof *out) CR_MUST_CHECK;
/* The consistency proof from size1 to size2 (0 < size1 <= size2 <= size). */
cr_err audit_log_prove_consistency(struct audit_log *log, uint64_t size1,
				   uint64_t size2, struct audit_proof *out) CR_MUST_CHECK;

/*
 * The tlog-proof of entry `index` against the latest signed checkpoint,
 * with the leaf in the extra line. CR_ERR_AUDIT_NO_CHECKPOINT when no
 * checkpoint covers the entry yet. *out (NUL-terminated) is handed over.
 */
cr_err audit_log_tlog_proof(struct audit_log *log, uint64_t index, char **out,
			    size_t *out_len) CR_MUST_CHECK;

/*
 * Erasure: deletes the pseudonym's salt and its subject index rows, inside
 * the caller's transaction. Leaves, hashes and every proof stay valid; the
 * subject can no longer be found, nor linked to its commitments.
 * *rows_out (may be NULL) is the number of index rows deleted.
 */
cr_err audit_subject_erase(struct audit_log *log, const uint8_t pseudonym[static 32],
			   uint64_t *rows_out) CR_MUST_CHECK;

/*
 * The subject commitment SHA-256(salt || pseudonym) under the pseudonym's
 * erasable salt (created on first use, as an append would), without an
 * index row: for a leaf that commits to many subjects at once (an ingest
 * batch, through audit_list_root). Inside the caller's transaction
 * (CR_ERR_AUDIT_NO_TXN), on a handle that can append (_READ_ONLY). Once
 * audit_subject_erase deletes the salt, nobody can tie the commitment to
 * the pseudonym again.
 */
cr_err audit_subject_commitment(struct audit_log *log, const uint8_t pseudonym[static 32],
				uint8_t commit[static AUDIT_HASH_BYTES]) CR_MUST_CHECK;

/* ============================================================== search */

/* Filters (all optional, ANDed), newest first, one page at a time. */
struct audit_query {
	const char *tenant;          /* NULL: any */
	const char *event_type;      /* NULL: any */
	const char *actor_id;        /* NULL: any */
	const uint8_t *subject;      /* NULL, or a 32-byte pseudonym (subject index) */
	cr_time_ms since;            /* > 0: time_ms >= since */
	cr_time_ms until;            /* > 0: time_ms < until */
	bool has_before;             /* page cursor: only entries with index < before */
	uint64_t before;
	size_t limit;                /* 1..1000 */
};

struct audit_record {
	uint64_t index;
	uint8_t *bytes;              /* owned: the leaf */
	size_t len;
	struct audit_leaf *leaf;     /* owned: decoded */
};

struct audit_page {
	struct audit_record *records; /* owned, newest first */
	size_t n;
	bool more;                   /* another page exists */
	uint64_t next_before;        /* pass as `before` for the next page */
};

/* Runs a query; CR_ERR_AUDIT_QUERY for a bad limit. Release the page with
 * audit_page_release. A leaf that no longer decodes is CR_ERR_AUDIT_VERIFY. */
cr_err audit_log_query(struct audit_log *log, const struct audit_query *q,
		       struct audit_page *out) CR_MUST_CHECK;
void audit_page_release(struct audit_page *p);

/*
 * The stored signed checkpoints, newest (largest size) first: at most
 * `limit` (1..1000) of them, only those of size < `before` when `before`
 * is not 0. `fn` sees each one's size, signing time and note (borrowed for
 * the call); *more says whether older ones remain. CR_ERR_AUDIT_QUERY for
 * a bad limit. For the audit console's checkpoint history.
 */
typedef void (*audit_checkpoint_fn)(void *ctx, uint64_t size, cr_time_ms time_ms,
				    const char *note, size_t len);
cr_err audit_log_checkpoints(struct audit_log *log, uint64_t before, size_t limit,
			     audit_checkpoint_fn fn, void *ctx, bool *more) CR_MUST_CHECK;

/* ======================================================= verification */

struct audit_verify_report {
	uint64_t size;                  /* leaves checked */
	uint8_t root[AUDIT_HASH_BYTES]; /* root recomputed from the leaves */
	uint64_t hashes;                /* stored hashes checked */
	uint64_t checkpoints;           /* stored checkpoints checked */
	uint64_t latest_checkpoint;     /* size of the latest one (0: none) */
	bool saved_checked;             /* the saved checkpoint was consistent */
	char problem[AUDIT_MSG_MAX];    /* the first failure; "" when all holds */
};

/*
 * Writes the log in `src` as an officer takes it away: a new SQLite file at
 * `dest_path` (refused if it exists: CR_ERR_STORE) with the leaves, stored
 * hashes and checkpoints of one read snapshot, and no salt and no subject
 * index (those link commitments to pseudonyms). audit_log_verify runs on it
 * as on the original. Counts in *out.
 */
struct audit_export_report {
	uint64_t leaves, hashes, checkpoints;
};
cr_err audit_log_export(sqlite3 *src, const char *dest_path,
			struct audit_export_report *out) CR_MUST_CHECK;

/*
 * Full verification of the log in `db` (what `cleanroom audit verify`
 * runs): every stored checkpoint must verify with `v`, carry `origin` (NULL:
 * the first checkpoint's origin) and have a strictly larger size than the
 * one before; every leaf must exist (indices 0..n-1), decode, carry its index
 * as sequence and match its indexed columns; every stored hash must equal
 * the one recomputed from the leaves, and no extra hash row may exist;
 * every checkpoint's root must equal the root recomputed from the leaves at
 * its size and be consistent with the next one (consistency proof); and
 * `saved` (a checkpoint note an officer kept; may be NULL) must verify with
 * `v` and be consistent with the current log. Everything is read in one
 * read transaction (opened here if the caller has none), so a writer may
 * keep appending meanwhile; leaf hashing and decoding use one worker thread
 * beside the caller's. Returns CR_OK when all holds,
 * CR_ERR_AUDIT_VERIFY with the first failure in out->problem (for example
 * "leaf 17: stored hash does not match its content"), or a store error.
 */
cr_err audit_log_verify(sqlite3 *db, const char *origin,
			const struct audit_verifier *v, const char *saved,
			size_t saved_len, struct audit_verify_report *out) CR_MUST_CHECK;

#endif /* CR_AUDIT_H */
