#!/usr/bin/env bash
# e2e: the compliance officer's reports (issue 24) through the real binary:
# `report processing` and `report compliance` from the CLI, `report verify`
# against the data directory and against an `audit export` with the keys the
# officer holds (a changed byte refused), and the same reports over the API
# with an officer token of the brand (another tenant's officer, a partner
# and a bad window refused). Synthetic subjects only (synth).
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
d=$PWD/data
log=$PWD/serve.log
pid=
cleanup() { [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true; }
trap cleanup EXIT
export CLEANROOM_DATA=$d
fail() { echo "FAIL: $*"; exit 1; }
# json FILE EXPR: evaluates a Python expression over the document `r`
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

"$CR" init >/dev/null 2>&1
"$CR" synth --customers 300 --overlap 0.5 --seed 7 --out s >/dev/null 2>&1
for b in acme beta; do
  "$CR" brand create "$b" >/dev/null 2>&1
  "$CR" notice publish --brand "$b" --published-at 2026-01-01T00:00:00Z s/notice.json >/dev/null 2>&1
done
"$CR" consent import --brand acme s/consent.ndjson >/dev/null 2>&1
"$CR" consent import --brand beta s/consent.ndjson >/dev/null 2>&1
"$CR" pia add --brand acme --ref PIA-2026-001 --covers ads_measurement,audience_insights >/dev/null 2>&1
"$CR" dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email \
  --columns 'segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)' \
  >/dev/null 2>&1
"$CR" ingest --brand acme --dataset crm s/customers.csv >/dev/null 2>&1
"$CR" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment \
  --metrics count --k 10 --epsilon 0.5 --budget 1 --min-partner-set 10 >/dev/null 2>&1
"$CR" match --collab 1 --ids s/partner.csv --group-by segment >/dev/null 2>&1 || true
pick=$(sed -n 2p s/customers.csv | cut -d, -f1)
"$CR" consent withdraw --brand acme --subject "$pick" >/dev/null 2>&1
"$CR" requests add --brand acme --kind access --channel email --received "$(date -u -d '40 days ago' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
"$CR" requests complete --brand acme --id 1 >/dev/null

# The record of processing: the notice's purposes and recipient, the dataset, the collaboration, no person.
"$CR" report processing --brand acme > ropa.json
[ "$(json ropa.json "r['format']")" = cr-report-processing-v1 ] || fail "processing format"
[ "$(json ropa.json "','.join(p['code'] for p in r['purposes'])")" = ads_measurement,audience_insights ] || fail "purposes"
[ "$(json ropa.json "r['recipients'][0]['id'], r['datasets'][0]['name'], r['collaborations'][0]['partner']")" = "partner-1 crm partner-1" ] || fail "recipients, datasets, collaborations"
grep -q "$pick" ropa.json && fail "the processing record names a subject"
[ "$(json ropa.json "[(a['ref'], a['covers']) for a in r['impact_assessments']]")" = "[('PIA-2026-001', ['ads_measurement', 'audience_insights'])]" ] \
  || fail "the processing record does not list the impact assessment"
"$CR" report processing --brand acme --format md | grep -q '^## Recipients' || fail "markdown record"

# The compliance report over everything so far: the withdrawal, the late request.
since=2026-01-01T00:00:00Z
until=$(date -u -d '1 minute' +%Y-%m-%dT%H:%M:%SZ)
"$CR" report compliance --brand acme --since "$since" --until "$until" --out r.json
# each count figure cites exactly the indices `audit log` lists for its type and brand
for pair in consents:consent.grant withdrawals:consent.withdraw match_sessions:match.session \
            refusals:match.refuse releases:match.release ingests:dataset.ingest; do
  fig=${pair%%:*} type=${pair#*:}
  "$CR" audit log --brand acme --type "$type" --limit 1000 --json > listed.json
  [ "$(json r.json "r['report']['figures']['$fig']['indices']")" = \
    "$(json listed.json "sorted(e['index'] for e in r['entries'])")" ] || fail "$fig is not the log's $type entries"
done
[ "$(json r.json "r['report']['figures']['withdrawals']['count'] > 1")" = True ] || fail "withdrawals"
[ "$(json r.json "r['report']['figures']['late_requests']['count']")" = 1 ] || fail "late requests"
[ "$(json r.json "r['report']['figures']['ingests']['count'] >= 1 and r['report']['figures']['match_sessions']['count'] == 1")" = True ] || fail "ingests and sessions"
[ "$(json r.json "r['report']['figures']['consents']['count'] == len(r['report']['figures']['consents']['indices']) > 0")" = True ] || fail "consents"
"$CR" report compliance --brand acme --since "$until" --until "$since" >/dev/null 2>&1 && fail "an empty window accepted"

rkey=$("$CR" audit key --reports)
vkey=$("$CR" audit key)
"$CR" report verify --report r.json 2>/dev/null | grep -q '^report OK' || fail "verify against the data directory"
"$CR" audit export --out export >/dev/null 2>&1
(unset CLEANROOM_DATA; cd /; "$CR" report verify --report "$OLDPWD/r.json" --key "$rkey" --log-key "$vkey" --log "$OLDPWD/export") \
  | grep -q 'cited entries proven' || fail "verify against an export"
# one entry checked by hand with the existing audit commands
idx=$(json r.json "r['report']['figures']['withdrawals']['indices'][0]")
"$CR" audit prove --index "$idx" > proof.txt
"$CR" audit verify-proof --key "$vkey" proof.txt >/dev/null || fail "the withdrawal's proof"
# a changed figure, and the log's key in place of the reports'
python3 - <<'PY'
import json
r = json.load(open("r.json"))
r["report"]["figures"]["withdrawals"]["count"] = 0
json.dump(r, open("tampered.json", "w"))
PY
out=$("$CR" report verify --report tampered.json --key "$rkey" --log-key "$vkey" --log export 2>&1) && fail "a tampered report verified"
echo "$out" | grep -q 'signature does not verify' || fail "tampered: $out"
"$CR" report verify --report r.json --key "$vkey" --log-key "$vkey" --no-log >/dev/null 2>&1 && fail "the log's key verified a report"

# Over the API, with the brand's officer.
officer=$("$CR" token issue --role officer --tenant acme --name o 2>/dev/null)
other=$("$CR" token issue --role officer --tenant beta --name o2 2>/dev/null)
partner=$("$CR" token issue --role partner --tenant partner-1 --name p 2>/dev/null)
"$CR" serve --listen 127.0.0.1:0 --insecure-http --rate-limit 0 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { echo "no listening line:"; cat "$log"; exit 1; }
get() { curl -sS -o "$2" -w '%{http_code}' -H "Authorization: Bearer $1" "$url$3"; }
q="since=$since&until=$until"
[ "$(get "$officer" api-ropa.json /v1/brands/acme/reports/processing)" = 200 ] || fail "officer processing"
[ "$(json api-ropa.json "r['brand']")" = acme ] || fail "api processing body"
[ "$(get "$officer" api-r.json "/v1/brands/acme/reports/compliance?$q")" = 200 ] || fail "officer compliance"
"$CR" report verify --report api-r.json --key "$rkey" --log-key "$vkey" | grep -q '^report OK' || fail "the API's report"
[ "$(get "$officer" md.txt "/v1/brands/acme/reports/compliance?$q&format=md")" = 200 ] || fail "markdown"
grep -q '^# Compliance report: acme' md.txt || fail "markdown body"
[ "$(get "$other" x /v1/brands/acme/reports/processing)" = 403 ] || fail "another tenant's officer"
[ "$(get "$other" x "/v1/brands/acme/reports/compliance?$q")" = 403 ] || fail "another tenant's officer (compliance)"
[ "$(get "$partner" x /v1/brands/acme/reports/processing)" = 403 ] || fail "a partner"
[ "$(get "$officer" x "/v1/brands/acme/reports/compliance?since=$until&until=$since")" = 400 ] || fail "a reversed window"
[ "$(get "$officer" x "/v1/brands/acme/reports/compliance?since=yesterday&until=$until")" = 400 ] || fail "a bad time"
echo "report: ok"
