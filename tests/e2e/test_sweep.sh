#!/usr/bin/env bash
# e2e: R14 and I5 through the real binary: a grant that expires three
# seconds after it was imported, its record ingested before that; once it
# has expired, `cleanroom sweep` removes that record and only it, says how
# many it removed, and audits it: `audit log` shows one dataset.sweep entry
# and `audit verify` passes. A second sweep removes nothing and adds no
# entry; a re-upload is refused as expired. Subjects are made-up
# example.com addresses. (Python starts slowly on a busy machine, so the
# JSON is checked once, at the end, and nothing before the ingest uses it.)
set -euo pipefail
CR=${CLEANROOM:?}
export CLEANROOM_DATA=$PWD/data
log=$PWD/all-output.txt

now_ms() { date +%s%3N; }
# An RFC 3339 UTC time with milliseconds, from milliseconds since the epoch.
iso() { date -u -d "@$(($1 / 1000)).$(printf %03d $(($1 % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ; }
records() { sqlite3 data/cleanroom.db 'select count(*) from records'; }

"$CR" init >/dev/null 2>>"$log"
"$CR" synth --customers 10 --seed 5 --out "$PWD/s" >>"$log" 2>&1
"$CR" brand create acme >>"$log" 2>&1
"$CR" notice publish --brand acme --published-at "$(iso $(($(now_ms) - 3600000)))" s/notice.json >>"$log" 2>&1
"$CR" pia add --brand acme --ref PIA-1 --covers ads_measurement,audience_insights >>"$log" 2>&1
"$CR" dataset create --brand acme --name crm --purposes ads_measurement --id-type email \
  --columns 'segment:enum(a|b)' >>"$log" 2>&1
printf 'email,segment\nbrief@example.com,a\nstays@example.com,b\n' > list.csv

t=$(now_ms)
served=$(iso $((t - 600000))); granted=$(iso $((t - 599000)))
expires_ms=$((t + 3000)); expires=$(iso "$expires_ms")
{
  for who in brief@example.com stays@example.com; do
    printf '{"type":"served","subject":"%s","notice_version":1,"time":"%s","channel":"web"}\n' "$who" "$served"
  done
  printf '{"type":"grant","subject":"brief@example.com","purpose":"ads_measurement","notice_version":1,"time":"%s","expires":"%s","method":"checkbox","channel":"web","actor":"subject"}\n' "$granted" "$expires"
  printf '{"type":"grant","subject":"stays@example.com","purpose":"ads_measurement","notice_version":1,"time":"%s","method":"checkbox","channel":"web","actor":"subject"}\n' "$granted"
} > consent.ndjson
"$CR" consent import --brand acme consent.ndjson --json > import.json 2>>"$log"
"$CR" ingest --brand acme --dataset crm list.csv --json > ingest.json 2>>"$log"
[ "$(now_ms)" -lt "$expires_ms" ] || { echo "too slow: the grant expired before the ingest ended"; exit 1; }
[ "$(records)" -eq 2 ] || { echo "ingest stored $(records) records, not 2"; cat ingest.json; exit 1; }

# Wait for the expiry to pass (R14: expired at and after that instant).
while [ "$(now_ms)" -le "$expires_ms" ]; do sleep 0.1; done

out=$("$CR" sweep 2>>"$log")
[ "$out" = "sweep: 1 datasets, 2 records checked, 1 removed" ] || { echo "sweep said: $out"; exit 1; }
[ "$(records)" -eq 1 ]
"$CR" consent status --brand acme --subject stays@example.com --json > stays.json 2>>"$log"

# I5: the deletion is in the log, and the log verifies.
"$CR" audit log --brand acme --type dataset.sweep --json > sweep-log.json 2>>"$log"
"$CR" audit verify 2>>"$log" | grep -q "audit log OK"

# A second sweep finds nothing and writes no entry saying it removed something.
"$CR" sweep --brand acme --json > sweep2.json 2>>"$log"
"$CR" audit log --brand acme --type dataset.sweep --json > sweep-log2.json 2>>"$log"
[ "$(records)" -eq 1 ]

# The expired subject's record stays out: a re-upload is refused as expired.
"$CR" ingest --brand acme --dataset crm list.csv --json > again.json 2>>"$log"
[ "$(records)" -eq 1 ]

python3 - <<'PY'
import json
def load(p): return json.load(open(p))
s = load("import.json"); assert s["stored"] == 4 and s["refused"] == 0, s
r = load("ingest.json"); assert r["accepted"] == 2, r
st = [d for d in load("stays.json") if d["purpose"] == "ads_measurement" and d["recipient"] is None]
assert st and st[0]["allowed"], st
e = load("sweep-log.json")["entries"]
assert len(e) == 1, e
x = e[0]
assert x["type"] == "dataset.sweep" and x["dataset"] == "crm" and x["tenant"] == "acme", x
assert x["actor_role"] == "system" and x["detail"] == "removed=1 reason=consent_no_longer_valid", x
assert load("sweep2.json") == {"datasets": 1, "checked": 1, "removed": 0}, load("sweep2.json")
assert load("sweep-log2.json")["entries"] == e, load("sweep-log2.json")
a = load("again.json")
assert a["accepted"] == 1 and a["rejected"]["no_consent"]["by_reason"] == {"EXPIRED": 1}, a
PY

# An unknown brand is refused (exit 1), an unknown option is a usage error (exit 2).
set +e
"$CR" sweep --brand nobody >/dev/null 2>&1; rc1=$?
"$CR" sweep --no-such-option >/dev/null 2>&1; rc2=$?
set -e
[ $rc1 -eq 1 ] && [ $rc2 -eq 2 ] || { echo "exit codes: unknown brand $rc1, bad option $rc2"; exit 1; }
