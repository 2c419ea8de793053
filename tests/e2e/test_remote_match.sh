#!/usr/bin/env bash
# e2e: the remote partner client (`cleanroom match --server`) against a live
# `cleanroom serve` over HTTPS with the self-signed certificate of DATA/tls.
# Checks that a remote match prints what local mode prints (same shape, same
# partner-list counts, same element traffic, noisy totals within the noise
# bound), that the certificate is verified (no --cacert: refused), that a bad
# token, another partner's token and a missing collaboration are refused
# with clear messages and charge nothing, that another token of the same
# partner cannot see a session it did not open, that a withdrawal through
# the API between two matches lowers the second one's count (I3), that a
# partner's relayed withdrawal takes effect and another partner's is refused
# (R23), that the
# remote process never opens a data directory, and that the log verifies.
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
d=$PWD/data
log=$PWD/serve.log
out=$PWD/all-output.txt
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT
# expect RC PATTERN cmd...: the command exits RC and its stderr matches PATTERN
expect() {
  local want=$1 pat=$2; shift 2
  set +e; err=$("$CR" "$@" 2>&1 >/dev/null); rc=$?; set -e
  echo "$err" >>"$out"
  [ "$rc" -eq "$want" ] && echo "$err" | grep -q -- "$pat" \
    || { echo "expected rc=$want and '$pat' from '$*', got rc=$rc: $err"; exit 1; }
}

"$CR" init --data "$d" >/dev/null 2>&1
"$CR" synth --customers 2000 --partner-rows 2000 --overlap 0.6 --seed 11 --out "$PWD/s" >/dev/null 2>&1
export CLEANROOM_DATA=$d
"$CR" brand create acme >/dev/null 2>&1
"$CR" notice publish --brand acme --published-at 2026-01-01T00:00:00+08:00 s/notice.json >/dev/null 2>&1
"$CR" pia add --brand acme --ref PIA-1 --covers ads_measurement,audience_insights >/dev/null 2>&1
"$CR" consent import --brand acme s/consent.ndjson >/dev/null 2>&1
"$CR" dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email \
  --columns 'segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)' >/dev/null 2>&1
