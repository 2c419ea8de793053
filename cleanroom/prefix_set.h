/*
 * prefix_set.h: a set of 16-byte element prefixes for a match session
 * (internal to cleanroom/; prefix_set.c).
 *
 * Open addressing, slotted by SipHash-2-4 of the prefix under a random key
 * drawn for each set, so a partner who chooses the elements (its A′ in the
 * answer round) cannot aim them at one slot and make every insertion scan
 * the whole table (issue 21 item 1). An all-zero slot is empty; the
 * all-zero prefix is kept in a flag. The slots are wiped when freed.
 */
#ifndef CR_CLEANROOM_PREFIX_SET_H
#define CR_CLEANROOM_PREFIX_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define PREFIX_BYTES 16

struct prefix_set {
	uint8_t *slots;   /* cap x 16 */
	size_t cap;       /* a power of two, at least twice the elements */
	bool has_zero;
	uint8_t key[crypto_shorthash_KEYBYTES]; /* the slots' hash key, random per set */
	uint64_t probes;  /* slots looked at, for tests */
	uint64_t lookups; /* pset_has calls (psi_session_work) */
};

/* An empty set with room for n prefixes. */
void pset_init(struct prefix_set *s, size_t n);
/* Wipes and frees; the set is empty and unusable until pset_init. */
void pset_wipe(struct prefix_set *s);
/* Adds the first 16 bytes of `key`; false if they were there already (a duplicate). */
bool pset_add(struct prefix_set *s, const uint8_t *key);
/* True if the first 16 bytes of `key` are in the set. */
bool pset_has(struct prefix_set *s, const uint8_t *key);
/* pset_add of keys[i * stride] for i < n in order, stopping at the first
 * already there: returns its i, or n if none was. */
size_t pset_add_many(struct prefix_set *s, const uint8_t *keys, size_t stride, size_t n);
/* out[i] = pset_has(keys[i * stride]) for i < n. */
void pset_has_many(struct prefix_set *s, const uint8_t *keys, size_t stride, size_t n, uint8_t *out);

#endif
