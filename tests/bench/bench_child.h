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

#endif
