/*
 * app_tip.c: the latest signed checkpoint, kept outside the database
 * (issue 19, rollback). A database rolled back (its last rows deleted, its
 * WAL cut after a commit, an older copy restored) is a consistent, shorter
 * log that the start-up check accepts; the file DATA/audit-tip remembers
 * what was signed, so app_open, `audit verify` and every verb refuse a
 * database that is behind it or differs from it.
 *
 * The file has two 4 KiB slots. Each commit that signed a new checkpoint
 * writes the note into the slot that does not hold the newest one, then
 * fdatasyncs: a crash mid-write tears only that slot, and the other still
 * holds the previous checkpoint, which the committed database is never
 * behind. A slot counts only if its note verifies with the log's key and
 * names the log's origin; the newest valid one is the tip.
 *
 * The file is written after the database's COMMIT, so it may lag the
 * database by one commit, never lead it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cleanroom/app.h"

#define TIP_FILE "audit-tip"
#define TIP_SLOT 4096

/* The newest valid slot of the open file, if any. */
static cr_err tip_read(int fd, const struct audit_verifier *v, const char *origin, struct app_tip *out)
{
	char buf[TIP_SLOT + 1];
	memset(out, 0, sizeof(*out));
	for (unsigned slot = 0; slot < 2; slot++) {
		struct audit_checkpoint cp;
		ssize_t n = pread(fd, buf, TIP_SLOT, (off_t)slot * TIP_SLOT);
		if (n < 0)
			return CR_ERR_IO;
		buf[n] = '\0';
		if (audit_checkpoint_open(v, buf, strlen(buf), origin, &cp) != CR_OK)
			continue;
		if (!out->found || cp.size > out->cp.size) {
			out->found = true;
			out->cp = cp;
			out->slot = slot;
			snprintf(out->note, sizeof(out->note), "%s", buf);
		}
	}
	return CR_OK;
}

