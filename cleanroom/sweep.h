/*
 * sweep.h: removing records whose consent no longer holds (internal to
 * cleanroom/). Withdrawals purge at once (I3); expiries (R14) and other
 * time-driven changes have no event to react to, so a sweep re-applies the
 * ingest gate to every stored record and deletes those it now denies, one
 * audited transaction per dataset. `cleanroom sweep` runs it, and so does
 * the service periodically.
 */
#ifndef CR_CLEANROOM_SWEEP_H
#define CR_CLEANROOM_SWEEP_H

#include "cleanroom/app.h"

struct sweep_report {
	uint64_t datasets, checked, removed;
};

/* Sweeps every dataset of `brand` (or of every brand when brand <= 0). */
cr_err sweep_run(struct app *a, int64_t brand, cr_time_ms at, struct sweep_report *out) CR_MUST_CHECK;

#endif
