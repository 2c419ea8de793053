/*
 * app_lock.c: the data directory's lock. `serve` holds an exclusive flock
 * on DATA/serve.lock while it runs, and `restore` takes the same lock, so a
 * restore never swaps the database under a running server (which would go
 * on writing to the file it had open, now unlinked) and a server cannot
 * start half-way through a restore. The kernel drops the lock when its
 * holder exits, however it exits, so a crash never leaves it stale. A
 * separate file, not the database: closing any descriptor of the database
 * would drop SQLite's own POSIX locks on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanroom/app.h"

#define LOCK_FILE "serve.lock"

cr_err app_dir_lock(const char *data_dir, int *fd_out)
{
	char *path = app_path(data_dir, LOCK_FILE);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	cr_err rc = CR_OK;

	free(path);
	if (fd < 0)
		return CR_ERR_DATA_DIR;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? CR_ERR_DATA_DIR_BUSY : CR_ERR_DATA_DIR;
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return CR_OK;
}

void app_dir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
