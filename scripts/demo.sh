#!/usr/bin/env bash
# The main job end to end, narrated step by step, over HTTPS on localhost:
# init, a brand and a partner with their tokens, the notice, consent import,
# a dataset and its ingest, a collaboration, a remote partner match with its
# insights, withdrawals and their effect on a second match, and audit
# verification. Run by `make demo` with $CLEANROOM pointing at the built
# binary. Works in ./demo-data (removed and recreated each run) on the
# embedded store; never prints an identifier or a whole token.
set -euo pipefail
CR=${CLEANROOM:-build/release/cleanroom}
DEMO=${DEMO_DIR:-$PWD/demo-data}
export CLEANROOM_DATA=$DEMO/data
S=$DEMO/synth
pid=
stop_server() { [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; }; }
trap stop_server EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "cleanroom $*"; "$CR" "$@"; }
# api TOKEN METHOD PATH [curl args]: shows the call (token elided), prints the
# JSON answer through `show` (a python expression over d), fails on >= 400.
api() {
  local tok=$1 method=$2 path=$3 code; shift 3
  printf '$ curl -X %s %s%s  (Bearer %s...)\n' "$method" "\$URL" "$path" "${tok:0:8}"
  code=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $tok" -X "$method" -o "$DEMO/body" \
           -w '%{http_code}' "$@" "$URL$path")
  if [ "$code" -ge 400 ]; then echo "HTTP $code: $(cat "$DEMO/body")"; exit 1; fi
}
show() { python3 -c "import json,sys; d=json.load(open('$DEMO/body')); $1"; }
J='Content-Type: application/json'

rm -rf "$DEMO"
mkdir -p "$DEMO"

step "1. Initialize a data directory (keys 0600 in 0700, database, audit log, TLS certificate)"
echo '$ cleanroom init'
VKEY=$("$CR" init)
echo "$VKEY"
echo '$ cleanroom audit key --receipts   # receipts are signed with a key of their own'
RKEY=$("$CR" audit key --receipts)
echo "$RKEY"
echo '$ cleanroom audit key --reports    # and the officer'"'"'s reports with another'
PKEY=$("$CR" audit key --reports)
echo "$PKEY"
CA=$CLEANROOM_DATA/tls/cert.pem

step "2. Generate synthetic data: 5,000 customers, a partner list of 5,000 overlapping 40%"
echo "(synthetic people only; the demo never prints an identifier)"
run synth --customers 5000 --partner-rows 5000 --overlap 0.4 --seed 7 --out "$S" >/dev/null
ls -l "$S"

step "3. An administrator token, then the service over HTTPS (self-signed certificate from init)"
ADMIN=$("$CR" token issue --role admin --tenant ops --name demo-admin 2>/dev/null)
echo "admin token issued (shown once, only its hash is stored): ${ADMIN:0:8}..."
"$CR" serve --listen 127.0.0.1:0 --threads 2 2>"$DEMO/serve.log" &
pid=$!
for _ in $(seq 1 100); do grep -q '"message":"listening"' "$DEMO/serve.log" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o '"url":"[^"]*"' "$DEMO/serve.log" | head -1 | cut -d'"' -f4)
[ -n "$URL" ] || { echo "the service did not start:"; cat "$DEMO/serve.log"; exit 1; }
echo "serving at $URL (access log: demo-data/serve.log, no identifiers or tokens in it)"

step "4. The administrator registers the brand and issues brand, partner and officer tokens"
api "$ADMIN" POST /v1/brands -H "$J" -d '{"name":"acme"}'
show 'print("brand", d["name"], "created")'
token() {
  api "$ADMIN" POST /v1/tokens -H "$J" -d "{\"role\":\"$1\",\"tenant\":\"$2\",\"name\":\"$3\"}" >&2
  show 'print(d["token"])'
}
BRAND=$(token brand acme acme-crm)
PARTNER=$(token partner partner-1 partner-analytics)
OFFICER=$(token officer acme acme-dpo)
echo "tokens: brand ${BRAND:0:8}..., partner ${PARTNER:0:8}..., officer ${OFFICER:0:8}..."

