#!/usr/bin/env bash
# e2e: the HTTP API over HTTPS on 127.0.0.1 (random free port, the
# self-signed certificate of DATA/tls): admin creates a brand; the brand
# publishes its notice, imports consent (NDJSON batch), creates a dataset and
# uploads its customer list; the subject's status by digest (never a raw
# email in a URL); a withdrawal through the API with its receipt, verified
# offline by `cleanroom receipt verify`; the audit log, checkpoint, proofs
# (one checked offline by `cleanroom audit verify-proof`). Then the refusals:
# 401, 403 (role and tenant), 429 with Retry-After, malformed JSON, unknown
# fields, oversized bodies, wrong media types, each a JSON error that stores
# nothing, and the server keeps serving. Last, I1: every response (body and
# headers) and the server's log hold no identifier and no digest of one, the
# status and export of the withdrawn subject among them.
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
here=$(cd "$(dirname "$0")" && pwd)
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
d=$PWD/data
log=$PWD/serve.log
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT

VKEY=$("$CR" init --data "$d" 2>/dev/null)
"$CR" synth --customers 300 --overlap 0.5 --seed 5 --out "$PWD/s" >/dev/null 2>&1
admin=$("$CR" token issue --data "$d" --role admin --tenant ops --name root 2>/dev/null)
brand=$("$CR" token issue --data "$d" --role brand --tenant acme --name acme-ci 2>/dev/null)
officer=$("$CR" token issue --data "$d" --role officer --tenant acme --name acme-dpo 2>/dev/null)
other=$("$CR" token issue --data "$d" --role brand --tenant other --name other-ci 2>/dev/null)
partner=$("$CR" token issue --data "$d" --role partner --tenant adco --name adco 2>/dev/null)
flood=$("$CR" token issue --data "$d" --role officer --tenant acme --name flood 2>/dev/null)

"$CR" serve --data "$d" --listen 127.0.0.1:0 --threads 2 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || { echo "no listening line:"; cat "$log"; exit 1; }
ca=$d/tls/cert.pem

# c TOKEN ARGS...: prints the status; the body goes to ./body, headers to ./headers.
# Every response is also kept in resp/ and listed in resp.index ("FILE STATUS URL",
# the URL being the last argument): all of them are searched for identifiers.
mkdir resp
c() {
  local t=$1 auth=() code k; shift
  [ -z "$t" ] || auth=(-H "Authorization: Bearer $t")
  : >body; : >headers
  code=$(curl -sS --cacert "$ca" "${auth[@]}" -D headers -o body -w '%{http_code}' "$@" || true)
  k=$(mktemp resp/XXXXXX)
  cp body "$k.body"; cp headers "$k.headers"; rm -f "$k"
  echo "$k $code ${*: -1}" >>resp.index
  printf '%s' "$code"
}
# refute FILE PATTERN...: fails if FILE holds a PATTERN, or if grep cannot read it.
refute() {
  local f=$1 rc=0 p=(); shift
  for x in "$@"; do p+=(-e "$x"); done
  grep -a -q "${p[@]}" -- "$f" || rc=$?
  [ $rc -eq 1 ] || { echo "$f holds one of: $* (or is unreadable; grep: $rc)"; exit 1; }
}
expect() { # expect STATUS CODE|- TOKEN ARGS...
  local want=$1 code=$2 got; shift 2
  got=$(c "$@")
  [ "$got" = "$want" ] || { echo "${*:2} -> $got, want $want: $(cat body)"; exit 1; }
  if [ "$code" != - ]; then
    grep -Eq "^\{\"error\":\{\"code\":\"$code\",\"message\":\"[^\"]+\"\}\}$" body \
      || { echo "${*:2} -> body is not the $code error: $(cat body)"; exit 1; }
  fi
}
json() { python3 -c "import json,sys; d=json.load(open('body')); $1"; }
J='Content-Type: application/json'
ND='Content-Type: application/x-ndjson'
rows() { sqlite3 "$d/cleanroom.db" "select (select count(*) from records)+(select count(*) from datasets)+(select count(*) from audit_leaves)+(select count(*) from consent_events)+(select count(*) from brands)"; }

