/*
 * common.h: the project-wide foundation every other folder builds on.
 *
 * It holds the one error enum (with a message and an HTTP status for every
 * code), hex and base64 codecs (thin wrappers over libsodium's constant-time
 * codecs), UTC time parsing and formatting (RFC 3339 in, integer milliseconds
 * stored), and a bounds-checked byte cursor that every parser reads through.
 *
 * Nothing here knows about keys, consent, audit or the store.
 */
#ifndef CR_COMMON_H
#define CR_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CR_MUST_CHECK __attribute__((warn_unused_result))

/* ---------------------------------------------------------------- errors */

/*
 * One enum for the whole project. Each folder owns a block of values and
 * lists its codes in common/errors/<folder>.def; values are never renumbered.
 */
typedef enum cr_err {
	CR_OK = 0,
#define CR_ERROR(name, value, status, message) name = value,
#include "common/errors/common.def"
#include "common/errors/crypto.def"
#include "common/errors/audit.def"
#include "common/errors/consent.def"
#include "common/errors/cleanroom.def"
#undef CR_ERROR
} cr_err;

/* The lowercase message for `e`; "unknown error" for a value not in the enum. */
const char *cr_strerror(cr_err e);
/* The stable symbolic name ("CR_ERR_PARSE"); "CR_ERR_UNKNOWN" if not listed. */
const char *cr_errname(cr_err e);
/* The HTTP status an API answer uses for `e` (200 for CR_OK, 500 if unknown). */
int cr_err_http_status(cr_err e);
/*
 * Iterates over every defined code: writes the i-th code to *out and returns
 * true, or returns false when i is past the end. Used by tests and docs.
 */
bool cr_err_at(size_t i, cr_err *out);
/*
 * The stable code string an API answer carries for `e`: its symbolic name
 * without "CR_ERR_", lowercased ("auth_missing"). Writes buf[cap], returns buf.
 */
const char *cr_errcode(cr_err e, char *buf, size_t cap);
/* The error whose cr_errcode is `code` (never CR_OK): true and *out, or false. */
bool cr_errcode_parse(const char *code, cr_err *out) CR_MUST_CHECK;

/* ----------------------------------------------------------- hex, base64 */

/*
 * Lowercase hex of (bin, bin_len) into `hex`, which must hold 2*bin_len+1
 * bytes. Returns CR_ERR_TOO_LARGE if hex_cap is too small.
 */
cr_err cr_hex_encode(const uint8_t *bin, size_t bin_len, char *hex,
		     size_t hex_cap) CR_MUST_CHECK;
/*
 * Decodes exactly `bin_len` bytes from a hex string of exactly 2*bin_len
 * characters (either case). Anything else is CR_ERR_ENCODING.
 * Writes `bin` only on success.
 */
cr_err cr_hex_decode_exact(const char *hex, size_t hex_len, uint8_t *bin,
			   size_t bin_len) CR_MUST_CHECK;

/* Standard base64 with padding (RFC 4648 §4), as signed notes use. */
size_t cr_base64_encoded_len(size_t bin_len); /* includes the NUL */
cr_err cr_base64_encode(const uint8_t *bin, size_t bin_len, char *out,
			size_t out_cap) CR_MUST_CHECK;
/*
 * Decodes padded standard base64 of (b64, b64_len) into (bin, bin_cap);
 * writes the decoded length to *bin_len. Rejects whitespace, bad padding and
 * trailing garbage with CR_ERR_ENCODING; CR_ERR_TOO_LARGE if bin_cap is short.
 */
cr_err cr_base64_decode(const char *b64, size_t b64_len, uint8_t *bin,
			size_t bin_cap, size_t *bin_len) CR_MUST_CHECK;
/*
 * True if every byte of (s, len) is in the base64 alphabet: standard
 * (A-Z a-z 0-9 + / and '=') or, with `urlsafe`, URL-safe without padding
 * (A-Z a-z 0-9 - _). Checked before libsodium decodes, whose 1.0.18
 * decoder reads every byte from 0x80 to 0xff as '/' (or '_'), so a text
 * would otherwise have many spellings. Takes the same time whatever the
 * bytes (tokens pass through it).
 */