step "5. The brand publishes its privacy notice (R04: versioned, hashed) and imports consent events"
# The synthetic consent history starts in January 2026: the notice took
# effect then (R05: a version is current only from its publish time).
api "$BRAND" POST '/v1/brands/acme/notices?published_at=2026-01-01T00:00:00%2B08:00' -H "$J" --data-binary @"$S/notice.json"
show 'print("notice version", d["version"], "sha256", d["sha256"][:16] + "...")'
api "$BRAND" POST /v1/brands/acme/consents/batch -H 'Content-Type: application/x-ndjson' --data-binary @"$S/consent.ndjson"
show 'print("consent events stored:", d["stored"], " refused:", d["refused"])'

step "6. An impact assessment of the purposes (R12, R28: no dataset without one), a dataset (the purposes each record needs, the partner it may be shared with), then ingest"
api "$BRAND" POST /v1/brands/acme/impact-assessments -H "$J" \
  -d '{"ref":"PIA-2026-001","kind":"pipia","covers":["ads_measurement","audience_insights"]}'
show 'print("impact assessment", d["ref"], "covers", ",".join(d["covers"]))'
COLS='segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'
api "$BRAND" POST /v1/brands/acme/datasets -H "$J" \
  -d "{\"name\":\"crm\",\"purposes\":[\"ads_measurement\",\"audience_insights\"],\"recipients\":[\"partner-1\"],\"id_type\":\"email\",\"columns\":\"$COLS\"}"
show 'print("dataset", d["name"], "purposes", ",".join(d["purposes"]))'
api "$BRAND" POST /v1/brands/acme/datasets/crm/ingest -H 'Content-Type: text/csv' --data-binary @"$S/customers.csv"
show 'print("rows read", d["read"], "accepted", d["accepted"], "rejected", {k: v["count"] for k, v in d["rejected"].items()})'
echo "(only keyed forms are stored: an HMAC pseudonym and a keyed group element per record)"

step "7. The brand opens a collaboration with partner-1: its analysis rule, and the privacy budget of the (crm, partner-1) pair"
api "$BRAND" POST /v1/brands/acme/collaborations -H "$J" \
  -d '{"dataset":"crm","partner":"partner-1","dimensions":["segment","region"],"metrics":["count","sum:spend"],"k":20,"epsilon":"0.5","budget":"2","min_partner_set":100}'
C=$(show 'print(d["id"])')
show 'print("collaboration", d["id"], "k", d["k"], "epsilon per query", d["epsilon"], "budget", d["budget"])'

step "8. The partner matches its own list remotely (ECDH PSI over HTTPS): aggregates only"
echo "(the partner's identifiers never leave its machine; the service sees only blinded elements)"
match() {
  printf '$ CLEANROOM_TOKEN=... cleanroom match --server $URL --cacert cert.pem --collab %s --ids partner.csv --group-by segment --metrics count,sum:spend\n' "$C"
  CLEANROOM_TOKEN=$PARTNER "$CR" match --server "$URL" --cacert "$CA" --collab "$C" --ids "$S/partner.csv" \
    --group-by segment --metrics count,sum:spend | tee "$1"
}
match "$DEMO/match1.txt"

step "9. End users withdraw consent: purged at once (I3), each with a signed receipt"
# One customer whose consent allows everything withdraws alone and keeps the
# receipt (the status is asked by SHA-256 digest: no identifier in a URL);
# then 400 others unsubscribe in one batch.
pick=""
for i in $(seq 2 60); do
  email=$(sed -n "${i}p" "$S/customers.csv" | cut -d, -f1)
  dg=$(printf '%s' "$email" | python3 -c "import sys,hashlib; print(hashlib.sha256(sys.stdin.read().strip().lower().encode()).hexdigest())")
  code=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $BRAND" -o "$DEMO/body" -w '%{http_code}' \
           "$URL/v1/brands/acme/subjects/$dg/status?id_type=email")
  if [ "$code" = 200 ] && show 'import sys; sys.exit(0 if d["decisions"] and all(x["allowed"] for x in d["decisions"]) else 1)'; then
    pick=$i; break
  fi