# --- brand, notice, consent batch ---------------------------------------------
expect 201 - "$admin" -H "$J" -d '{"name":"acme"}' "$url/v1/brands"
expect 201 - "$admin" -H "$J" -d '{"name":"other"}' "$url/v1/brands"
expect 409 consent_brand_exists "$admin" -H "$J" -d '{"name":"acme"}' "$url/v1/brands"
expect 201 - "$brand" -H "$J" --data-binary @s/notice.json "$url/v1/brands/acme/notices?published_at=2026-01-01T00:00:00%2B08:00"
json 'assert d["version"]==1 and len(d["sha256"])==64, d'
expect 200 - "$officer" "$url/v1/brands/acme/notices/1"
expect 200 - "$brand" -H "$ND" --data-binary @s/consent.ndjson "$url/v1/brands/acme/consents/batch"
json 'assert d["refused"]==0 and d["stored"]>500 and d["refused_lines"]==[], d'
# a batch with a bad line: refused with its number and reason, never the subject
printf '{"type":"grant","subject":"zz@example.org","purpose":"ads_measurement"}\nnot json\n' > bad.ndjson
expect 200 - "$brand" -H "$ND" --data-binary @bad.ndjson "$url/v1/brands/acme/consents/batch"
json 'assert d["refused"]==2 and [r["line"] for r in d["refused_lines"]]==[1,2], d'
refute body 'zz@example.org'

# --- dataset and ingest upload ------------------------------------------------
COLS='segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'
# R28: refused until an impact assessment covers the purposes; the officer reads assessments, never records them
expect 409 pia_missing "$brand" -H "$J" \
  -d "{\"name\":\"crm\",\"purposes\":[\"ads_measurement\"],\"id_type\":\"email\",\"columns\":\"$COLS\"}" \
  "$url/v1/brands/acme/datasets"
expect 403 auth_forbidden "$officer" -H "$J" -d '{"ref":"PIA-1","covers":["ads_measurement"]}' \
  "$url/v1/brands/acme/impact-assessments"
expect 201 - "$brand" -H "$J" -d '{"ref":"PIA-1","covers":["ads_measurement","audience_insights"],"kind":"pipia"}' \
  "$url/v1/brands/acme/impact-assessments"
expect 409 pia_exists "$brand" -H "$J" -d '{"ref":"PIA-1","covers":["ads_measurement"]}' \
  "$url/v1/brands/acme/impact-assessments"
expect 200 - "$officer" "$url/v1/brands/acme/impact-assessments"
json 'assert [x["ref"] for x in d["impact_assessments"]]==["PIA-1"], d'
expect 201 - "$brand" -H "$J" -d '{"recipient":"partner-1","mechanism":"standard-contract","ref":"SC-1"}' \
  "$url/v1/brands/acme/transfers"
expect 200 - "$officer" "$url/v1/brands/acme/transfers"
json 'assert [(x["recipient"], x["mechanism"]) for x in d["transfers"]]==[("partner-1","standard-contract")], d'
expect 201 - "$brand" -H "$J" \
  -d "{\"name\":\"crm\",\"purposes\":[\"ads_measurement\",\"audience_insights\"],\"recipients\":[\"partner-1\"],\"id_type\":\"email\",\"columns\":\"$COLS\"}" \
  "$url/v1/brands/acme/datasets"
expect 409 dataset_exists "$brand" -H "$J" \
  -d "{\"name\":\"crm\",\"purposes\":[\"ads_measurement\"],\"id_type\":\"email\",\"columns\":\"$COLS\"}" \
  "$url/v1/brands/acme/datasets"
