#!/usr/bin/env bash
# e2e: collaborations and local-mode matching through the real binary.
# Checks the analysis rule's refusals (docs/spec/privacy.md: k >= 10, the partner a
# dataset recipient, enum dimensions), a released match (noisy cells >= k,
# epsilon charged, budget left), refusals that charge nothing (too many
# dimensions, a partner set under the minimum, a malformed list, an
# exhausted budget), a match after a withdrawal, the budget ledger, the
# audit leaves of sessions, releases and refusals (I5) with a verifying log,
# and that nothing record-level reaches the output (I4).
set -euo pipefail
CR=${CLEANROOM:?}
export CLEANROOM_DATA=$PWD/data
log=$PWD/all-output.txt
run() { "$CR" "$@" 2>>"$log" | tee -a "$log"; }
# expect RC PATTERN cmd...: the command exits RC and its stderr matches PATTERN
expect() {
  local want=$1 pat=$2; shift 2
  set +e; err=$("$CR" "$@" 2>&1 >/dev/null); rc=$?; set -e
  echo "$err" >>"$log"
  [ "$rc" -eq "$want" ] && echo "$err" | grep -q -- "$pat" \
    || { echo "expected rc=$want and '$pat' from '$*', got rc=$rc: $err"; exit 1; }
}

"$CR" init >/dev/null 2>>"$log"
"$CR" synth --customers 1500 --partner-rows 1500 --overlap 0.6 --seed 5 --out "$PWD/s" >>"$log" 2>&1
run brand create acme >/dev/null
run notice publish --brand acme --published-at 2026-01-01T00:00:00+08:00 s/notice.json >/dev/null
run pia add --brand acme --ref PIA-1 --covers ads_measurement,audience_insights >/dev/null
run consent import --brand acme s/consent.ndjson >/dev/null
COLS='segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'
run dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email --columns "$COLS" >/dev/null
run ingest --brand acme --dataset crm s/customers.csv >/dev/null
# The PSI suite: x25519-ell2-sha512 unless --suite says r255-sha512; nothing
# else, and a refused create stores nothing.
run dataset describe --brand acme --name crm --json \
  | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['suite']=='x25519-ell2-sha512', d"
expect 2 "suite must be x25519-ell2-sha512 or r255-sha512" dataset create --brand acme --name crm2 \
  --purposes ads_measurement --id-type email --columns "$COLS" --suite p256-sha256
expect 1 "no dataset 'crm2'" dataset describe --brand acme --name crm2
run dataset create --brand acme --name crm_r255 --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email --columns "$COLS" --suite r255-sha512 >/dev/null
run dataset list --brand acme | grep -q "PSI suite:  r255-sha512" || { echo "list does not name the suite"; exit 1; }
run ingest --brand acme --dataset crm_r255 s/customers.csv >/dev/null

# The analysis rule's limits.
expect 1 "below the minimum of 10" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --k 5
expect 1 "not a recipient" collab create --brand acme --dataset crm --partner partner-9 --dimensions segment
expect 1 "not an enum column" collab create --brand acme --dataset crm --partner partner-1 --dimensions spend
expect 1 "not an int column" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --metrics count,sum:region
expect 2 "at most 3 decimals" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --epsilon 0.0001
expect 2 "required" collab create --brand acme --dataset crm
expect 2 "pad-to must be a whole number from 64 to 2147483648" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --pad-to 63

