/*
 * prefix_set.c: the match session's set of element prefixes (prefix_set.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "cleanroom/prefix_set.h"

void pset_init(struct prefix_set *s, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap <<= 1;
	s->slots = cr_xcalloc(cap, PREFIX_BYTES);
	s->cap = cap;
	s->has_zero = false;
	s->probes = 0;
	s->lookups = 0;
	crypto_shorthash_keygen(s->key);
}

void pset_wipe(struct prefix_set *s)
{
	if (s->slots) {
		sodium_memzero(s->slots, s->cap * PREFIX_BYTES);
		free(s->slots);
	}
	sodium_memzero(s, sizeof(*s));
}

static bool is_zero16(const uint8_t *p)
{
	uint64_t a, b;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	return (a | b) == 0;
}

static uint64_t pset_hash(const struct prefix_set *s, const uint8_t *key)
{
	uint8_t h8[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(h8, key, PREFIX_BYTES, s->key);
	memcpy(&h, h8, sizeof(h));
	return h;
}

/* Finds the slot of `key` (whose hash is h), or the empty slot where it would go. */
static uint8_t *pset_slot_at(struct prefix_set *s, const uint8_t *key, uint64_t h)
{
	for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		uint8_t *slot = s->slots + i * PREFIX_BYTES;
		s->probes++;
		if (is_zero16(slot) || memcmp(slot, key, PREFIX_BYTES) == 0)
			return slot;
	}
}

static bool add_hashed(struct prefix_set *s, const uint8_t *key, uint64_t h)
{
	uint8_t *slot;
	if (is_zero16(key)) {
		bool fresh = !s->has_zero;
		s->has_zero = true;
		return fresh;
	}
	slot = pset_slot_at(s, key, h);
	if (!is_zero16(slot))
		return false;
	memcpy(slot, key, PREFIX_BYTES);
	return true;
}

static bool has_hashed(struct prefix_set *s, const uint8_t *key, uint64_t h)
{
	s->lookups++;
	if (is_zero16(key))
		return s->has_zero;
	return !is_zero16(pset_slot_at(s, key, h));
}

bool pset_add(struct prefix_set *s, const uint8_t *key)
{
	return add_hashed(s, key, pset_hash(s, key));
}

bool pset_has(struct prefix_set *s, const uint8_t *key)
{
	return has_hashed(s, key, pset_hash(s, key));
}

/*
 * The many-key forms work a group at a time: hash the group's keys and
 * ask the memory for their first slots, then add or look each up in
 * order. A slot is a random place in a table of tens of megabytes, so a
 * lone look-up waits for memory; a group's loads overlap instead. The
 * results are those of the one-key calls in order.
 */
#define PSET_GROUP 16

static void group_hash(struct prefix_set *s, const uint8_t *keys, size_t stride, size_t n, uint64_t *h)
{
	for (size_t j = 0; j < n; j++) {
		h[j] = pset_hash(s, keys + j * stride);
		__builtin_prefetch(s->slots + ((size_t)h[j] & (s->cap - 1)) * PREFIX_BYTES, 1);
	}
}

size_t pset_add_many(struct prefix_set *s, const uint8_t *keys, size_t stride, size_t n)
{
	uint64_t h[PSET_GROUP];
	for (size_t i = 0; i < n; i += PSET_GROUP) {
		size_t m = n - i < PSET_GROUP ? n - i : PSET_GROUP;
		group_hash(s, keys + i * stride, stride, m, h);
		for (size_t j = 0; j < m; j++) {
			if (!add_hashed(s, keys + (i + j) * stride, h[j]))
				return i + j;
		}
	}
	return n;
}

void pset_has_many(struct prefix_set *s, const uint8_t *keys, size_t stride, size_t n, uint8_t *out)
{
	uint64_t h[PSET_GROUP];
	for (size_t i = 0; i < n; i += PSET_GROUP) {
		size_t m = n - i < PSET_GROUP ? n - i : PSET_GROUP;
		group_hash(s, keys + i * stride, stride, m, h);
		for (size_t j = 0; j < m; j++)
			out[i + j] = has_hashed(s, keys + (i + j) * stride, h[j]);
	}
}