expect 200 - "$officer" "$url/v1/brands/acme/datasets"
json 'assert [x["name"] for x in d["datasets"]]==["crm"], d'
expect 200 - "$brand" -H 'Content-Type: text/csv' --data-binary @s/customers.csv \
  "$url/v1/brands/acme/datasets/crm/ingest"
json 'assert d["read"]==300 and d["accepted"]>0 and d["rejected"]["no_consent"]["count"]>0, d'
accepted=$(json 'print(d["accepted"])')
expect 200 - "$brand" "$url/v1/brands/acme/datasets/crm"
json "assert d['records']==$accepted, d"
# a malformed file is refused whole: nothing stored
before=$(rows)
printf 'email,segment\n"unterminated,a\n' > broken.csv
expect 400 - "$brand" -H 'Content-Type: text/csv' --data-binary @broken.csv "$url/v1/brands/acme/datasets/crm/ingest"
[ "$(rows)" = "$before" ] || { echo "a refused upload stored something"; exit 1; }
expect 415 http_media_type "$brand" -H "$J" --data-binary @s/customers.csv "$url/v1/brands/acme/datasets/crm/ingest"

# --- status by digest, withdrawal with receipt ---------------------------------
digest() { printf '%s' "$1" | python3 -c "import sys,hashlib; print(hashlib.sha256(sys.stdin.read().strip().lower().encode()).hexdigest())"; }
pick=""; pd=""
while IFS=, read -r email rest; do
  [ "$email" = email ] && continue
  case "$email" in *gmail.com*|*googlemail.com*) continue;; esac
  dg=$(digest "$email")
  [ "$(c "$brand" "$url/v1/brands/acme/subjects/$dg/status?id_type=email")" = 200 ] || continue
  if json 'import sys; sys.exit(0 if d["decisions"] and all(x["allowed"] for x in d["decisions"]) else 1)'; then
    pick=$email; pd=$dg; break
  fi
done < <(head -40 s/customers.csv)
[ -n "$pick" ] || { echo "no fully consented customer found via the API"; exit 1; }
expect 200 - "$officer" "$url/v1/brands/acme/subjects/$pd/export?id_type=email"
json 'assert d["events"], d'
expect 400 http_query "$brand" "$url/v1/brands/acme/subjects/$pd/status"
n_before=$(sqlite3 "$d/cleanroom.db" "select count(*) from records")
python3 -c "
import json,sys,datetime
t=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
print(json.dumps({'type':'withdraw','subject':sys.argv[1],'time':t,'channel':'web'}))" "$pick" > w.json
expect 201 - "$brand" -H "$J" --data-binary @w.json "$url/v1/brands/acme/consents"
json 'assert d["type"]=="withdraw" and d["purged_records"]==1, d'
json 'json.dump(d["receipt"], open("receipt.json","w"))'
n_after=$(sqlite3 "$d/cleanroom.db" "select count(*) from records")
[ "$n_after" -eq $((n_before - 1)) ] || { echo "withdrawal purged $((n_before - n_after)) records"; exit 1; }
# R24: every event, by the batch or the single route, records who acted and
# how it arrived; the withdrawal above stated only its channel.
src=$(sqlite3 "$d/cleanroom.db" "select actor||'/'||channel||'/'||method from consent_events where type='withdraw' order by id desc limit 1")
[ "$src" = brand/web/api ] || { echo "R24: the withdrawal recorded '$src'"; exit 1; }
n=$(sqlite3 "$d/cleanroom.db" "select count(*) from consent_events where actor is null or channel is null or method is null")
[ "$n" -eq 0 ] || { echo "R24: $n events lack actor, channel or method"; exit 1; }
expect 200 - "$brand" "$url/v1/brands/acme/subjects/$pd/status?id_type=email"
grep -q WITHDRAWN body
RKEY=$("$CR" audit key --receipts --data "$d")
[ "$RKEY" != "$VKEY" ] || { echo "receipts and checkpoints share a key"; exit 1; }
"$CR" receipt verify receipt.json --receipt-key "$RKEY" --key "$VKEY" | grep -q "proven in the signed log"
expect 200 - "$partner" -H "$J" --data-binary @receipt.json "$url/v1/receipts/verify"
json 'assert d["valid"] and d["type"]=="withdraw" and d["audit_proof_verified"], d'
python3 -c "
import json; r=json.load(open('receipt.json')); r['payload']['audit_index'] += 1
json.dump(r, open('tampered.json','w'))"
expect 400 - "$brand" -H "$J" --data-binary @tampered.json "$url/v1/receipts/verify"
# Issue 19: erasure over the API: only the brand, only its own tenant; the
# answer's receipt names no pseudonym and the erasure entry's proof checks.
expect 403 auth_forbidden "$officer" -X POST "$url/v1/brands/acme/subjects/$pd/erase?id_type=email"
expect 403 auth_tenant "$other" -X POST "$url/v1/brands/acme/subjects/$pd/erase?id_type=email"
expect 200 - "$brand" -X POST "$url/v1/brands/acme/subjects/$pd/erase?id_type=email"
json 'assert d["status"]=="erased" and d["erased"]["audit_salts"]==1 and d["receipt"]["payload"]["subject"]["pseudonym"] is None, d'
json 'open("erase-proof.txt","w").write(d["erasure"]["audit_proof"])'
"$CR" audit verify-proof --key "$VKEY" erase-proof.txt | grep -q "proof OK"

