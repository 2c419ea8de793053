/*
 * progress.h: the one progress indicator of the CLI (internal to cleanroom/).
 * A single line on stderr, redrawn at most four times a second: count,
 * rate and, when the total is known, an ETA. Silent unless enabled, and
 * callers enable it only when stderr is a terminal and --json is not given.
 */
#ifndef CR_CLEANROOM_PROGRESS_H
#define CR_CLEANROOM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool on;
	const char *label;   /* borrowed */
	const char *unit;    /* borrowed, e.g. "rows" */
	int64_t start_ms, last_ms;
	bool drawn;
};

/* True when a progress line should be shown: stderr is a tty and not json. */
bool progress_wanted(bool json);

void progress_init(struct progress *p, bool on, const char *label, const char *unit);
/*
 * Redraws the line with `done` of `total` units, or, when total is 0, with
 * `frac_num`/`frac_den` (e.g. bytes read of the file size) as the fraction
 * done for the ETA; both 0 means no ETA.
 */
void progress_update(struct progress *p, uint64_t done, uint64_t total,
		     uint64_t frac_num, uint64_t frac_den);
/* Ends the line (if one was drawn). */
void progress_finish(struct progress *p);

#endif
