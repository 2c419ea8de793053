/*
 * cli_audit_verify.c: the compliance officer's own checks, which must not
 * rest on the operator (I10):
 *
 *   audit export --out DIR     the log as the officer takes it away: DIR/log.db
 *                              (leaves, stored hashes, signed checkpoints and
 *                              the witnesses' cosignatures; no salt, no key)
 *                              and DIR/checkpoint (the latest one, with its
 *                              cosignature lines)
 *   audit verify --log DIR --key VKEY
 *                              checks an export on a machine with no data
 *                              directory and no key file: the verifier key is
 *                              the one the officer holds, so a log re-signed
 *                              with any other key fails
 *   audit verify [--key VKEY]  the same on a data directory, read-only and
 *                              without the start-up check (a broken log gets a
 *                              full report), and that the database is not
 *                              behind the checkpoint kept outside it
 *                              (DATA/audit-tip); without --key it checks
 *                              against the directory's own key and says so
 *   audit verify-proof         one tlog-proof, offline
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "cleanroom/app.h"
#include "cleanroom/cli.h"
#include "cleanroom/witness.h"

/* ---------------------------------------------------------------- export */

/* Writes `text` to DIR/name, a new file. */
static int write_new(const char *verb, const char *dir, const char *name, const char *text)
{
	char *path = app_path(dir, name);
	FILE *f = fopen(path, "wx");
	int rc = CLI_OK;
	if (f == NULL || fputs(text, f) < 0)
		rc = cli_fail(verb, "cannot write '%s'", path);
	if (f != NULL && fclose(f) != 0 && rc == CLI_OK)
		rc = cli_fail(verb, "cannot write '%s'", path);
	free(path);
	return rc;
}