done
[ -n "$pick" ] || { echo "no fully consented customer among the first rows"; exit 1; }
python3 - "$S/customers.csv" "$pick" > "$DEMO/one.json" <<'PY'
import csv, datetime, json, sys
t = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
rows = list(csv.DictReader(open(sys.argv[1])))
print(json.dumps({"type": "withdraw", "subject": rows[int(sys.argv[2]) - 2]["email"], "time": t, "channel": "web"}))
PY
python3 - "$S/customers.csv" "$pick" > "$DEMO/batch.ndjson" <<'PY'
import csv, datetime, json, sys
t = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
skip = int(sys.argv[2]) - 2
for i, row in enumerate(list(csv.DictReader(open(sys.argv[1])))[:401]):
    if i != skip:
        print(json.dumps({"type": "withdraw", "subject": row["email"], "time": t, "channel": "web"}))
PY
api "$BRAND" POST /v1/brands/acme/consents -H "$J" --data-binary @"$DEMO/one.json"
show 'print("withdrawn; records purged:", d["purged_records"]); json.dump(d["receipt"], open("'"$DEMO"'/receipt.json", "w"))'
api "$BRAND" POST /v1/brands/acme/consents/batch -H 'Content-Type: application/x-ndjson' --data-binary @"$DEMO/batch.ndjson"
show 'print("batch withdrawals stored:", d["stored"])'
rm -f "$DEMO/one.json" "$DEMO/batch.ndjson"
printf '$ cleanroom receipt verify receipt.json --receipt-key "$RKEY" --key "$VKEY"\n'
"$CR" receipt verify "$DEMO/receipt.json" --receipt-key "$RKEY" --key "$VKEY"

step "10. The same match again: the withdrawn customers are no longer counted"
match "$DEMO/match2.txt"
before=$(sed -n 's/^noisy total: //p' "$DEMO/match1.txt")
after=$(sed -n 's/^noisy total: //p' "$DEMO/match2.txt")
echo "noisy overlap before the withdrawals: $before; after: $after"
api "$PARTNER" GET "/v1/collaborations/$C/budget"
show 'print("ledger: spent", d["spent"], "left", d["left"], "debits", len(d["debits"]))'
echo "(the budget belongs to the dataset and partner: a new collaboration on crm with partner-1 would draw on it too)"
api "$BRAND" POST "/v1/collaborations/$C/budget" -H "$J" -d '{"budget":"3"}'
show 'print("the brand raised the budget to", d["budget"], "(audited: collab.budget_raise)")'
api "$PARTNER" GET "/v1/collaborations/$C/budget"
show 'print("the partner sees the raise in its ledger:", [(r["from"], r["to"], r["by"]) for r in d["raises"]], "left", d["left"])'

step "11. The compliance officer reads the log, takes the brand's signed compliance report, checks a proof; then verifies everything offline"
api "$OFFICER" GET "/v1/audit/log?type=match.release&limit=5"
show 'print("match releases in the log:", [e["index"] for e in d["entries"]])'
api "$OFFICER" GET /v1/audit/checkpoint
cat "$DEMO/body"
SINCE=$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ); UNTIL=$(date -u -d '1 day' +%Y-%m-%dT%H:%M:%SZ)
api "$OFFICER" GET "/v1/brands/acme/reports/compliance?since=$SINCE&until=$UNTIL"
cp "$DEMO/body" "$DEMO/compliance.json"
show 'f=d["report"]["figures"]; print("compliance report (every figure cites the entries that prove it):", {k: f[k]["count"] for k in ("consents", "withdrawals", "ingests", "match_sessions", "releases", "refusals")})'
stop_server
echo "(service stopped with SIGTERM: in-flight requests finished, database closed)"
idx=$("$CR" audit log --brand acme --type match.release --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["index"])')
"$CR" audit prove --index "$idx" > "$DEMO/proof.txt"
run audit verify-proof --key "$VKEY" "$DEMO/proof.txt"
# The officer takes the log away and checks it with the key they kept since step 1.
run audit export --out "$DEMO/audit-export"
(cd / && run audit verify --log "$DEMO/audit-export" --key "$VKEY")
# The report too: its signature, its checkpoint, and every figure proven entry by entry against the export.
(cd / && run report verify --report "$DEMO/compliance.json" --key "$PKEY" --log-key "$VKEY" --log "$DEMO/audit-export")

echo
echo "demo: done. Every step above is in the signed audit log; README.md lists what is not built yet."
