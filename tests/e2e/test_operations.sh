#!/usr/bin/env bash
# e2e: the operator's walk-through of docs/operations.md, step by step with
# the commands it shows (issue 25): `make install` with DESTDIR and PREFIX
# (binary, man pages generated from --help, the unit and its sysusers.d
# user, bash completion) and `make uninstall`; the unit's checks
# (tests/service-check.sh: verify, exposure <= 2.0); the unit's own
# ExecStart line run without systemd, as documented, on a data directory
# made by `init`; tokens; TLS with the operator's own certificate;
# --version with the schema; a downgrade refused with a clear message.
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$CR")" && pwd)
stage=$PWD/stage
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- install -------------------------------------------------------------
make -s -C "$repo" --no-print-directory install DESTDIR="$stage" PREFIX=/usr BUILD="$build" >/dev/null
bin=$stage/usr/bin/cleanroom
for f in usr/bin/cleanroom usr/lib/systemd/system/cleanroom.service usr/lib/systemd/system/cleanroom-witness.service \
         usr/lib/sysusers.d/cleanroom.conf \
         usr/share/bash-completion/completions/cleanroom usr/share/man/man1/cleanroom.1; do
  [ -f "$stage/$f" ] || fail "make install did not install $f"
done
for g in consent dataset ingest collab match audit token serve backup restore witness; do
  page=$stage/usr/share/man/man1/cleanroom-$g.1
  [ -f "$page" ] || fail "no man page for $g"
  # generated from --help: every option of the command is in its page
  for o in $("$CR" "$g" --help | grep -o '^  --[a-z0-9-]*' | sed 's/^ *--//'); do
    sed 's/\\-/-/g' "$page" | grep -q -- "$o" || fail "cleanroom-$g(1) does not mention --$o"
  done
done
man -l "$stage/usr/share/man/man1/cleanroom-consent.1" 2>/dev/null | grep -q "cleanroom consent withdraw" \
  || fail "cleanroom-consent(1) has no sub-command section"
grep -q "ExecStart=/usr/bin/cleanroom serve" "$stage/usr/lib/systemd/system/cleanroom.service" \
  || fail "the unit does not name the installed binary"
# bash completion: commands, sub-commands and flags
. "$stage/usr/share/bash-completion/completions/cleanroom"
compl() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _cleanroom; echo "${COMPREPLY[*]}"; }
[[ " $(compl cleanroom res) " == *" restore "* ]] || fail "completion of commands: $(compl cleanroom res)"
[[ " $(compl cleanroom consent wi) " == *" withdraw "* ]] || fail "completion of sub-commands"
[[ " $(compl cleanroom serve --li) " == *" --listen "* ]] || fail "completion of flags"
[[ " $(compl cleanroom backup --with) " == *" --with-keys "* ]] || fail "completion of backup's flags"

# --- the unit: systemd-analyze verify and security ----------------------------
"$repo/tests/service-check.sh" "$repo/dist/systemd/cleanroom.service.in" "$bin" "$stage/usr/share/man/man1"
"$repo/tests/service-check.sh" "$repo/dist/systemd/cleanroom-witness.service.in" "$bin" "$stage/usr/share/man/man1"
if command -v systemd-sysusers >/dev/null; then
  mkdir -p "$stage/etc"
  systemd-sysusers --root="$stage" "$stage/usr/lib/sysusers.d/cleanroom.conf" >/dev/null 2>&1
  grep -q '^cleanroom:' "$stage/etc/passwd" || fail "sysusers.d did not create the user"
fi

# --- version and schema ------------------------------------------------------
"$bin" --version | grep -Eq '^cleanroom [0-9.]+ \(database schema [0-9]+\)$' || fail "--version: $("$bin" --version)"
# a sub-command's usage error names the sub-command whole, and its --help
err=$("$bin" dataset list --no-such-option 2>&1) && fail "dataset list --no-such-option succeeded"
echo "$err" | grep -q "^cleanroom: dataset list: unknown option '--no-such-option'$" || fail "dataset list usage error: $err"
echo "$err" | grep -q "^try 'cleanroom dataset list --help'$" || fail "dataset list usage hint: $err"
"$bin" dataset list --help >/dev/null || fail "the hinted 'cleanroom dataset list --help' fails"