/* The witnesses' cosignatures go with the export, so `verify --log DIR --witness WKEY` works offline. */
static cr_err export_cosignatures(sqlite3 *src, const char *dest, uint64_t *n)
{
	sqlite3 *dst = NULL;
	sqlite3_stmt *sel = NULL, *ins = NULL;
	cr_err rc = CR_ERR_STORE;
	int step;
	*n = 0;
	if (sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_exec(dst, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(dst, witness_schema_v1, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(src, "SELECT size, witness, line, time_s FROM audit_cosignatures", -1, &sel, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(dst, "INSERT INTO audit_cosignatures(size, witness, line, time_s) VALUES (?1, ?2, ?3, ?4)",
			       -1, &ins, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		for (int i = 0; i < 4; i++)
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(sel, i));
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ins);
		(*n)++;
	}
	if (step == SQLITE_DONE && sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		rc = CR_OK;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_close(dst);
	return rc;
}

int cli_audit_export(int argc, char **argv)
{
	const char *out = NULL;
	const struct cli_opt opts[] = {
		{ "out", &out, NULL, "a new directory to write the export into" },
		{ NULL, NULL, NULL, NULL },
	};
	struct audit_export_report rep;
	struct cli_args args;
	struct app *a = NULL;
	char *note = NULL, *db = NULL;
	uint64_t cosigs = 0;
	int rc;
	cr_err err;

	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom audit export --out DIR [--data DIR] [--json]\n\n"
			    "Writes the audit log as an officer takes it away: DIR/log.db holds the\n"
			    "leaves, stored hashes and signed checkpoints of one moment (no key, no\n"
			    "salt: nothing that links an entry to a person), DIR/checkpoint the latest\n"
			    "signed checkpoint. Check it anywhere with\n"
			    "  cleanroom audit verify --log DIR --key VKEY");
	if (out == NULL) {
		free(args.pos);
		return cli_usage_error("audit export", "--out DIR is required");
	}
	if (mkdir(out, 0700) != 0) {
		rc = cli_fail("audit export", "cannot create directory '%s': %s", out,
			      errno == EEXIST ? "it exists already" : strerror(errno));
		free(args.pos);
		return rc;
	}
	rc = cli_open_app("audit export", &args, &a);
	if (rc == CLI_OK) {
		db = app_path(out, "log.db");
		err = audit_log_export(a->store->db, db, &rep);
		if (err == CR_OK)
			err = export_cosignatures(a->store->db, db, &cosigs);
		if (err == CR_OK)
			err = witness_cosigned_checkpoint(a, &note);
		if (err != CR_OK)
			rc = cli_fail_rc("audit export", err);
	}
	if (rc == CLI_OK)
		rc = write_new("audit export", out, "checkpoint", note);
	if (rc == CLI_OK && args.json)
		printf("{\"dir\": \"%s\", \"leaves\": %llu, \"hashes\": %llu, \"checkpoints\": %llu, \"cosignatures\": %llu}\n",
		       out, (unsigned long long)rep.leaves, (unsigned long long)rep.hashes,
		       (unsigned long long)rep.checkpoints, (unsigned long long)cosigs);
	else if (rc == CLI_OK)
		printf("exported %llu entries, %llu stored hashes, %llu signed checkpoints and %llu witness "
		       "cosignatures to %s\ncheck it with: cleanroom audit verify --log %s --key VKEY [--witness WKEY]\n",
		       (unsigned long long)rep.leaves, (unsigned long long)rep.hashes,
		       (unsigned long long)rep.checkpoints, (unsigned long long)cosigs, out, out);
	free(note);
	free(db);
	free(args.pos);
	app_close(a);
	return rc;
}

/* ---------------------------------------------------------------- verify */

/* The data directory's own verifier (keys/sign.key), for a check without --key. */
static cr_err own_verifier(const char *data_dir, struct audit_verifier *v)
{
	char *keys = app_path(data_dir, "keys");
	struct crypto_keyring *kr = NULL;
	cr_err rc = crypto_keyring_open(keys, &kr);
	free(keys);
	if (rc != CR_OK)
		return rc;
	snprintf(v->name, sizeof(v->name), "%s", crypto_keyring_key_name(kr));
	memcpy(v->public_key, crypto_keyring_public_key(kr), 32);
	v->key_id = audit_key_id(v->name, strlen(v->name), v->public_key);
	crypto_keyring_free(kr);
	return CR_OK;
}

static void print_report(const struct audit_verify_report *rep, bool json)
{
	char root[65] = "";
	/* Entries past the latest signed checkpoint: nothing signed vouches
	 * for them yet, so deleting them would not be caught. */
	unsigned long long uncovered = (unsigned long long)(rep->size - rep->latest_checkpoint);
	if (cr_hex_encode(rep->root, 32, root, sizeof(root)) != CR_OK)
		root[0] = '\0';
	if (json) {
		printf("{\"ok\": true, \"leaves\": %llu, \"hashes\": %llu, \"checkpoints\": %llu,"
		       " \"latest_checkpoint\": %llu, \"uncovered\": %llu,"
		       " \"root\": \"%s\", \"saved_checkpoint_consistent\": %s}\n",
		       (unsigned long long)rep->size, (unsigned long long)rep->hashes,
		       (unsigned long long)rep->checkpoints, (unsigned long long)rep->latest_checkpoint, uncovered,
		       root, rep->saved_checked ? "true" : "false");
		return;
	}
	printf("audit log OK: %llu leaves, %llu stored hashes, %llu signed checkpoints, all consistent%s\nroot %s\n",
	       (unsigned long long)rep->size, (unsigned long long)rep->hashes, (unsigned long long)rep->checkpoints,
	       rep->saved_checked ? "; the saved checkpoint is a prefix of the log" : "", root);
	if (uncovered)
		printf("note: the newest %llu entries (from index %llu) are covered by no signed "
		       "checkpoint: nothing signed vouches for them yet\n",
		       uncovered, (unsigned long long)rep->latest_checkpoint);
}

/* Opens the database to check, read-only, with no start-up check. */
static int open_log(const char *verb, const char *path, sqlite3 **db)
{
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA query_only=ON; SELECT count(*) FROM audit_checkpoints", NULL, NULL, NULL) !=
		    SQLITE_OK)
		return cli_fail(verb, "cannot read an audit log in '%s'", path);
	return CLI_OK;
}

/*
 * A data directory's database must not be behind the checkpoint kept
 * outside it (app_tip.c): a rollback leaves a shorter log that is
 * consistent in itself, which only the tip file (or a witness) shows.
 */
static cr_err tip_check(sqlite3 *db, const char *data_dir, const struct audit_verifier *v, const char *origin,
			char *why, size_t cap)
{
	struct audit_log *log = NULL;
	struct app_tip tip;
	cr_err rc = app_tip_load(data_dir, v, origin, &tip);
	if (rc == CR_OK)
		rc = audit_log_open(db, origin, NULL, &log, why, cap);
	if (rc == CR_OK)
		rc = app_tip_compare(log, &tip, why, cap);
	audit_log_free(log);
	return rc;
}

/*
 * --witness WKEY: the log's latest checkpoint that carries a cosignature
 * by the witness must be one of its stored checkpoints (audit_log_verify
 * has just checked each against the leaves) and the cosignature must
 * verify over it; and a saved checkpoint (--checkpoint) that carries one
 * by the witness must carry a valid one. Exports (--log) carry the
 * cosignatures (audit export copies audit_cosignatures).
 */
static cr_err witness_check(sqlite3 *db, const struct audit_verifier *v, const char *origin,
			    const char *wkey, const char *saved, size_t saved_len, char *why, size_t cap)
{
	struct audit_verifier w;
	struct audit_checkpoint cp;
	sqlite3_stmt *st = NULL;
	cr_err rc = audit_cosig_verifier_parse(wkey, strlen(wkey), &w);
	if (rc != CR_OK) {
		snprintf(why, cap, "--witness is not a witness key (name+id+key, as 'witness init' prints it)");
		return rc;
	}
	if (saved != NULL && (rc = audit_cosig_verify(&w, saved, saved_len, NULL)) == CR_ERR_AUDIT_COSIG_BAD) {
		snprintf(why, cap, "the saved checkpoint's cosignature by witness %.100s does not verify", w.name);
		return rc;
	}
	rc = CR_ERR_AUDIT_COSIG_MISSING;
	if (sqlite3_prepare_v2(db, "SELECT k.note || c.line FROM audit_cosignatures c JOIN audit_checkpoints k "
				   "ON k.size = c.size WHERE c.witness = ? ORDER BY c.size DESC", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, w.name, -1, SQLITE_STATIC);
		/* the latest cosigned checkpoint only: an older valid one (a
		 * shared prefix) must not hide a bad one above it */
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *note = (const char *)sqlite3_column_text(st, 0);
			size_t len = (size_t)sqlite3_column_bytes(st, 0);
			if (audit_checkpoint_open(v, note, len, origin, &cp) == CR_OK &&
			    audit_cosig_verify(&w, note, len, NULL) == CR_OK)
				rc = CR_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc != CR_OK)
		snprintf(why, cap, "the latest checkpoint of this log cosigned by witness %.100s carries no valid cosignature by it", w.name);
	else
		printf("witness %s cosigned this log's checkpoint of %llu entries\n", w.name,
		       (unsigned long long)cp.size);
	return rc;
}

int cli_audit_verify(int argc, char **argv)
{
	const char *wkeys[16];
	int nw = cli_take_repeated(&argc, argv, "witness", wkeys, 16);
	const char *saved_path = NULL, *key = NULL, *log_dir = NULL, *origin = NULL;
	const struct cli_opt opts[] = {
		{ "key", &key, NULL, "the verifier key the officer holds (from 'audit key', kept apart)" },
		{ "log", &log_dir, NULL, "an exported log (audit export) instead of a data directory" },
		{ "checkpoint", &saved_path, NULL, "a checkpoint saved earlier, which the log must extend" },
		{ "origin", &origin, NULL, "the log's origin (default: the key's name, which names the log)" },
		{ NULL, NULL, NULL, NULL },
	};
	static const char verb[] = "audit verify";
	struct cli_args args;
	struct audit_verifier v;
	struct audit_verify_report rep;
	sqlite3 *db = NULL;
	char *saved = NULL, *path = NULL;
	size_t saved_len = 0;
	int rc = CLI_OK;
	cr_err err = CR_OK;

	if (nw < 0)
		return cli_usage_error(verb, "'--witness' takes a witness key (at most 16)");
	CLI_PARSE_OR_RETURN(argc, argv, opts, &args, 0,
			    "usage: cleanroom audit verify [--key VKEY] [--log DIR] [--checkpoint FILE] [--origin NAME]\n"
			    "                              [--witness WITNESS_KEY]... [--data DIR] [--json]\n\n"
			    "Checks every leaf, every stored hash, every checkpoint's signature by VKEY\n"
			    "and their mutual consistency, and that FILE (a checkpoint saved earlier) is\n"
			    "consistent with the log now. --log DIR checks an export (audit export) with no\n"
			    "data directory and no key file. Without --key it checks against the data\n"
			    "directory's own key, which an operator could have swapped: an officer passes\n"
			    "the key they hold. --witness (repeatable): a checkpoint of the log must carry\n"
			    "a valid cosignature by that witness (serve --witness stores them).\n"
			    "Exit 0 when all holds, 1 naming the first failure.");
	if (log_dir != NULL && key == NULL)
		rc = cli_usage_error(verb, "an exported log is checked with the key you hold: add --key VKEY");
	if (rc == CLI_OK && saved_path && cli_read_file(saved_path, AUDIT_NOTE_MAX, &saved, &saved_len) != CR_OK)
		rc = cli_fail(verb, "cannot read checkpoint file '%s'", saved_path);
	if (rc == CLI_OK && key != NULL && audit_verifier_parse(key, strlen(key), &v) != CR_OK)
		rc = cli_fail(verb, "--key is not a verifier key (name+id+key, as 'audit key' prints it)");
	if (rc == CLI_OK && key == NULL) {
		err = own_verifier(cli_data_dir(&args), &v);
		if (err != CR_OK)
			rc = cli_fail(verb, "cannot read the key of data directory '%s': %s", cli_data_dir(&args),
				      cr_strerror(err));
		else
			fprintf(stderr, "note: checked against this data directory's own key; an officer "
					"checks with the key they hold (--key VKEY)\n");
	}
	if (rc == CLI_OK) {
		path = app_path(log_dir ? log_dir : cli_data_dir(&args), log_dir ? "log.db" : "cleanroom.db");
		rc = open_log(verb, path, &db);
	}
	if (rc == CLI_OK) {
		char why[AUDIT_MSG_MAX] = "";
		err = audit_log_verify(db, origin ? origin : v.name, &v, saved, saved_len, &rep);
		if (err == CR_OK && log_dir == NULL &&
		    tip_check(db, cli_data_dir(&args), &v, origin ? origin : v.name, why, sizeof(why)) != CR_OK)
			rc = cli_fail(verb, "FAILED: %s", why);
		else if (err == CR_ERR_AUDIT_VERIFY)
			rc = cli_fail(verb, "FAILED: %s", rep.problem);
		else if (err != CR_OK)
			rc = cli_fail_rc(verb, err);
		for (int i = 0; rc == CLI_OK && i < nw; i++)
			if (witness_check(db, &v, origin ? origin : v.name, wkeys[i], saved, saved_len, why,
					  sizeof(why)) != CR_OK)
				rc = cli_fail(verb, "FAILED: %s", why);
		if (rc == CLI_OK)
			print_report(&rep, args.json);
	}
	sqlite3_close(db);
	free(path);
	free(saved);
	free(args.pos);
	return rc;
}

/* ---------------------------------------------------------- verify-proof */

/* Each --witness key must have a valid cosignature on the proof's checkpoint. */
static int proof_witnesses(const char *proof, size_t len, const char *const *wkeys, int nw)
{
	struct audit_tlog_proof *p = NULL;
	int rc = CLI_OK;
	if (nw > 0 && audit_tlog_proof_parse(proof, len, &p) != CR_OK)
		return cli_fail("audit verify-proof", "proof REJECTED: it does not parse");
	for (int i = 0; i < nw && rc == CLI_OK; i++) {
		struct audit_verifier w;
		uint64_t ts = 0;
		if (audit_cosig_verifier_parse(wkeys[i], strlen(wkeys[i]), &w) != CR_OK)
			rc = cli_usage_error("audit verify-proof", "--witness takes a witness key (as 'witness init' prints it)");
		else if (audit_cosig_verify(&w, p->checkpoint, p->checkpoint_len, &ts) != CR_OK)
			rc = cli_fail("audit verify-proof", "proof REJECTED: its checkpoint carries no valid cosignature by "
				      "witness %s", w.name);
		else
			printf("witness %s cosigned it at %llu (POSIX seconds)\n", w.name, (unsigned long long)ts);
	}
	audit_tlog_proof_free(p);
	return rc;
}

int cli_audit_verify_proof(int argc, char **argv)
{
	const char *key = NULL, *origin = NULL, *wkeys[16];
	const struct cli_opt opts[] = {
		{ "key", &key, NULL, "the log's verifier key text (from 'audit key')" },
		{ "origin", &origin, NULL, "the log's origin (default: the key's name, which names the log)" },
		{ NULL, NULL, NULL, NULL },
	};
	struct cli_args args;
	struct audit_proof_check chk;
	char *proof = NULL, why[AUDIT_MSG_MAX] = "";
	size_t len = 0;
	int nw = cli_take_repeated(&argc, argv, "witness", wkeys, 16);
	int prc = nw < 0 ? cli_usage_error("audit verify-proof", "'--witness' takes a witness key (at most 16)")
			 : cli_parse(argc, argv, opts,
			    "usage: cleanroom audit verify-proof --key VKEY [--origin NAME] [--witness WKEY]... FILE\n\n"
			    "Checks a tlog-proof (from 'audit prove') offline, with no database:\n"
			    "the checkpoint's signature, that it is the log's (its origin is NAME,\n"
			    "by default the key's name), the inclusion proof and the entry; with\n"
			    "--witness (repeatable), that the checkpoint carries a valid cosignature\n"
			    "by that witness ('audit prove' includes the ones the log stores).", &args);
	int rc = CLI_FAIL;
	cr_err err;

	if (prc != CLI_OK)
		return prc < 0 ? CLI_OK : prc;
	if (key == NULL || args.npos != 1) {
		free(args.pos);
		return cli_usage_error("audit verify-proof", "needs --key VKEY and one proof FILE");
	}
	if (cli_read_file(args.pos[0], AUDIT_TLOG_PROOF_MAX, &proof, &len) != CR_OK) {
		rc = cli_fail("audit verify-proof", "cannot read proof file '%s'", args.pos[0]);
		goto out;
	}
	err = audit_tlog_proof_verify(key, strlen(key), proof, len, NULL, 0, origin, &chk, why, sizeof(why));
	if (err != CR_OK) {
		rc = cli_fail("audit verify-proof", "proof REJECTED: %s", why[0] ? why : cr_strerror(err));
		goto out;
	}
	printf("proof OK: entry %llu is in the log '%s' of %llu entries, signed by the key given\n",
	       (unsigned long long)chk.index, chk.checkpoint.origin, (unsigned long long)chk.checkpoint.size);
	rc = proof_witnesses(proof, len, wkeys, nw);
out:
	free(proof);
	free(args.pos);
	return rc;
}