# --- audit ---------------------------------------------------------------------
expect 200 - "$officer" "$url/v1/audit/log?type=consent.withdraw&limit=5"
json 'assert d["entries"] and all(e["tenant"]=="acme" for e in d["entries"]), d'
idx=$(json 'print(d["entries"][0]["index"])')
expect 200 - "$admin" "$url/v1/audit/log?brand=other"
expect 200 - "$partner" "$url/v1/audit/checkpoint"
size=$(sed -n 2p body)
expect 200 - "$officer" "$url/v1/audit/proof/inclusion?index=$idx"
cp body proof.txt
"$CR" audit verify-proof --key "$VKEY" proof.txt | grep -q "proof OK"
expect 200 - "$officer" "$url/v1/audit/proof/consistency?from=1&to=$size"
json 'import base64; assert all(len(base64.b64decode(h))==32 for h in d["hashes"]), d'
expect 200 - "$brand" "$url/v1/audit/key"
[ "$(cat body)" = "$VKEY" ] || [ "$(cat body)" = "$VKEY"$'\n' ] || { echo "audit key differs"; exit 1; }

# --- refusals: nothing stored, the server keeps serving --------------------------
before=$(rows)
expect 401 auth_missing "" "$url/v1/brands/acme/datasets"
expect 401 auth_invalid "crt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$url/v1/brands/acme/datasets"
expect 403 auth_forbidden "$officer" -H "$J" -d '{"name":"x","purposes":["ads_measurement"],"id_type":"email","columns":"a:int(0..1)"}' "$url/v1/brands/acme/datasets"
expect 403 auth_forbidden "$partner" "$url/v1/brands/acme/datasets"
expect 403 auth_tenant "$other" -H "$ND" --data-binary @s/consent.ndjson "$url/v1/brands/acme/consents/batch"
expect 403 auth_tenant "$other" "$url/v1/brands/acme/subjects/$pd/status?id_type=email"
expect 403 auth_tenant "$officer" "$url/v1/audit/log?brand=other"
expect 403 auth_forbidden "$brand" -H "$J" -d '{"name":"evil"}' "$url/v1/brands"
expect 400 json_malformed "$brand" -H "$J" -d '{"name":' "$url/v1/brands/acme/datasets"
expect 400 json_unknown_field "$brand" -H "$J" \
  -d "{\"name\":\"d2\",\"purposes\":[\"ads_measurement\"],\"id_type\":\"email\",\"columns\":\"$COLS\",\"owner\":\"x\"}" \
  "$url/v1/brands/acme/datasets"
