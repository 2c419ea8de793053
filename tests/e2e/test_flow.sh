#!/usr/bin/env bash
# e2e: the brand's side of the main job through the real binary:
# init, brand, notice, consent import, dataset, ingest, withdrawal, audit.
# Checks I1 (no raw identifier or unkeyed digest in what it printed or in the
# data directory), I2 (only consented rows get in, with reasons), I3 (withdrawal purges
# at once and a re-upload is refused as suppressed), R27 (receipt verifies,
# a tampered one does not), R16 (a guardian's grant needs a verified link
# and stops counting at the threshold) and I5/I6 (the audit log verifies, proofs check
# offline, tampering is caught).
set -euo pipefail
CR=${CLEANROOM:?}
here=$(cd "$(dirname "$0")" && pwd)
export CLEANROOM_DATA=$PWD/data
log=$PWD/all-output.txt
run() { "$CR" "$@" 2>>"$log" | tee -a "$log"; }

"$CR" init >"$PWD/vkey" 2>>"$log"
VKEY=$(cat "$PWD/vkey")
RKEY=$("$CR" audit key --receipts)
"$CR" synth --customers 400 --overlap 0.5 --seed 11 --out "$PWD/s" >>"$log" 2>&1

run brand create acme >/dev/null
run notice publish --brand acme --published-at 2026-01-01T00:00:00+08:00 s/notice.json >/dev/null
# A notice missing what R04 requires is refused with the fields named.
python3 - <<'PY'
import json; n = json.load(open("s/notice.json")); del n["retention"]; del n["controller"]["contact"]
n["version"] = 2; json.dump(n, open("bad-notice.json", "w"))
PY
set +e; err=$("$CR" notice publish --brand acme bad-notice.json 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "retention" && echo "$err" | grep -q "controller.contact" \
  || { echo "R04 refusal unclear (rc=$rc): $err"; exit 1; }

run consent import --brand acme s/consent.ndjson --json > import.json
python3 -c "import json,sys; s=json.load(open('import.json')); assert s['refused']==0 and s['stored']>1000, s"

COLS='segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'
# R28: no dataset before an impact assessment covers its purposes; refused, nothing stored.
set +e; err=$("$CR" dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email --columns "$COLS" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "purpose 'ads_measurement' has no impact assessment" \
  || { echo "R28 refusal unclear (rc=$rc): $err"; exit 1; }
run dataset list --brand acme --json | python3 -c "import json,sys; assert json.load(sys.stdin)==[]"
run pia add --brand acme --ref PIA-2026-001 --covers ads_measurement,audience_insights --kind pipia \
  --date 2025-12-20T00:00:00+08:00 >/dev/null
run pia list --brand acme --json | python3 -c "
import json,sys; l=json.load(sys.stdin)
assert [(p['ref'], p['kind'], sorted(p['covers'])) for p in l]==[('PIA-2026-001','pipia',['ads_measurement','audience_insights'])], l"
run dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email --columns "$COLS" >/dev/null
run ingest --brand acme --dataset crm s/customers.csv --json > ingest.json

# R15 from the CLI: the brand's EU child age (CN's 14 is fixed), audited, and
# a child-directed dataset (the gate's side is in unit/cleanroom/test_registry.c).
run brand child-age --brand acme --jurisdiction EU --age 13 >/dev/null
set +e; err=$("$CR" brand child-age --brand acme --jurisdiction CN --age 13 2>&1); rc=$?; set -e
[ $rc -eq 1 ] || { echo "CN child age accepted (rc=$rc): $err"; exit 1; }
"$CR" audit log --type brand.child_age --json | python3 -c "import json,sys; e=json.load(sys.stdin)['entries']; assert len(e)==1 and e[0]['detail']=='jurisdiction=EU age=13', e"
run dataset create --brand acme --name kids --purposes ads_measurement --id-type email \
  --columns "$COLS" --child-directed >/dev/null
run dataset describe --brand acme --name kids --json | python3 -c "import json,sys; assert json.load(sys.stdin)['child_directed'] is True"
python3 - <<'PY'
import json
r = json.load(open("ingest.json"))
assert r["read"] == 400, r
# I2: most customers consented; the rest are refused with the registry's reasons
assert 250 <= r["accepted"] <= 360, r
nc = r["rejected"]["no_consent"]
assert nc["count"] > 0 and nc["by_reason"], r
assert r["accepted"] + sum(v["count"] for v in r["rejected"].values()) == 400, r
PY
n_before=$(sqlite3 data/cleanroom.db "select count(*) from records")

# Pick an accepted customer: one whose consent status allows everything.
pick=""
while IFS=, read -r email rest; do
  [ "$email" = email ] && continue
  if "$CR" consent status --brand acme --subject "$email" --json 2>/dev/null \
     | python3 -c "import json,sys; sys.exit(0 if all(d['allowed'] for d in json.load(sys.stdin)) else 1)"; then
    pick=$email; break
  fi
done < s/customers.csv
[ -n "$pick" ] || { echo "no fully consented customer found"; exit 1; }

# I3: withdrawal takes effect when the call returns: purge, receipt, suppression.
"$CR" consent withdraw --brand acme --subject "$pick" --receipt receipt.json 2>>"$log"
n_after=$(sqlite3 data/cleanroom.db "select count(*) from records")
[ "$n_after" -eq $((n_before - 1)) ] || { echo "withdrawal purged $((n_before - n_after)) records"; exit 1; }
# R24: the import's events and the CLI's withdrawal record who acted and how.
src=$(sqlite3 data/cleanroom.db "select actor||'/'||channel||'/'||method from consent_events where type='withdraw' order by id desc limit 1")
[ "$src" = brand/cli/operator ] || { echo "R24: the withdrawal recorded '$src'"; exit 1; }
n=$(sqlite3 data/cleanroom.db "select count(*) from consent_events where actor is null or channel is null or method is null")
[ "$n" -eq 0 ] || { echo "R24: $n events lack actor, channel or method"; exit 1; }
"$CR" consent status --brand acme --subject "$pick" | grep -q "WITHDRAWN"
"$CR" receipt verify receipt.json --receipt-key "$RKEY" --key "$VKEY" | grep -q "proven in the signed log"
python3 -c "
import json; r=json.load(open('receipt.json')); r['payload']['audit_index'] += 1
json.dump(r, open('tampered.json','w'))"
set +e; "$CR" receipt verify tampered.json --receipt-key "$RKEY" --key "$VKEY" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || { echo "tampered receipt accepted"; exit 1; }

# R16: a guardian's grant needs a verified guardian link for that child and
# reference; it counts while the child is under the threshold (CN: 14) and
# then waits for the person's own confirmation. The child is made up.
child=child-r16@example.net
g() { "$CR" consent grant --brand acme --subject "$child" --purpose ads_measurement --notice-version 1 \
        --method checkbox --actor guardian --guardian-ref G-77 --birth-year 2016 --jurisdiction CN \
        --time 2026-06-01T00:01:00Z; }
decision() { "$CR" consent status --brand acme --subject "$child" --json "$@" 2>>"$log" \
  | python3 -c "import json,sys; d=[x for x in json.load(sys.stdin) if x['purpose']=='ads_measurement' and x['recipient'] is None][0]; print(d['reason'])"; }
"$CR" consent served --brand acme --subject "$child" --notice-version 1 --time 2026-06-01T00:00:00Z >/dev/null 2>>"$log"
set +e; err=$(g 2>&1 >/dev/null); rc=$?; set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "verified guardian link" || { echo "R16: an unlinked guardian's grant (rc=$rc): $err"; exit 1; }
[ "$(decision)" = NOT_GIVEN ] || { echo "R16: the refused grant counts"; exit 1; }
"$CR" consent guardian-link --brand acme --subject "$child" --guardian-ref G-77 --verified-by id_document \
  --time 2026-05-01T00:00:00Z >/dev/null 2>>"$log"
g >/dev/null 2>>"$log"
[ "$(decision --at 2026-12-01T00:00:00Z)" = OK ] || { echo "R16: the linked guardian's grant does not count"; exit 1; }
[ "$(decision --at 2031-01-01T00:00:00Z)" = CONFIRMATION_REQUIRED ] || { echo "R16: the grant still counts at 14"; exit 1; }

# R27: the grants that came in the import have receipts too, in the export
# and one by one by event id; each verifies with its inclusion proof.
"$CR" consent export --brand acme --subject "$pick" > export.json 2>>"$log"
grant_id=$(python3 -c "
import json; d=json.load(open('export.json'))
assert len(d['receipts']) == sum(e['type'] in ('grant','refuse','withdraw','object') for e in d['events']), d['receipts']
print([e['id'] for e in d['events'] if e['type'] == 'grant'][0])")
"$CR" consent receipt --brand acme --event "$grant_id" --out imported-receipt.json 2>>"$log"
"$CR" receipt verify imported-receipt.json --receipt-key "$RKEY" --key "$VKEY" | grep -q "proven in the signed log"

# Re-upload of the withdrawn person (written differently) is refused as suppressed.
printf 'email,segment,region,age_band,spend\n  %s ,a,north,25-34,10\n' "$(echo "$pick" | tr a-z A-Z | tr -d ' ')" > again.csv
run ingest --brand acme --dataset crm again.csv --json > again.json
python3 -c "import json; r=json.load(open('again.json')); assert r['rejected']['suppressed']['count']==1 and r['accepted']==0, r"

# I5/I6: the log verifies; a proof checks offline; tampering is named.
"$CR" audit checkpoint > saved-checkpoint
run audit verify --checkpoint saved-checkpoint | grep -q "audit log OK"
"$CR" audit log --brand acme --subject "$pick" --json > subject-log.json
python3 -c "
import json; e=json.load(open('subject-log.json'))['entries']
types={x['type'] for x in e}; assert 'consent.withdraw' in types and 'consent.grant' in types, types"
idx=$(python3 -c "import json; print(json.load(open('subject-log.json'))['entries'][0]['index'])")
"$CR" audit prove --index "$idx" > proof.txt
# Offline: from another directory, with no data directory at hand.
checked=$(cd / && "$CR" audit verify-proof --key "$VKEY" "$OLDPWD/proof.txt")
grep -q "proof OK" <<<"$checked" || { echo "the proof did not verify offline: $checked"; exit 1; }
sed 's/^index .*/index 0/' proof.txt > bad-proof.txt
set +e; "$CR" audit verify-proof --key "$VKEY" bad-proof.txt >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || { echo "tampered proof accepted"; exit 1; }
[ ! -e data/cleanroom.db-wal ] || { echo "a WAL is left after the commands closed"; exit 1; }
cp data/cleanroom.db before-erase.db
# Issue 19, I10: erasure. Refused without --yes; then the person's entries
# are no longer found, the proof issued before still verifies offline, and
# the whole log verifies.
set +e; "$CR" consent erase --brand acme --subject "$pick" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 2 ] || { echo "erasure without --yes: rc=$rc"; exit 1; }
run consent erase --brand acme --subject "$pick" --yes --json > erase.json
python3 -c "
import json; d=json.load(open('erase.json'))
assert d['status']=='erased' and d['erased']['audit_salts']==1 and d['erased']['audit_index_rows']>=2, d['erased']
assert d['receipt']['payload']['subject']['pseudonym'] is None, d['receipt']['payload']['subject']"
"$CR" audit log --brand acme --subject "$pick" --json | python3 -c "import json,sys; e=json.load(sys.stdin)['entries']; assert e==[], e"
checked=$(cd / && "$CR" audit verify-proof --key "$VKEY" "$OLDPWD/proof.txt")
grep -q "proof OK" <<<"$checked" || { echo "a proof issued before the erasure no longer verifies: $checked"; exit 1; }
run audit verify | grep -q "audit log OK"
# I10: the officer takes the log away (no key, no salt) and checks it on a
# machine with no data directory, with the key they hold; any other key fails,
# and so does a changed byte.
run audit export --out exported > /dev/null
[ "$(sqlite3 exported/log.db 'select count(*) from audit_salts') $(sqlite3 exported/log.db 'select count(*) from audit_subjects')" = "0 0" ] \
  || { echo "the export carries salts or the subject index"; exit 1; }
checked=$(cd / && "$CR" audit verify --log "$OLDPWD/exported" --key "$VKEY" --checkpoint "$OLDPWD/saved-checkpoint")
grep -q "audit log OK" <<<"$checked" || { echo "the export does not verify offline: $checked"; exit 1; }
"$CR" init --data other-dir >/dev/null 2>&1
set +e; "$CR" audit verify --log exported --key "$("$CR" audit key --data other-dir)" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || { echo "an export verified with another log's key (rc=$rc)"; exit 1; }
sqlite3 exported/log.db "update audit_leaves set data = cast(data || x'00' as blob) where idx = 2"
set +e; "$CR" audit verify --log exported --key "$VKEY" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || { echo "a changed export verified (rc=$rc)"; exit 1; }
# The newest entries without a signed checkpoint are reported (an ingest
# batch commits without one, 7.2; a deleted latest checkpoint row leaves
# more of them so).
n=$("$CR" audit verify --json | python3 -c "import json,sys; r=json.load(sys.stdin); assert r['uncovered']==r['leaves']-r['latest_checkpoint'], r; print(r['leaves'])")
sqlite3 data/cleanroom.db "delete from audit_checkpoints where size = (select max(size) from audit_checkpoints)"
out=$("$CR" audit verify)
latest=$(sqlite3 data/cleanroom.db "select max(size) from audit_checkpoints")
grep -q "the newest $((n - latest)) entries (from index $latest) are covered by no signed checkpoint" <<<"$out" \
  || { echo "uncovered entries not reported: $out"; exit 1; }
# Issue 19: a rollback is caught. Put back the copy taken before the
# erasure: verify fails, every verb refuses to open it, and accepting the
# loss is an explicit, audited step after which all verifies again.
cp before-erase.db data/cleanroom.db; rm -f data/cleanroom.db-wal data/cleanroom.db-shm
set +e; out=$("$CR" audit verify 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "rolled back or restored from an older copy" <<<"$out" || { echo "rollback not caught by verify (rc=$rc): $out"; exit 1; }
set +e; out=$("$CR" consent status --brand acme --subject "$pick" 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -q "accept-rollback" <<<"$out" || { echo "a verb opened a rolled-back database (rc=$rc): $out"; exit 1; }
run audit accept-rollback --yes --json > rollback.json
python3 -c "import json; r=json.load(open('rollback.json')); assert r['rollback'] and r['signed_size']>r['entries'] and r['gap']==r['signed_size']-r['entries'], r"
run audit verify | grep -q "audit log OK"
"$CR" audit log --type audit.rollback --json | python3 -c "import json,sys; e=json.load(sys.stdin)['entries']; assert len(e)==1, e"
sqlite3 data/cleanroom.db "update audit_leaves set data = cast(data || x'00' as blob) where idx = 3"
set +e; out=$("$CR" audit verify 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$out" | grep -qi "leaf 3" || { echo "tampering not named (rc=$rc): $out"; exit 1; }
# A log broken so that the start-up check refuses it (a stored hash row
# deleted) still gets verify's full report, naming the row, not a start-up
# message (issue 19); the other commands refuse to open it.
sqlite3 data/cleanroom.db "delete from audit_hashes where id = 1"
set +e; out=$("$CR" audit verify --key "$VKEY" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && echo "$out" | grep -q "FAILED: leaf 1: its stored hash is missing" && ! echo "$out" | grep -q "start-up" \
  || { echo "a broken log got no full report (rc=$rc): $out"; exit 1; }
set +e; out=$("$CR" audit log 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && echo "$out" | grep -q "start-up check failed" || { echo "a broken log opened (rc=$rc): $out"; exit 1; }

# I1: no raw identifier and no unkeyed SHA-256 digest in what this flow printed
# or wrote, nor in the data directory once every command has closed it (the
# WAL is empty by then: test_no_identifiers.sh searches it while it is full,
# and runs every other command).
python3 - >ids.txt <<'PY'
import csv
for r in csv.DictReader(open("s/customers.csv")):
    print(r["email"].strip()); print(r["phone"].strip())
PY
python3 "$here/find_leaks.py" search --control s/customers.csv ids.txt "$log" data \
  import.json ingest.json again.json receipt.json saved-checkpoint subject-log.json proof.txt erase.json exported rollback.json