# --- first start, without systemd: the unit's own command line ------------------
state=$PWD/var/lib/cleanroom
mkdir -p "$(dirname "$state")"
"$bin" init --data "$state" > verifier.key 2>/dev/null
exec_start=$(sed -n 's/^ExecStart=//p' "$stage/usr/lib/systemd/system/cleanroom.service")
exec_start=${exec_start//\/usr\/bin\/cleanroom/$bin}
exec_start=${exec_start//\/var\/lib\/cleanroom/$state}
# CLEANROOM_SERVE_OPTS as /etc/default/cleanroom would set it: the
# operator's own certificate (docs: "TLS with your own certificate").
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout own.key -out own.pem 2>/dev/null
chmod 600 own.key
CLEANROOM_SERVE_OPTS="--listen 127.0.0.1:0 --tls-cert $PWD/own.pem --tls-key $PWD/own.key"
# shellcheck disable=SC2086  # split as systemd splits $VAR
eval "set -- ${exec_start//\$CLEANROOM_SERVE_OPTS/}"
"$@" $CLEANROOM_SERVE_OPTS 2>serve.log &
pid=$!
url=$(serve_url serve.log)
[ -n "$url" ] || { cat serve.log; fail "the unit's command line did not serve"; }
curl -sS --cacert own.pem -o /dev/null -w '%{http_code}' "$url/healthz" | grep -q 200 || fail "healthz over own TLS"
# tokens: issued once, listed, used, revoked
tok=$("$bin" token issue --data "$state" --role officer --tenant acme --name dpo 2>/dev/null)
"$bin" token list --data "$state" | grep -q dpo || fail "token list"
spare=$("$bin" token issue --data "$state" --role brand --tenant acme --name spare 2>/dev/null)
"$bin" token revoke --data "$state" "$("$bin" token list --data "$state" --json | python3 -c "import json,sys; print([t['id'] for t in json.load(sys.stdin)['tokens'] if t['name']=='spare'][0])")" >/dev/null || fail "token revoke"
[ "$(curl -sS --cacert own.pem -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$url/v1/audit/checkpoint")" = 200 ] \
  || fail "a fresh token is refused"
# the directory is locked while it serves: a restore is refused
"$bin" backup --data "$state" --out nightly.db >/dev/null
[ ! -e nightly.db.keys ] || fail "keys were backed up without --with-keys"
set +e; err=$("$bin" restore --data "$state" nightly.db 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "holds the data directory" || fail "restore while serving: $err"
kill -TERM "$pid"; wait "$pid" || fail "SIGTERM (the unit's KillSignal) did not stop serve cleanly"; pid=
# the witness unit's own command line, without systemd, watching this log
wstate=$PWD/var/lib/cleanroom-witness
"$bin" witness init --dir "$wstate" --name ops.example/w1 > witness.key
"$bin" witness add-log --dir "$wstate" --key "$(cat verifier.key)" >/dev/null
wexec=$(sed -n 's/^ExecStart=//p' "$stage/usr/lib/systemd/system/cleanroom-witness.service")
wexec=${wexec//\/usr\/bin\/cleanroom/$bin}
wexec=${wexec//\/var\/lib\/cleanroom-witness/$wstate}
eval "set -- ${wexec//\$CLEANROOM_WITNESS_OPTS/}"
"$@" --listen 127.0.0.1:0 2>witness.log &
pid=$!
for _ in $(seq 1 100); do grep -q '"url"' witness.log 2>/dev/null && break; sleep 0.1; done
wurl=$(grep -o '"url":"[^"]*"' witness.log | head -1 | cut -d'"' -f4)
[ -n "$wurl" ] || { cat witness.log; fail "the witness unit's command line did not serve"; }
kill -TERM "$pid"; wait "$pid" || fail "SIGTERM did not stop the witness cleanly"; pid=
grep -q '"message":"stopped"' serve.log || fail "serve did not log its stop"
"$bin" restore --data "$state" nightly.db >/dev/null || fail "restore of the latest backup"
"$bin" audit verify --data "$state" >/dev/null || fail "audit verify after the restore"

# --- upgrades: a downgrade is refused with a clear message -------------------------
cp "$state/cleanroom.db" newer.db
sqlite3 newer.db "PRAGMA user_version = 9999"
mkdir newer && cp -r "$state/keys" newer/ && cp newer.db newer/cleanroom.db
set +e; err=$("$bin" audit log --data newer 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "database schema is newer than this program" || fail "downgrade (rc=$rc): $err"
set +e; err=$("$bin" restore --data "$state" newer.db 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "database schema is newer than this program" || fail "newer backup restored: $err"

# --- upgrades: the last migration, on a store one schema behind, says what it does
schema=$("$bin" --version | sed -n 's/.*(database schema \([0-9]*\))$/\1/p')
mkdir older && cp -r "$state/keys" older/ && cp "$state/cleanroom.db" older/cleanroom.db
[ -f "$state/audit-tip" ] && cp "$state/audit-tip" older/
sqlite3 older/cleanroom.db "PRAGMA user_version = $((schema - 1))"
err=$("$bin" audit log --data older 2>&1 >/dev/null) || fail "upgrade of a store one schema behind: $err"
echo "$err" | grep -q "^cleanroom: upgrading the database to schema $schema (" || fail "upgrade not announced: $err"
echo "$err" | grep -Eq "^cleanroom: schema $schema done in [0-9]+\.[0-9] s$" || fail "upgrade's end not announced: $err"
[ "$(sqlite3 older/cleanroom.db 'PRAGMA user_version')" = "$schema" ] || fail "upgrade did not reach schema $schema"
err=$("$bin" audit log --data older 2>&1 >/dev/null) || fail "second open: $err"
echo "$err" | grep -q "upgrading" && fail "an up-to-date store announced an upgrade: $err"

# --- uninstall -----------------------------------------------------------------
make -s -C "$repo" --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr BUILD="$build" >/dev/null
left=$(find "$stage/usr" -type f | grep -i cleanroom || true)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "operations: ok"