expect 400 json_type "$brand" -H "$J" -d '{"name":7,"purposes":[],"id_type":"email","columns":"a"}' "$url/v1/brands/acme/datasets"
expect 415 http_media_type "$brand" -H 'Content-Type: text/plain' -d '{}' "$url/v1/brands/acme/consents"
head -c 40000 /dev/zero | tr '\0' ' ' > big.json
expect 413 too_large "$brand" -H "$J" --data-binary @big.json "$url/v1/brands/acme/consents"
expect 404 - "$brand" "$url/v1/brands/acme/datasets/nope"
[ "$(rows)" = "$before" ] || { echo "a refused request stored something"; exit 1; }

# Uploads refused on their headers never reach the disk: another brand's
# 64 MiB to acme's ingest route, a partner's 64 MiB to a session it does not
# have. The server's writes (all of them, log lines included) stay small.
head -c $((64 << 20)) /dev/zero > big.bin
wchar() { awk '/^wchar:/{print $2}' "/proc/$pid/io"; }
w0=$(wchar)
expect 403 auth_tenant "$other" -H 'Content-Type: text/csv' --data-binary @big.bin "$url/v1/brands/acme/datasets/crm/ingest"
expect 404 psi_session_not_found "$partner" -H 'Content-Type: application/octet-stream' --data-binary @big.bin \
  "$url/v1/sessions/0123456789abcdef0123456789abcdef/blinded"
w1=$(wchar)
rm -f big.bin
[ $((w1 - w0)) -lt $((4 << 20)) ] || { echo "refused uploads wrote $((w1 - w0)) bytes"; exit 1; }

# 429: one token past its burst, with Retry-After; others unaffected
args=()
for _ in $(seq 1 160); do args+=("$url/v1/audit/key"); done
curl -sS --cacert "$ca" -H "Authorization: Bearer $flood" -D flood.headers "${args[@]}" > flood.body
grep -q '^HTTP/[0-9.]* 429' flood.headers || { echo "no 429 after 160 requests"; exit 1; }
grep -qi '^Retry-After: [0-9]' flood.headers || { echo "429 without Retry-After"; exit 1; }
grep -q '{"error":{"code":"rate_limited","message":"[^"]*"}}' flood.body || { echo "429 body is not the rate_limited error"; exit 1; }
expect 200 - "$officer" "$url/v1/audit/key"
expect 200 - "" "$url/healthz"

kill -TERM "$pid"; wait "$pid"; pid=
refute "$log" crt_

# I1: no response and no log line holds an identifier or its digest. The search
# must have covered the responses where the picked subject's digest (in their
# URLs) or raw email (in the withdrawal's body) could come back.
for want in "200 $url/v1/brands/acme/subjects/$pd/status?id_type=email" \
            "200 $url/v1/brands/acme/subjects/$pd/export?id_type=email" \
            "403 $url/v1/brands/acme/subjects/$pd/status?id_type=email" \
            "201 $url/v1/brands/acme/consents"; do
  k=$(grep -F " $want" resp.index | head -1 | cut -d' ' -f1)
  [ -n "$k" ] && [ -s "$k.body" ] && [ -s "$k.headers" ] || { echo "no saved response for $want"; exit 1; }
done
python3 - >ids.txt <<'PY'
import csv
print("zz@example.org")
for r in csv.DictReader(open("s/customers.csv")):
    print(r["email"].strip()); print(r["phone"].strip())
PY
python3 "$here/find_leaks.py" search --control s/customers.csv --control bad.ndjson ids.txt \
  resp flood.body flood.headers "$log"
"$CR" audit verify --data "$d" >/dev/null
echo ok
