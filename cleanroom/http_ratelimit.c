/*
 * http_ratelimit.c: per-token rate limits for the service. One token bucket
 * per token id in a fixed table (RATE_SLOTS), so a flood of distinct tokens
 * cannot grow memory: when the table is full, the slot used longest ago is
 * reused (its token starts again with a full bucket, which only errs on the
 * side of admitting). Buckets count in millitokens so integer arithmetic
 * refills smoothly; one mutex guards the table (a handful of arithmetic per
 * request).
 */
#include <pthread.h>
#include <stdlib.h>

#include "cleanroom/http.h"

#define RATE_SLOTS 1024

struct rate_slot {
	int64_t token_id;     /* 0: free */
	uint64_t milli;       /* tokens * 1000 in the bucket */
	uint64_t last_us;
};

struct http_ratelimit {
	pthread_mutex_t lock;
	uint64_t per_s, burst;
	struct rate_slot slots[RATE_SLOTS];
};

struct http_ratelimit *http_ratelimit_new(unsigned per_s, unsigned burst)
{
	struct http_ratelimit *rl = cr_xcalloc(1, sizeof(*rl));
	if (pthread_mutex_init(&rl->lock, NULL) != 0)
		cr_die("http: pthread_mutex_init");
	rl->per_s = per_s;
	rl->burst = burst ? burst : 1;
	return rl;
}

void http_ratelimit_free(struct http_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* The token's slot, or the free / least recently used one (reset to full). */
static struct rate_slot *slot_for(struct http_ratelimit *rl, int64_t token_id, uint64_t now_us)
{
	struct rate_slot *victim = &rl->slots[0];
	for (size_t i = 0; i < RATE_SLOTS; i++) {
		struct rate_slot *s = &rl->slots[i];
		if (s->token_id == token_id)
			return s;
		if (s->token_id == 0 || s->last_us < victim->last_us)
			victim = s;
		if (s->token_id == 0)
			break;
	}
	victim->token_id = token_id;
	victim->milli = rl->burst * 1000u;
	victim->last_us = now_us;
	return victim;
}

cr_err http_ratelimit_take(struct http_ratelimit *rl, int64_t token_id, uint64_t now_us,
			   unsigned *retry_after_s)
{
	struct rate_slot *s;
	cr_err rc = CR_OK;
	pthread_mutex_lock(&rl->lock);
	s = slot_for(rl, token_id, now_us);
	if (now_us > s->last_us) {
		/* per_s tokens a second = per_s millitokens a millisecond */
		uint64_t add = (now_us - s->last_us) / 1000u * rl->per_s;
		s->milli = s->milli + add > rl->burst * 1000u ? rl->burst * 1000u : s->milli + add;
		s->last_us = now_us - (now_us - s->last_us) % 1000u;
	}
	if (s->milli >= 1000u) {
		s->milli -= 1000u;
	} else {
		uint64_t wait_ms = (1000u - s->milli + rl->per_s - 1) / rl->per_s;
		*retry_after_s = (unsigned)((wait_ms + 999u) / 1000u);
		rc = CR_ERR_RATE_LIMITED;
	}
	pthread_mutex_unlock(&rl->lock);
	return rc;
}