bool cr_base64_alphabet_ok(const char *s, size_t len, bool urlsafe);

/* ------------------------------------------------------------------ time */

/* Milliseconds since 1970-01-01T00:00:00Z. */
typedef int64_t cr_time_ms;

/*
 * Parses an RFC 3339 date-time with a mandatory offset ("Z" or "+08:00"),
 * optional fractional seconds (kept to the millisecond, extra digits
 * truncated). Range: years 1970..9999. Leap second 60 is refused.
 * Writes *out (UTC ms) only on success; otherwise CR_ERR_TIME_FORMAT.
 */
cr_err cr_time_parse(const char *s, size_t len, cr_time_ms *out) CR_MUST_CHECK;

#define CR_TIME_STRLEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */
/* Formats `t` as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf[CR_TIME_STRLEN]. */
cr_err cr_time_format(cr_time_ms t, char buf[static CR_TIME_STRLEN]) CR_MUST_CHECK;
/* Midnight UTC starting the proleptic Gregorian date y-m-d, in ms. */
cr_time_ms cr_time_from_civil(int64_t y, int m, int d);
/* The current UTC time in ms (CLOCK_REALTIME). */
cr_time_ms cr_time_now(void);
/* Monotonic milliseconds for measuring durations (CLOCK_MONOTONIC). */
int64_t cr_monotonic_ms(void);

/* ---------------------------------------------------------------- cursor */

/*
 * A read cursor over borrowed bytes. Every read checks the remaining length
 * first and fails with CR_ERR_TRUNCATED without moving; a length field read
 * from input is never trusted beyond what remains.
 */
struct cr_cursor {
	const uint8_t *p;  /* borrowed */
	size_t len;
	size_t pos;
};

void cr_cursor_init(struct cr_cursor *c, const uint8_t *p, size_t len);
size_t cr_cursor_remaining(const struct cr_cursor *c);
cr_err cr_cursor_u8(struct cr_cursor *c, uint8_t *out) CR_MUST_CHECK;
cr_err cr_cursor_u16be(struct cr_cursor *c, uint16_t *out) CR_MUST_CHECK;
cr_err cr_cursor_u32be(struct cr_cursor *c, uint32_t *out) CR_MUST_CHECK;
cr_err cr_cursor_u64be(struct cr_cursor *c, uint64_t *out) CR_MUST_CHECK;
/* Copies n bytes into out. */
cr_err cr_cursor_bytes(struct cr_cursor *c, uint8_t *out, size_t n) CR_MUST_CHECK;
/* Points *out at the next n bytes (borrowed from the cursor's buffer). */
cr_err cr_cursor_view(struct cr_cursor *c, size_t n, const uint8_t **out) CR_MUST_CHECK;
/*
 * Points *out at the bytes up to (not including) the next `delim` and moves
 * past the delimiter. CR_ERR_TRUNCATED if no delimiter remains.
 */
cr_err cr_cursor_until(struct cr_cursor *c, uint8_t delim, const uint8_t **out,
		       size_t *out_len) CR_MUST_CHECK;
/* CR_OK if the cursor is at its end, CR_ERR_TRAILING otherwise. */
cr_err cr_cursor_expect_end(const struct cr_cursor *c) CR_MUST_CHECK;

/* ------------------------------------------------------- small utilities */

/*
 * Parses a whole decimal string (no sign, no spaces, no leading '+') into
 * [min, max]. CR_ERR_PARSE for non-digits, CR_ERR_OVERFLOW out of range.
 */
cr_err cr_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) CR_MUST_CHECK;
/* True if (s, len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool cr_utf8_valid(const uint8_t *s, size_t len);

/* Aborts the process with a message; for allocation failure and misuse. */
_Noreturn void cr_die(const char *what);
/* malloc/calloc/realloc/strdup that abort on failure (fail fast, docs/style.md). */
void *cr_xmalloc(size_t n);
void *cr_xcalloc(size_t n, size_t size);
void *cr_xrealloc(void *p, size_t n);
char *cr_xstrdup(const char *s);

#endif /* CR_COMMON_H */
