#!/usr/bin/env bash
# e2e: resuming an interrupted onboarding (issue 23). A consent import and an
# ingest stopped by SIGKILL after their first batches leave whole batches only
# (every stored consent event has its audit leaf, every stored record was
# counted by an ingest leaf, and the log verifies), and the same command run
# again stores the rest: the data ends as one uninterrupted run leaves it, and
# the second run reports what it found already stored (duplicates, replaced).
set -euo pipefail
CR=${CLEANROOM:?}
log=$PWD/all-output.txt
COLS='segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'

"$CR" synth --customers 30000 --overlap 0.5 --seed 23 --out "$PWD/s" >>"$log" 2>&1

prepare() { # a data directory with the brand, its notice and an impact assessment
  "$CR" init --data "$1" >>"$log" 2>&1
  "$CR" brand create acme --data "$1" >>"$log" 2>&1
  "$CR" notice publish --brand acme --published-at 2026-01-01T00:00:00+08:00 s/notice.json --data "$1" >>"$log" 2>&1
  "$CR" pia add --brand acme --ref PIA-1 --covers ads_measurement,audience_insights --data "$1" >>"$log" 2>&1
}
dataset() {
  "$CR" dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
    --recipients partner-1 --id-type email --columns "$COLS" --data "$1" >>"$log" 2>&1
}
# query DIR SQL: one integer from the database, read-only
query() { python3 - "$1/cleanroom.db" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])
PY
}
# kill_after DIR SQL CMD...: runs CMD, SIGKILLs it once SQL counts more than 0
# (a batch committed); fails the test if CMD ended before that could happen.
kill_after() {
  local dir=$1 sql=$2; shift 2
  "$@" >>"$log" 2>&1 & local pid=$!
  for _ in $(seq 1 2000); do
    if [ -f "$dir/cleanroom.db" ] && [ "$(query "$dir" "$sql" 2>/dev/null || echo 0)" -gt 0 ]; then
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  if ! kill -9 "$pid" 2>/dev/null; then
    echo "the command ended before it could be interrupted: $*"; exit 1
  fi
  wait "$pid" 2>/dev/null || true
}
# whole_batches DIR: every consent event has its leaf; the log verifies
whole_batches() {
  local ev links
  ev=$(query "$1" "SELECT count(*) FROM consent_events")
  links=$(query "$1" "SELECT count(*) FROM consent_event_leaves")
  [ "$ev" = "$links" ] || { echo "$ev consent events, $links with a leaf (I5)"; exit 1; }
  "$CR" audit verify --data "$1" >>"$log" 2>&1 || { echo "audit verify failed after SIGKILL"; exit 1; }
}

# The reference: one uninterrupted run.
prepare ref
"$CR" consent import --brand acme s/consent.ndjson --json --data ref > ref-import.json 2>>"$log"
dataset ref
"$CR" ingest --brand acme --dataset crm s/customers.csv --json --data ref > ref-ingest.json 2>>"$log"
ref_events=$(query ref "SELECT count(*) FROM consent_events")
ref_records=$(query ref "SELECT count(*) FROM records")
# the rows' values (pseudonyms differ: each data directory has its own keys)
ref_rows=$(query ref "SELECT group_concat(a, ',') FROM (SELECT hex(attrs) AS a FROM records ORDER BY a)" | sha256sum)

# Consent import: stopped after its first batch, then run again.
prepare int
kill_after int "SELECT count(*) FROM consent_events" \
  "$CR" consent import --brand acme s/consent.ndjson --data int
first=$(query int "SELECT count(*) FROM consent_events")
[ "$first" -gt 0 ] && [ "$first" -lt "$ref_events" ] || { echo "not interrupted mid-way: $first of $ref_events"; exit 1; }
whole_batches int
"$CR" consent import --brand acme s/consent.ndjson --json --data int > again.json 2>>"$log"
python3 - "$first" <<'PY'
import json, sys
first = int(sys.argv[1]); ref = json.load(open("ref-import.json")); again = json.load(open("again.json"))
assert again["duplicates"] >= first, (again, first)          # what was stored is found, not stored twice
assert again["refused"] == 0 and again["lines"] == ref["lines"], (again, ref)
# every line is stored now, or found stored (an event or a guardian link) by the first run
assert again["stored"] + again["duplicates"] + again["guardian_links"] == again["lines"], again
# the end of --json says how long it took and at what rate (issue 23)
ms = again["elapsed_ms"]
assert ms > 0 and again["lines_per_second"] == again["lines"] * 1000 // ms, again
PY
[ "$(query int "SELECT count(*) FROM consent_events")" = "$ref_events" ] || { echo "events differ after resuming"; exit 1; }
whole_batches int

# Ingest: stopped after its first batch, then run again.
dataset int
kill_after int "SELECT count(*) FROM records" \
  "$CR" ingest --brand acme --dataset crm s/customers.csv --data int
first=$(query int "SELECT count(*) FROM records")
[ "$first" -gt 0 ] && [ "$first" -lt "$ref_records" ] || { echo "ingest not interrupted mid-way: $first of $ref_records"; exit 1; }
batches=$(query int "SELECT count(*) FROM audit_leaves WHERE type = 'dataset.ingest'")
[ "$batches" -ge 1 ] || { echo "records stored without an ingest leaf"; exit 1; }
"$CR" audit verify --data int >>"$log" 2>&1 || { echo "audit verify failed after the ingest's SIGKILL"; exit 1; }
"$CR" ingest --brand acme --dataset crm s/customers.csv --json --data int > again-ingest.json 2>>"$log"
python3 - "$first" <<'PY'
import json, sys
first = int(sys.argv[1]); again = json.load(open("again-ingest.json"))
assert again["replaced"] >= first, (again, first)            # the stored rows are found again
assert again["elapsed_ms"] > 0 and again["rows_per_second"] == again["read"] * 1000 // again["elapsed_ms"], again
PY
[ "$(query int "SELECT count(*) FROM records")" = "$ref_records" ] || { echo "records differ after resuming"; exit 1; }
rows=$(query int "SELECT group_concat(a, ',') FROM (SELECT hex(attrs) AS a FROM records ORDER BY a)" | sha256sum)
[ "$rows" = "$ref_rows" ] || { echo "the resumed ingest stored other rows"; exit 1; }
"$CR" audit verify --data int >>"$log" 2>&1
echo "test_resume: ok"
