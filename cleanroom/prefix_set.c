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

/* Finds the slot of `key`, or the empty slot where it would go. */
static uint8_t *pset_slot(struct prefix_set *s, const uint8_t *key)
{
	uint8_t h8[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(h8, key, PREFIX_BYTES, s->key);
	memcpy(&h, h8, sizeof(h));
	for (size_t i = (size_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		uint8_t *slot = s->slots + i * PREFIX_BYTES;
		s->probes++;
		if (is_zero16(slot) || memcmp(slot, key, PREFIX_BYTES) == 0)
			return slot;
	}
}

bool pset_add(struct prefix_set *s, const uint8_t *key)
{
	uint8_t *slot;
	if (is_zero16(key)) {
		bool fresh = !s->has_zero;
		s->has_zero = true;
		return fresh;
	}
	slot = pset_slot(s, key);
	if (!is_zero16(slot))
		return false;
	memcpy(slot, key, PREFIX_BYTES);
	return true;
}

bool pset_has(struct prefix_set *s, const uint8_t *key)
{
	s->lookups++;
	if (is_zero16(key))
		return s->has_zero;
	return !is_zero16(pset_slot(s, key));
}
