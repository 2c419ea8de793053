#!/usr/bin/env bash
# e2e: backups and restores (issue 25, docs/operations.md "Backups" and
# "Restores"). A backup taken while a running server commits consent
# events is consistent: restored into a new directory, `audit verify`
# passes, the backup's own checkpoint verifies against the restored log,
# and every entry up to that checkpoint is there, byte for byte. A restore
# is refused while the server holds the directory. Restoring an older
# backup over a newer directory is refused with what would be lost
# (entries, consent events, records, releases) and, with --accept-loss,
# done and recorded as a service.rollback leaf (I5: the log says so).
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
d=$PWD/data
log=$PWD/serve.log
pid=; loadpid=
cleanup() {
  [ -z "$loadpid" ] || kill "$loadpid" 2>/dev/null || true
  [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CR" init --data "$d" >/dev/null 2>&1
"$CR" synth --customers 300 --overlap 0.5 --seed 25 --out "$PWD/s" >/dev/null 2>&1
"$CR" brand create --data "$d" acme >/dev/null
"$CR" notice publish --data "$d" --brand acme --published-at 2026-01-01T00:00:00+08:00 s/notice.json >/dev/null
"$CR" pia add --data "$d" --brand acme --ref PIA-1 --covers ads_measurement,audience_insights >/dev/null
"$CR" consent import --data "$d" --brand acme s/consent.ndjson >/dev/null
"$CR" dataset create --data "$d" --brand acme --name crm --purposes ads_measurement --id-type email \
  --columns 'segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)' >/dev/null
"$CR" ingest --data "$d" --brand acme --dataset crm s/customers.csv >/dev/null
brand=$("$CR" token issue --data "$d" --role brand --tenant acme --name load 2>/dev/null)

"$CR" serve --data "$d" --listen 127.0.0.1:0 --insecure-http --threads 2 2>"$log" &
pid=$!
url=$(serve_url "$log")
[ -n "$url" ] || { cat "$log"; fail "server did not start"; }

# Write load: withdrawals (each a consent event, a purge and their leaves),
# one after the other, until told to stop.
cut -d, -f1 s/customers.csv | tail -n +2 > subjects.txt
load() {
  while [ -e load.on ]; do
    while IFS= read -r subj && [ -e load.on ]; do
      t=$(date -u +%Y-%m-%dT%H:%M:%SZ)
      printf '{"type":"withdraw","subject":"%s","time":"%s","channel":"web"}' "$subj" "$t" > ev.json
      curl -s -o /dev/null -H "Authorization: Bearer $brand" -H 'Content-Type: application/json' \
        --data-binary @ev.json "$url/v1/brands/acme/consents" || true
      echo x >> sent.txt
    done < subjects.txt
  done
}
touch load.on sent.txt
load &
loadpid=$!
for _ in $(seq 1 100); do [ "$(wc -l < sent.txt 2>/dev/null || echo 0)" -ge 20 ] && break; sleep 0.1; done

# A restore into a directory a server holds is refused, whatever it holds.
set +e; err=$("$CR" restore --data "$d" /dev/null 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "holds the data directory" || fail "restore under a running server (rc=$rc): $err"

# The backup, under load.
"$CR" backup --data "$d" --out b1.db --with-keys --json > b1.json 2> b1.err
grep -q "warning: .*b1.db.keys" b1.err || fail "--with-keys gave no warning: $(cat b1.err)"
[ "$(stat -c %a b1.db)" = 600 ] || fail "backup mode $(stat -c %a b1.db)"
[ -f b1.db.keys/master.key ] && [ -f b1.db.keys/sign.key ] || fail "no keys beside the backup"
sleep 1   # more events after the backup
rm -f load.on; wait "$loadpid"; loadpid=
kill -TERM "$pid"; wait "$pid" || fail "server did not stop cleanly"; pid=
sent=$(wc -l < sent.txt)
python3 - "$sent" <<'PY'
import json, sys
b = json.load(open("b1.json"))
# the copy is one committed state: its latest checkpoint covers its whole log
assert b["checkpoint_size"] == b["log_size"], b
assert b["consent_events"] > 0 and b["records"] > 0 and b["schema"] >= 11, b
open("b1.checkpoint", "w").write(b["checkpoint"])
print(f"backup under load: {b['log_size']} entries, {int(sys.argv[1])} events sent", file=sys.stderr)
PY
N=$(python3 -c "import json; print(json.load(open('b1.json'))['checkpoint_size'])")
total=$(sqlite3 "$d/cleanroom.db" "select count(*) from audit_leaves")
[ "$total" -gt "$N" ] || fail "no write landed after the backup ($total <= $N): the test shows nothing"

# Restored into a new directory (keys from b1.db.keys): it verifies, the
# backup's checkpoint is a prefix of it, and entries 0..N-1 are the original's.
"$CR" restore --data new b1.db > r1.txt || fail "restore into a new directory: $(cat r1.txt)"
grep -q "service.restore" r1.txt || fail "restore printed: $(cat r1.txt)"
"$CR" audit verify --data new >/dev/null || fail "restored log does not verify"
"$CR" audit verify --data new --checkpoint b1.checkpoint >/dev/null || fail "backup checkpoint not a prefix"
same=$(sqlite3 new/cleanroom.db "attach '$d/cleanroom.db' as o;
  select count(*) from audit_leaves a join o.audit_leaves b on a.idx = b.idx and a.data = b.data where a.idx < $N")
[ "$same" = "$N" ] || fail "only $same of the $N entries up to the backup's checkpoint are in the restored log"
[ "$(stat -c %a new)" = 700 ] && [ "$(stat -c %a new/keys/master.key)" = 600 ] || fail "restored modes"

# An older backup over the newer directory: refused with what is lost ...
ev_lost=$(sqlite3 "$d/cleanroom.db" "attach 'b1.db' as b;
  select count(*) from consent_events m where not exists (select 1 from b.consent_events x where x.id = m.id)")
[ "$ev_lost" -gt 0 ] || fail "no consent event after the backup"
set +e; err=$("$CR" restore --data "$d" b1.db 2>&1); rc=$?; set -e
[ $rc -eq 1 ] || fail "loss accepted without --accept-loss (rc=$rc): $err"
echo "$err" | grep -q "loses $((total - N)) audit entries, $ev_lost consent events ($ev_lost of them withdrawals" \
  || fail "loss counts unclear: $err"
echo "$err" | grep -q -- "--accept-loss" || fail "no hint: $err"
[ "$(sqlite3 "$d/cleanroom.db" "select count(*) from audit_leaves")" = "$total" ] || fail "a refused restore changed the log"
# ... and with --accept-loss done, verified, and audited as a rollback.
"$CR" restore --data "$d" b1.db --accept-loss --json > r2.json
python3 - "$((total - N))" "$ev_lost" <<'PY'
import json, sys
r = json.load(open("r2.json"))
assert r["loses"] and r["lost_entries"] == int(sys.argv[1]) and r["lost_consent_events"] == int(sys.argv[2]), r
PY
"$CR" audit verify --data "$d" >/dev/null || fail "log does not verify after the rollback"
"$CR" audit log --data "$d" --type service.rollback --json | python3 -c "
import json, sys
e = json.load(sys.stdin)['entries']
assert len(e) == 1 and 'lost_entries=$((total - N)) lost_consent_events=$ev_lost' in e[0]['detail'], e
assert e[0]['index'] == $N, e"
# Issue 19: the restored log is padded past every size signed before, so no
# size is signed twice with different roots, and it opens (its checkpoint
# is the directory's audit-tip now).
[ "$(sqlite3 "$d/cleanroom.db" "select count(*) from audit_checkpoints where size > $N and size <= $total")" = 0 ] \
  || fail "the restored log signed a size the replaced one had signed"
[ "$(sqlite3 "$d/cleanroom.db" "select count(*) from audit_leaves")" -gt "$total" ] || fail "the restored log is not padded past the replaced one"
"$CR" audit log --data "$d" --type audit.rollback_gap --limit 1 --json >/dev/null || fail "the restored directory does not open"
[ ! -e "$d/cleanroom.db.restore" ] || fail "restore left its scratch copy"

# Keys that did not sign the backup are refused; so is a file that is not one.
"$CR" init --data other >/dev/null 2>&1
set +e; err=$("$CR" restore --data other b1.db 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "another clean room" || fail "other clean room (rc=$rc): $err"
origin=$(sqlite3 "$d/cleanroom.db" "select value from settings where key = 'origin'")
"$CR" init --data forged --origin "$origin" >/dev/null 2>&1
set +e; err=$("$CR" restore --data forged b1.db --accept-loss 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "did not sign this backup" || fail "other keys (rc=$rc): $err"
"$CR" audit verify --data forged >/dev/null || fail "a refused restore broke the directory"
echo "not a database" > junk.db
set +e; err=$("$CR" restore --data new junk.db 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "not a cleanroom backup" || fail "junk backup (rc=$rc): $err"
set +e; err=$("$CR" backup --data "$d" --out b1.db 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "never overwritten" || fail "backup overwrote (rc=$rc): $err"
echo "backup/restore: ok ($N entries in the backup, $((total - N)) rolled back)"