"$CR" ingest --brand acme --dataset crm s/customers.csv >/dev/null 2>&1
C=$("$CR" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment,region \
      --metrics count,sum:spend --k 20 --epsilon 0.5 --budget 3 --min-partner-set 100 --json 2>/dev/null \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
# More collaborations for the session caps: two more for partner-1, one for partner-2.
C2=$("$CR" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment \
      --metrics count --k 20 --epsilon 0.5 --budget 3 --min-partner-set 100 --json 2>/dev/null \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
C3=$("$CR" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment,region \
      --metrics count --k 20 --epsilon 0.5 --budget 3 --min-partner-set 100 --json 2>/dev/null \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
sed 's/partner-1/partner-2/g' s/notice.json > notice2.json
"$CR" brand create beta >/dev/null 2>&1
"$CR" notice publish --brand beta --published-at 2026-01-01T00:00:00+08:00 notice2.json >/dev/null 2>&1
"$CR" pia add --brand beta --ref PIA-1 --covers ads_measurement,audience_insights >/dev/null 2>&1
"$CR" dataset create --brand beta --name crm2 --purposes audience_insights --recipients partner-2 --id-type email \
  --columns 'segment:enum(a|b|c)' >/dev/null 2>&1
C4=$("$CR" collab create --brand beta --dataset crm2 --partner partner-2 --dimensions segment \
      --metrics count --k 20 --epsilon 0.5 --budget 3 --min-partner-set 100 --json 2>/dev/null \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
p1=$("$CR" token issue --role partner --tenant partner-1 --name p1 2>/dev/null)
p1b=$("$CR" token issue --role partner --tenant partner-1 --name p1-second 2>/dev/null)
p2=$("$CR" token issue --role partner --tenant partner-2 --name p2 2>/dev/null)
brand=$("$CR" token issue --role brand --tenant acme --name acme 2>/dev/null)
ca=$d/tls/cert.pem

# One local match first (same data directory, before the server holds it).
"$CR" match --collab "$C" --ids s/partner.csv --group-by segment --json > local.json 2>>"$out"

"$CR" serve --listen 127.0.0.1:0 --threads 2 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^https:// ]] || { echo "no listening line:"; cat "$log"; exit 1; }

# The remote partner has no data directory: point CLEANROOM_DATA at nothing.
remote() { CLEANROOM_DATA=$PWD/no-such-dir "$CR" match --server "$url" --cacert "$ca" "$@"; }

CLEANROOM_TOKEN=$p1 remote --collab "$C" --ids s/partner.csv --group-by segment --json > remote.json 2>>"$out"
[ ! -e no-such-dir ] || { echo "remote mode created a data directory"; exit 1; }
python3 - <<'PY'
import json
l, r = json.load(open("local.json")), json.load(open("remote.json"))
assert set(l) == set(r), (set(l), set(r))
assert l["partner_list"] == r["partner_list"], (l["partner_list"], r["partner_list"])
lr, rr = l["release"], r["release"]
assert rr["outcome"] == "released" and rr["charged"] is True, rr
assert set(lr) == set(rr) and lr["query"] == rr["query"], (lr, rr)
assert lr["budget_left"] == "2.500" and rr["budget_left"] == "2.000", (lr["budget_left"], rr["budget_left"])
# the element traffic is identical; only the round-1 JSON differs slightly
for k in ("to_service", "from_service"):
    assert abs(l["traffic"][k] - r["traffic"][k]) < 512, (k, l["traffic"], r["traffic"])
# both noisy totals estimate the same true count (noise scale 2/0.5 per cell)
assert abs(lr["noisy_total"] - rr["noisy_total"]) < 120, (lr["noisy_total"], rr["noisy_total"])
PY

# Text output is the local mode's.
CLEANROOM_TOKEN=$p1 remote --collab "$C" --ids s/partner.csv --group-by region > remote.txt 2>>"$out"
grep -q "^region" remote.txt && grep -q "epsilon spent 0.500; budget left 1.500 of 3.000" remote.txt \
  || { echo "remote text output differs:"; cat remote.txt; exit 1; }

# Refusals: the certificate, the token, the tenant, the rule; none charges anything.
expect 1 "certificate could not be verified" match --server "$url" --token "$p1" --collab "$C" --ids s/partner.csv
expect 1 "token is invalid or revoked" match --server "$url" --cacert "$ca" --token "not-a-token" --collab "$C" --ids s/partner.csv
expect 1 "no collaboration $C for you" match --server "$url" --cacert "$ca" --token "$p2" --collab "$C" --ids s/partner.csv
expect 1 "token's role may not use this route" match --server "$url" --cacert "$ca" --token "$brand" --collab "$C" --ids s/partner.csv
expect 1 "groups by a column the analysis rule does not allow.*nothing charged; budget left 1.500 of 3.000" \
  match --server "$url" --cacert "$ca" --token "$p1" --collab "$C" --ids s/partner.csv --group-by age_band
head -6 s/partner.csv > small.csv
expect 1 "smaller than the collaboration's minimum.*nothing charged; budget left 1.500 of 3.000" \
  match --server "$url" --cacert "$ca" --token "$p1" --collab "$C" --ids small.csv
expect 2 "need --server" match --token "$p1" --collab "$C" --ids s/partner.csv
expect 2 "needs a partner token" match --server "$url" --collab "$C" --ids s/partner.csv
expect 2 "https://" match --server "ftp://localhost" --token "$p1" --collab "$C" --ids s/partner.csv
expect 2 "https://" match --server "http://127.0.0.1:1" --token "$p1" --collab "$C" --ids s/partner.csv
expect 1 "could not be reached" match --server "https://127.0.0.1:1" --token "$p1" --collab "$C" --ids s/partner.csv

# A session belongs to the token that opened it: the partner's other token sees nothing.
sid=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $p1" -H 'Content-Type: application/json' \
        -d '{"group_by":"segment"}' "$url/v1/collaborations/$C/sessions" | python3 -c "import json,sys; print(json.load(sys.stdin)['session'])")
st=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $p1b" -o /dev/null -w '%{http_code}' "$url/v1/sessions/$sid")
[ "$st" = 404 ] || { echo "another token saw the session: $st"; exit 1; }
st=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $p1b" -X DELETE -o /dev/null -w '%{http_code}' "$url/v1/sessions/$sid")
[ "$st" = 404 ] || { echo "another token ended the session: $st"; exit 1; }
st=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $p1" -X DELETE -o body -w '%{http_code}' "$url/v1/sessions/$sid")
[ "$st" = 200 ] && grep -q '"state":"refused"' body || { echo "owner could not end the session: $st $(cat body)"; exit 1; }

# Session caps hold under a race: 8 opens at once on a collaboration whose cap
# is 2 give exactly two sessions. A partner holds at most 4 of the server's 16,
# so another partner still gets one.
open_session() { # open_session TOKEN COLLAB OUTFILE: prints the status, the body to OUTFILE
  curl -sS --cacert "$ca" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d '{"group_by":"segment"}' -o "$3" -w '%{http_code}' "$url/v1/collaborations/$2/sessions"
}
end_sessions() { # ends every session whose id is in the given bodies
  for f in "$@"; do
    s=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('session',''))" "$f" 2>/dev/null || true)
    [ -z "$s" ] || curl -sS --cacert "$ca" -H "Authorization: Bearer $p1" -X DELETE -o /dev/null "$url/v1/sessions/$s"
  done
}
racers=()
for i in 1 2 3 4 5 6 7 8; do open_session "$p1" "$C" "race$i.body" > "race$i.status" & racers+=($!); done
wait "${racers[@]}"
ok=0; full=0
for f in race*.status; do case $(cat "$f") in 201) ok=$((ok + 1)) ;; 429) full=$((full + 1)) ;; esac; done
[ "$ok" -eq 2 ] && [ "$full" -eq 6 ] || { echo "8 racing opens against a cap of 2: $ok opened, $full refused"; exit 1; }
grep -l psi_sessions_full race*.body >/dev/null
st=$(open_session "$p1" "$C2" c2a.body); [ "$st" = 201 ] || { echo "C2 open: $st"; exit 1; }
st=$(open_session "$p1" "$C2" c2b.body); [ "$st" = 201 ] || { echo "C2 open: $st"; exit 1; }
st=$(open_session "$p1" "$C3" c3.body)
[ "$st" = 429 ] && grep -q psi_sessions_full c3.body || { echo "a partner's fifth session: $st $(cat c3.body)"; exit 1; }
st=$(open_session "$p2" "$C4" c4.body)
[ "$st" = 201 ] || { echo "another partner was refused while one partner held 4: $st $(cat c4.body)"; exit 1; }
s4=$(python3 -c "import json; print(json.load(open('c4.body'))['session'])")
curl -sS --cacert "$ca" -H "Authorization: Bearer $p2" -X DELETE -o /dev/null "$url/v1/sessions/$s4"
end_sessions race*.body c2a.body c2b.body
st=$(open_session "$p1" "$C3" c3.body); [ "$st" = 201 ] || { echo "a slot was not given back: $st"; exit 1; }
end_sessions c3.body

# A withdrawal through the API between two matches: 400 customers withdraw everything.
python3 - <<'PY' > withdraw.ndjson
import csv, json, datetime
t = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
for row in list(csv.DictReader(open("s/customers.csv")))[:400]:
    print(json.dumps({"type": "withdraw", "subject": row["email"], "time": t, "channel": "web"}))
PY
curl -sS --cacert "$ca" -H "Authorization: Bearer $brand" -H 'Content-Type: application/x-ndjson' \
  --data-binary @withdraw.ndjson -o body "$url/v1/brands/acme/consents/batch"
rm -f withdraw.ndjson
CLEANROOM_TOKEN=$p1 remote --collab "$C" --ids s/partner.csv --group-by segment --json > after.json 2>>"$out"
python3 - <<'PY'
import json
before = json.load(open("remote.json"))["release"]["noisy_total"]
after = json.load(open("after.json"))["release"]
assert after["budget_left"] == "1.000", after
# about 400 * 0.6 overlap * the consented share left the match; noise is a few units per cell
assert before - after["noisy_total"] > 80, (before, after["noisy_total"])
PY

# The ledger as the partner sees it, and the audit log still verifies.
curl -sS --cacert "$ca" -H "Authorization: Bearer $p1" -o body "$url/v1/collaborations/$C/budget"
python3 -c "import json; l=json.load(open('body')); assert l['spent']=='2.000' and len(l['debits'])==4, l"

# R23: partner-1 passes on a withdrawal it received from one of its own
# customers who is also acme's (picked past the 400 withdrawn above, with a
# grant the status shows). Another partner is told the collaboration does not
# exist; after partner-1's relay the brand's status denies every purpose.
python3 - > relay.digest <<'PY'
import csv, hashlib
customers = [r["email"].strip().lower() for r in csv.DictReader(open("s/customers.csv"))][400:]
ours = {r["email"].strip().lower() for r in csv.DictReader(open("s/partner.csv"))}
for e in customers:
    if e in ours:
        print(hashlib.sha256(e.encode()).hexdigest())
        break
PY
dg=$(cat relay.digest); rm -f relay.digest
[ ${#dg} = 64 ] || { echo "no customer of both sides to relay"; exit 1; }
allowed() {
  curl -sS --cacert "$ca" -H "Authorization: Bearer $brand" -o body "$url/v1/brands/acme/subjects/$dg/status?id_type=email"
  python3 -c "import json; print(sum(1 for d in json.load(open('body'))['decisions'] if d['allowed']))"
}
[ "$(allowed)" -gt 0 ] || { echo "the picked subject has no grant to withdraw"; exit 1; }
relay() {
  curl -sS --cacert "$ca" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -o body -w '%{http_code}' \
    -d "{\"id_type\":\"email\",\"digest\":\"$dg\"}" "$url/v1/collaborations/$C/withdrawals"
}
st=$(relay "$p2"); [ "$st" = 404 ] || { echo "another partner's relay answered $st"; exit 1; }
[ "$(allowed)" -gt 0 ] || { echo "another partner's relay withdrew something"; exit 1; }
st=$(relay "$p1"); [ "$st" = 202 ] || { echo "partner-1's relay answered $st"; cat body; exit 1; }
python3 -c "import json; b=json.load(open('body')); assert b['status']=='received' and b['receipt']['payload']['subject']['pseudonym'] is None, b"
[ "$(allowed)" = 0 ] || { echo "the relayed withdrawal did not take effect"; exit 1; }
curl -sS --cacert "$ca" -H "Authorization: Bearer $brand" -o body "$url/v1/brands/acme/subjects/$dg/export?id_type=email"
python3 -c "
import json
ev = json.load(open('body'))['events']
assert any(e['type'] == 'withdraw' and e.get('channel') == 'partner:partner-1' and e.get('method') == 'partner_relay' for e in ev), 'no relayed withdrawal in the export'"

# A stop between two rounds (SIGKILL): the next start ends the open session
# with a match.abort leaf naming it (issue 21 item 7).
sid=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $p1" -H 'Content-Type: application/json' \
        -d '{"group_by":"segment"}' "$url/v1/collaborations/$C/sessions" | python3 -c "import json,sys; print(json.load(sys.stdin)['session'])")
kill -KILL "$pid"; wait "$pid" || true; pid=
"$CR" serve --listen 127.0.0.1:0 --threads 2 2>"$log.restart" &
pid=$!
[ -n "$(serve_url "$log.restart")" ] || { echo "no listening line after the restart:"; cat "$log.restart"; exit 1; }
grep -q '"message":"match sessions left open by the last stop were aborted","sessions":"1"' "$log.restart" \
  || { echo "the restart did not abort the open session:"; cat "$log.restart"; exit 1; }
"$CR" audit log --json --limit 5 | python3 -c "
import json, sys
doc = json.load(sys.stdin)
entries = doc['entries'] if isinstance(doc, dict) else doc
assert any(e['type'] == 'match.abort' and e['session'] == '$sid' for e in entries), 'no match.abort leaf for the session'"
kill -TERM "$pid"; wait "$pid" || true; pid=
"$CR" audit verify | grep -q "audit log OK"

# I4/I1: nothing record-level in what the remote partner printed or the server logged.
python3 - "$out" remote.json after.json remote.txt "$log" <<'PY'
import csv, hashlib, re, sys
everything = b"".join(open(f, "rb").read() for f in sys.argv[1:])
for row in list(csv.DictReader(open("s/partner.csv")))[:300]:
    e = row["email"].strip().lower()
    assert e.encode() not in everything.lower(), "an identifier was printed"
    assert hashlib.sha256(e.encode()).hexdigest().encode() not in everything, "a digest was printed"
assert not re.search(rb"[0-9a-f]{64}", b"".join(open(f, "rb").read() for f in sys.argv[2:5])), "a 64-hex value was printed"
PY
