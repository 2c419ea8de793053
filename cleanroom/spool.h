/*
 * spool.h: unnamed 0600 files inside the data directory (internal to
 * cleanroom/). Uploads that a core function must read twice or stream
 * (ingestion reads its file twice, structure first) are spooled here as
 * they arrive, never held whole in memory; the file has no name, so it
 * vanishes when closed, even after a crash.
 */
#ifndef CR_CLEANROOM_SPOOL_H
#define CR_CLEANROOM_SPOOL_H

#include <stdio.h>

/* An empty O_TMPFILE in `dir`, opened "w+"; NULL on failure. Handed over (fclose). */
FILE *spool_open(const char *dir);

/* Rewinds a spool after writing: flushes and seeks to 0. 0 on success, -1 on an I/O error. */
int spool_rewind(FILE *f);

#endif
