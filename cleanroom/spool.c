/*
 * spool.c: unnamed spool files in the data directory, shared by the CLI
 * (`ingest -`) and the service's uploads so both spool the same way: O_TMPFILE
 * with mode 0600 inside the 0700 data directory, close-on-exec.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cleanroom/spool.h"

FILE *spool_open(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
	if (f == NULL && fd >= 0)
		close(fd);
	return f;
}

int spool_rewind(FILE *f)
{
	if (ferror(f) || fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
		return -1;
	return 0;
}
