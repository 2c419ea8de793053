/*
 * bench_child.h: running the real binary from a benchmark and taking its
 * whole-process figures (wall time, peak RSS, user and system CPU) from
 * wait4. Shared by the benchmarks that drive `cleanroom` as a user would.
 */
#ifndef CR_BENCH_CHILD_H
#define CR_BENCH_CHILD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

struct bench_child {
	int64_t wall_ms;
	long rss_kib;          /* peak resident set */
	double user_s, sys_s;  /* CPU time of the child */
};

#define BENCH_ARGV(...) ((char *const[]){ (char *)"cleanroom", __VA_ARGS__, NULL })

/*
 * Runs `binary` with argv (stdout to out_path, or discarded; stderr
 * discarded) and fills *out if not NULL. Returns the exit status, -1 if it
 * could not run or did not exit.
 */
static inline int bench_child_run(const char *binary, char *const argv[], const char *out_path,
				  struct bench_child *out)
{
	struct rusage ru;
	int status = 0;
	int64_t t0 = cr_monotonic_ms();
	pid_t pid;
	fflush(stdout); /* or the child's exit would print our buffer again */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (freopen(out_path ? out_path : "/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execv(binary, argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	if (out) {
		out->wall_ms = cr_monotonic_ms() - t0;
		out->rss_kib = ru.ru_maxrss;
		out->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
		out->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * The brand every benchmark sets up in `data`: init, brand "acme", the
 * synthetic notice (synth's notice.json) published on 2026-01-01 and an
 * impact assessment covering both of its purposes. 0 on success.
 */
static inline int bench_brand(const char *binary, const char *data, const char *notice)
{
	return bench_child_run(binary, BENCH_ARGV("init", "--data", (char *)data), NULL, NULL) != 0 ||
	       bench_child_run(binary, BENCH_ARGV("brand", "create", "acme", "--data", (char *)data), NULL,
			       NULL) != 0 ||
	       bench_child_run(binary,
			       BENCH_ARGV("notice", "publish", "--brand", "acme", "--published-at",
					  "2026-01-01T00:00:00Z", (char *)notice, "--data", (char *)data),
			       NULL, NULL) != 0 ||
	       bench_child_run(binary,
			       BENCH_ARGV("pia", "add", "--brand", "acme", "--ref", "PIA-1", "--covers",
					  "ads_measurement,audience_insights", "--data", (char *)data),
			       NULL, NULL) != 0;
}

/* The columns of synth's customers.csv, as a dataset declares them. */
#define BENCH_COLUMNS                                                    \
	"segment:enum(a|b|c),region:enum(north|south|east|west|central)," \
	"age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)"

/* Dataset `name` of acme over synth's customers, for both purposes and
 * partner-1, in PSI suite `suite`; its wall ms in *ms if wanted. */
static inline int bench_dataset(const char *binary, const char *data, const char *name, const char *suite,
				int64_t *ms)
{
	struct bench_child c = { 0 };
	int rc = bench_child_run(binary,
				 BENCH_ARGV("dataset", "create", "--brand", "acme", "--name", (char *)name,
					    "--purposes", "ads_measurement,audience_insights", "--recipients",
					    "partner-1", "--id-type", "email", "--columns", BENCH_COLUMNS, "--suite",
					    (char *)suite, "--data", (char *)data),
				 NULL, &c);
	if (ms)
		*ms = c.wall_ms;
	return rc;
}

/* bench_child_run's wall ms and peak RSS (KiB), each if wanted. */
static inline int bench_run(const char *binary, char *const argv[], int64_t *ms, long *rss_kib,
			    const char *out_path)
{
	struct bench_child c = { 0 };
	int rc = bench_child_run(binary, argv, out_path, &c);
	if (ms)
		*ms = c.wall_ms;
	if (rss_kib)
		*rss_kib = c.rss_kib;
	return rc;
}

#endif