C=$(run collab create --brand acme --dataset crm --partner partner-1 --dimensions segment,region,age_band \
      --metrics count,sum:spend --k 20 --epsilon 0.5 --budget 1.5 --min-partner-set 100 --json \
    | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
run collab list --brand acme --json | python3 -c "
import json,sys; l=json.load(sys.stdin); assert len(l)==1 and l[0]['k']==20 and l[0]['budget_left']=='1.500', l
# the default padding: the stored records rounded up to the 64 grid, at least 1024 (docs/spec/psi-protocol.md)
assert l[0]['pad_to'] >= 1024 and l[0]['pad_to'] % 64 == 0, l
open('pad_to', 'w').write(str(l[0]['pad_to']))"

# A released match: noisy cells at or above k, the summary, the charge.
run match --collab "$C" --ids s/partner.csv --group-by segment,region --metrics count,sum:spend --json > m1.json
python3 - <<'PY'
import json
m = json.load(open("m1.json")); r = m["release"]
assert r["outcome"] == "released" and r["charged"] is True, r
assert r["epsilon_charged"] == "0.500" and r["budget_left"] == "1.000" and r["budget"] == "1.500", r
assert r["query"] == {"group_by": ["segment", "region"], "metrics": ["count", "sum:spend"]}, r["query"]
assert len(r["cells"]) + r["suppressed"]["cells"] == 15, r
for c in r["cells"]:
    assert c["count"] >= 20 and set(c) == {"dimensions", "count", "sum"}, c
    assert set(c["dimensions"]) == {"segment", "region"}, c
# 900 partner rows are customers; about 80% of customers consented
assert 500 < r["noisy_total"] < 1000, r["noisy_total"]
assert m["partner_list"]["rows"] == 1500 and m["partner_list"]["distinct"] == 1500, m
assert m["elements"] == int(open("pad_to").read()), m  # |A| is the collaboration's pad_to, not n
assert m["suite"] == "x25519-ell2-sha512", m  # the dataset's suite, named by the offer
# traffic: B and A' out, A and the release back (32 bytes per element)
assert m["traffic"]["to_service"] > 1500 * 32 + 500 * 32, m["traffic"]
PY
run match --collab "$C" --ids s/partner.csv --group-by age_band > m2.txt
grep -q "^age_band" m2.txt && grep -q "epsilon spent 0.500; budget left 0.500 of 1.500" m2.txt \
  || { echo "text output unclear:"; cat m2.txt; exit 1; }

# Refusals before anything is computed: nothing charged.
expect 1 "more dimensions than the analysis rule allows: at most 2 per query.*nothing charged; budget left 0.500 of 1.500" \
  match --collab "$C" --ids s/partner.csv --group-by segment,region,age_band
expect 1 "not allowed by the analysis rule" match --collab "$C" --ids s/partner.csv --metrics sum:age_band
head -6 s/partner.csv > small.csv
expect 1 "smaller than the collaboration's minimum.*nothing charged" match --collab "$C" --ids small.csv
printf 'email\n"unterminated@example.com\n' > bad.csv
expect 1 "nothing charged" match --collab "$C" --ids bad.csv
printf 'name\nx\n' > noid.csv
expect 1 "no identifier column" match --collab "$C" --ids noid.csv
expect 1 "no collaboration 99" match --collab 99 --ids s/partner.csv
expect 2 "required" match --collab "$C"

# A withdrawal, then the last affordable match still runs.
pick=""
while IFS=, read -r email; do
  [ "$email" = email ] && continue
  if "$CR" consent status --brand acme --subject "$email" --json 2>/dev/null \
     | python3 -c "import json,sys; sys.exit(0 if all(d['allowed'] for d in json.load(sys.stdin)) else 1)"; then
    pick=$email; break
  fi
done < s/partner.csv
[ -n "$pick" ] || { echo "no consented partner-side customer found"; exit 1; }
"$CR" consent withdraw --brand acme --subject "$pick" 2>>"$log" >/dev/null
run match --collab "$C" --ids s/partner.csv --json > m3.json
python3 -c "import json; r=json.load(open('m3.json'))['release']; assert r['budget_left']=='0.000', r"

# The budget is spent: refused before computing, charged nothing.
expect 1 "privacy budget left is less than.*budget left 0.000 of 1.500, the query needs 0.500; nothing computed, nothing charged" \
  match --collab "$C" --ids s/partner.csv
run collab budget "$C" --json > ledger.json
python3 - <<'PY'
import json
l = json.load(open("ledger.json"))
assert l["spent"] == "1.500" and l["left"] == "0.000", l
assert [d["epsilon"] for d in l["debits"]] == ["0.500"] * 3, l
assert l["debits"][0]["query"] == "group_by=segment,region;metrics=count,sum:spend", l
assert all(d["outcome"] == "released" for d in l["debits"]), l
PY

# Issue 21 item 3: the budget belongs to the (dataset, partner) pair. A second
# collaboration on the pair starts with what the first left, which is nothing;
# it cannot bring a budget of its own; only the brand's audited raise adds to
# it, strictly upward, and the ledger shows the raise to both sides.
expect 1 "dataset 'crm' already has a budget of 1.500 for partner 'partner-1'.*collab budget $C --raise" \
  collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --budget 5
C2=$(run collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --k 20 \
      --min-partner-set 100 --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['budget']=='1.500' and d['budget_left']=='0.000', d; print(d['id'])")
expect 1 "budget left 0.000 of 1.500, the query needs 0.500; nothing computed, nothing charged" \
  match --collab "$C2" --ids s/partner.csv
expect 2 "--raise needs --brand" collab budget "$C2" --raise 2
expect 2 "--raise must be a decimal" collab budget "$C2" --raise 2.0001 --brand acme
expect 2 "--raise must be a decimal" collab budget "$C2" --raise 1001 --brand acme
expect 1 "--raise 1.500 is not above the budget 1.500 of dataset .crm. for partner .partner-1.; a budget only goes up" \
  collab budget "$C2" --raise 1.5 --brand acme
expect 1 "--raise 1.200 is not above the budget 1.500" collab budget "$C2" --raise 1.2 --brand acme
run brand create beta >/dev/null
expect 1 "no collaboration $C2 for brand 'beta'" collab budget "$C2" --raise 2 --brand beta
run collab budget "$C" --json | python3 -c "import json,sys; l=json.load(sys.stdin); assert l['budget']=='1.500' and l['raises']==[], l"
run collab budget "$C2" --raise 2 --brand acme --json > raised.json
run match --collab "$C2" --ids s/partner.csv --json > m4.json
run collab budget "$C" --json > ledger2.json
python3 - "$C" "$C2" <<'PY'
import json, sys
c, c2 = int(sys.argv[1]), int(sys.argv[2])
r = json.load(open("raised.json"))
assert r["budget"] == "2.000" and r["left"] == "0.500", r
m = json.load(open("m4.json"))["release"]
assert m["budget"] == "2.000" and m["budget_left"] == "0.000" and m["charged"], m
l = json.load(open("ledger2.json"))   # the first collaboration's view: the pair's ledger
assert l["budget"] == "2.000" and l["spent"] == "2.000" and l["left"] == "0.000", l
assert l["collaborations"] == [c, c2] and l["dataset"] == "crm" and l["partner"] == "partner-1", l
assert [d["collaboration"] for d in l["debits"]] == [c, c, c, c2], l
assert len(l["raises"]) == 1, l
x = l["raises"][0]
assert (x["from"], x["to"], x["by"], x["collaboration"]) == ("1.500", "2.000", "brand", c2), x
PY
run collab budget "$C" | grep -q "raised from 1.500 to 2.000 by brand" || { echo "the text ledger hides the raise"; exit 1; }

# Issue 21 item 8: the default budget is 1.0 (e^1 bounds what a padded list
# learns about one person); a new pair without --budget gets it.
run dataset create --brand acme --name crm2 --purposes audience_insights --recipients partner-1 --id-type email \
  --columns 'segment:enum(a|b)' >/dev/null
run collab create --brand acme --dataset crm2 --partner partner-1 --dimensions segment --json \
  | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['budget']=='1.000' and d['epsilon']=='0.500', d"

# I5: every session, release and refusal is an audit leaf; the log verifies.
count() { "$CR" audit log --brand acme --type "$1" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['entries']))"; }
[ "$(count collab.create)" -eq 3 ] && [ "$(count collab.budget_raise)" -eq 1 ] && [ "$(count match.release)" -eq 4 ] \
  && [ "$(count match.session)" -ge 5 ] && [ "$(count match.refuse)" -ge 6 ] \
  || { echo "audit leaves missing"; exit 1; }
"$CR" audit log --brand acme --type match.release --json | python3 -c "
import json,sys
for e in json.load(sys.stdin)['entries']:
    assert e['collaboration'] and e['session'] and e['recipients'] == ['partner-1'], e
    assert 'epsilon=0.500' in e['detail'], e"
run audit verify | grep -q "audit log OK"

# I4/I1: no identifier, digest or pseudonym in anything the match printed.
python3 - "$log" m1.json m3.json m2.txt <<'PY'
import csv, hashlib, re, sys
everything = b"".join(open(f, "rb").read() for f in sys.argv[1:])
matches = b"".join(open(f, "rb").read() for f in sys.argv[2:])
for row in list(csv.DictReader(open("s/partner.csv")))[:300]:
    e = row["email"].strip().lower()
    assert e.encode() not in everything.lower(), "an identifier was printed"
    assert hashlib.sha256(e.encode()).hexdigest().encode() not in everything, "a digest was printed"
assert not re.search(rb"[0-9a-f]{64}", matches), "a 64-hex value (digest or pseudonym) was printed"
PY

# The other suite side by side: a dataset created with --suite r255-sha512
# matches the same partner list through ristretto255, with the same kind of
# result (the two suites' elements never meet: each dataset has its own).
C3=$(run collab create --brand acme --dataset crm_r255 --partner partner-1 --dimensions segment --k 20 \
      --min-partner-set 100 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
run match --collab "$C3" --ids s/partner.csv --json > m4.json
python3 - <<'PY'
import json
m = json.load(open("m4.json")); r = m["release"]
assert m["suite"] == "r255-sha512", m
assert r["outcome"] == "released" and 500 < r["noisy_total"] < 1000, r
PY