cr_err app_tip_load(const char *data_dir, const struct audit_verifier *v, const char *origin,
		    struct app_tip *out)
{
	char *path = app_path(data_dir, TIP_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	cr_err rc;
	free(path);
	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return errno == ENOENT ? CR_OK : CR_ERR_IO;
	out->exists = true;
	rc = tip_read(fd, v, origin, out);
	out->exists = true;
	close(fd);
	return rc;
}

cr_err app_tip_compare(struct audit_log *log, const struct app_tip *tip, char *why, size_t cap)
{
	uint64_t size = 0;
	uint8_t root[AUDIT_HASH_BYTES];
	cr_err rc;
	if (!tip->exists || !tip->found) {
		snprintf(why, cap, "the signed checkpoint kept outside the database (%s) is %s", TIP_FILE,
			 tip->exists ? "unreadable: no slot holds a checkpoint of this log" : "missing");
		return CR_ERR_AUDIT_ROLLBACK;
	}
	rc = audit_log_size(log, &size);
	if (rc != CR_OK)
		return rc;
	if (size < tip->cp.size) {
		snprintf(why, cap,
			 "the database holds %llu entries, but a checkpoint of %llu entries was signed and kept "
			 "outside it (%s): it was rolled back or restored from an older copy",
			 (unsigned long long)size, (unsigned long long)tip->cp.size, TIP_FILE);
		return CR_ERR_AUDIT_ROLLBACK;
	}
	rc = audit_log_root(log, tip->cp.size, root);
	if (rc != CR_OK)
		return rc;
	if (sodium_memcmp(root, tip->cp.root, AUDIT_HASH_BYTES) != 0) {
		snprintf(why, cap,
			 "the database's first %llu entries differ from the checkpoint of that size kept outside "
			 "it (%s): its history was replaced", (unsigned long long)tip->cp.size, TIP_FILE);
		return CR_ERR_AUDIT_ROLLBACK;
	}
	return CR_OK;
}

cr_err app_tip_open(struct app *a, bool check, char *why, size_t cap)
{
	char *path = app_path(a->data_dir, TIP_FILE);
	struct audit_verifier v;
	struct app_tip tip;
	cr_err rc = audit_verifier_from_signer(&a->signer, &v);
	if (rc == CR_OK)
		rc = app_tip_load(a->data_dir, &v, a->origin, &tip);
	if (rc == CR_OK && check)
		rc = app_tip_compare(a->log, &tip, why, cap);
	if (rc == CR_OK) {
		/* Opened now if it exists, created by the first save otherwise. */
		a->tip_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (a->tip_fd < 0 && errno != ENOENT)
			rc = CR_ERR_IO;
		a->tip_size = tip.found ? tip.cp.size : 0;
		a->tip_slot = tip.found ? tip.slot : 1; /* the next write goes to the other one */
	}
	free(path);
	return rc;
}

cr_err app_tip_save(struct app *a, const char *note)
{
	struct audit_checkpoint cp;
	char slot[TIP_SLOT];
	size_t len = note ? strlen(note) : 0;
	const char *body_end = note ? strstr(note, "\n\n") : NULL;
	unsigned next;
	if (!a->has_tip || note == NULL)
		return CR_OK;
	/* The note was signed by this process a moment ago: its size is all
	 * the save needs, so the body is parsed, not the signature checked
	 * again (a reader checks it, tip_read). */
	if (len >= TIP_SLOT || body_end == NULL ||
	    audit_checkpoint_parse(note, (size_t)(body_end - note) + 1, &cp) != CR_OK)
		return CR_ERR_INTERNAL;
	if (cp.size <= a->tip_size)
		return CR_OK;
	if (a->tip_fd < 0) {
		char *path = app_path(a->data_dir, TIP_FILE);
		int dir = open(a->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		a->tip_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		free(path);
		if (a->tip_fd >= 0 && dir >= 0)
			(void)fsync(dir); /* the new file's name is durable too */
		if (dir >= 0)
			close(dir);
		if (a->tip_fd < 0)
			return CR_ERR_IO;
	}
	next = a->tip_slot ^ 1u;
	memset(slot, 0, sizeof(slot));
	memcpy(slot, note, len);
	if (pwrite(a->tip_fd, slot, sizeof(slot), (off_t)next * TIP_SLOT) != (ssize_t)sizeof(slot) ||
	    fdatasync(a->tip_fd) != 0)
		return CR_ERR_IO;
	a->tip_slot = next;
	a->tip_size = cp.size;
	return CR_OK;
}

void app_tip_after_commit(struct app *a, char *note)
{
	cr_err rc = app_tip_save(a, note);
	if (rc != CR_OK) /* the database holds the commit; the tip lags one checkpoint behind, which is safe */
		fprintf(stderr, "cleanroom: warning: cannot write the audit tip file: %s\n", cr_strerror(rc));
	free(note);
}

cr_err app_tip_accept(struct app *a, struct app_rollback *out)
{
	struct audit_verifier v;
	struct app_tip tip;
	char detail[160], root[65] = "";
	struct audit_entry e = { .event_type = "audit.rollback", .actor_role = "admin", .actor_id = "cli",
				 .detail = detail };
	cr_err rc = audit_verifier_from_signer(&a->signer, &v);
	memset(out, 0, sizeof(*out));
	if (rc == CR_OK)
		rc = app_tip_load(a->data_dir, &v, a->origin, &tip);
	if (rc == CR_OK)
		rc = audit_log_size(a->log, &out->entries);
	if (rc != CR_OK)
		return rc;
	rc = app_tip_compare(a->log, &tip, out->why, sizeof(out->why));
	if (rc != CR_ERR_AUDIT_ROLLBACK)
		return rc; /* CR_OK: nothing to accept */
	out->needed = true;
	out->tip_found = tip.found;
	out->signed_size = tip.found ? tip.cp.size : 0;
	if (tip.found) {
		if (cr_hex_encode(tip.cp.root, AUDIT_HASH_BYTES, root, sizeof(root)) != CR_OK)
			return CR_ERR_INTERNAL;
		snprintf(detail, sizeof(detail), "entries=%llu signed_size=%llu signed_root=%s",
			 (unsigned long long)out->entries, (unsigned long long)out->signed_size, root);
	} else {
		snprintf(detail, sizeof(detail), "entries=%llu tip=%s", (unsigned long long)out->entries,
			 tip.exists ? "unreadable" : "missing");
	}
	rc = app_begin(a);
	if (rc == CR_OK)
		rc = app_audit(a, &e, &out->index);
	if (rc == CR_OK)
		rc = app_tip_pad_past(a, out->signed_size, &out->gap);
	return app_end(a, rc);
}

cr_err app_tip_pad_past(struct app *a, uint64_t signed_size, uint64_t *gap)
{
	uint64_t size = 0;
	cr_err rc = audit_log_size(a->log, &size);
	/* Past every size signed before: the next checkpoint's size is new. */
	for (*gap = 0; rc == CR_OK && size <= signed_size; size++) {
		struct audit_entry e = { .event_type = "audit.rollback_gap", .actor_role = "admin",
					 .actor_id = "cli" };
		rc = app_audit(a, &e, NULL);
		(*gap)++;
	}
	return rc;
}

cr_err app_tip_reset(const char *data_dir)
{
	struct app *a = NULL;
	char *note = NULL;
	cr_err rc = app_open_accepting_rollback(data_dir, &a);
	if (rc == CR_OK)
		rc = audit_log_latest_checkpoint(a->log, &note);
	if (rc == CR_OK)
		rc = app_tip_save(a, note);
	free(note);
	app_close(a);
	return rc;
}
