/*
 * progress.c: the progress line (see progress.h).
 */
#include <stdio.h>
#include <unistd.h>

#include "common/common.h"
#include "cleanroom/progress.h"

bool progress_wanted(bool json)
{
	return !json && isatty(STDERR_FILENO);
}

void progress_init(struct progress *p, bool on, const char *label, const char *unit)
{
	p->on = on;
	p->label = label;
	p->unit = unit;
	p->start_ms = cr_monotonic_ms();
	p->last_ms = 0;
	p->drawn = false;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total,
		     uint64_t frac_num, uint64_t frac_den)
{
	int64_t now = cr_monotonic_ms();
	double secs, rate, frac = 0.0;
	char eta[32] = "";

	if (!p->on || now - p->last_ms < 250)
		return;
	p->last_ms = now;
	secs = (double)(now - p->start_ms) / 1000.0;
	rate = secs > 0 ? (double)done / secs : 0.0;
	if (total > 0)
		frac = (double)done / (double)total;
	else if (frac_den > 0)
		frac = (double)frac_num / (double)frac_den;
	if (frac > 0.0 && frac < 1.0) {
		long left = (long)(secs / frac - secs + 0.5);
		snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", left / 60, left % 60);
	}
	if (total > 0)
		fprintf(stderr, "\r%s: %llu/%llu %s (%.0f/s%s)   ", p->label, (unsigned long long)done,
			(unsigned long long)total, p->unit, rate, eta);
	else
		fprintf(stderr, "\r%s: %llu %s (%.0f/s%s)   ", p->label, (unsigned long long)done,
			p->unit, rate, eta);
	p->drawn = true;
}

void progress_finish(struct progress *p)
{
	if (p->on && p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}
