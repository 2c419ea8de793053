#!/usr/bin/env bash
# e2e: I1 across the whole command line. Every command that touches
# subjects or data runs here (synth, notice, consent import/served/grant/
# refuse/object/withdraw/status/export, dataset, ingest of raw, digest and
# stdin files, collab, local match, sweep, audit key/checkpoint/log/prove/
# verify/verify-proof, receipt verify, token issue/list/revoke), with good
# input and with bad input that carries identifiers (malformed subjects,
# undeclared fields, broken files, a stray identifier where no argument
# belongs). Every stdout and stderr is kept. Then find_leaks.py searches all
# of them, every file under the data directory (the database, its WAL while
# it is full, the shared memory file, the keys), the receipts and exports,
# for identifiers picked out of the synthetic input: the raw, lowercased and
# normalized spellings, and the SHA-256 of the normalized form as hex in any
# case, as base64 and as raw bytes. The HTTP side is test_api.sh's.
#
# The WAL: every command closes the database, and the last connection to
# close folds the WAL into the database file and empties it. So a reader
# here holds one read transaction open from before the first change to the
# search: nothing can be checkpointed past it, every page any command wrote
# stays in cleanroom.db-wal, and the test checks that it is there.
set -euo pipefail
CR=${CLEANROOM:?}
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
export CLEANROOM_DATA=$PWD/data
export PYTHONDONTWRITEBYTECODE=1   # find_leaks.py is imported: no __pycache__ in the tree
out=$PWD/out   # every command's stdout (.out) and stderr (.err)
art=$PWD/art   # receipts, proofs, checkpoints and exports written to files
in=$PWD/in     # inputs made here (never searched: they hold identifiers on purpose)
mkdir -p "$out" "$art" "$in"
B=acme-wal7q   # the brand: its name also marks the test's writes in the WAL
holder=
cleanup() { [ -z "$holder" ] || kill "$holder" 2>/dev/null || true; }
trap cleanup EXIT

# cr WANT NAME ARGS...: runs cleanroom ARGS with stdout in out/NNN-NAME.out and
# stderr in out/NNN-NAME.err ($last without the suffix), and checks the exit code.
n=0
cr() {
  local want=$1 name=$2 rc
  shift 2
  n=$((n + 1)); last=$out/$(printf %03d "$n")-$name
  set +e; "$CR" "$@" >"$last.out" 2>"$last.err"; rc=$?; set -e
  [ "$rc" -eq "$want" ] || { echo "cleanroom $* exited $rc, want $want:"; cat "$last.err"; exit 1; }
}
# json EXPR: evaluates a Python assertion on the JSON the last command printed.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$last.out"; }

cr 0 init init
VKEY=$(cat "$last.out")
cr 0 synth synth --customers 300 --partner-rows 300 --overlap 0.5 --seed 23 --out "$PWD/s"
cr 0 synth-json synth --customers 20 --seed 24 --out "$PWD/s2" --json

# Hold a read transaction from here on (see the header).
python3 - "$CLEANROOM_DATA/cleanroom.db" "$PWD/hold.ready" "$PWD/hold.stop" <<'PY' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM sqlite_master").fetchall()
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
c.execute("COMMIT")
c.close()
PY
holder=$!
for _ in $(seq 1 100); do [ -e hold.ready ] && break; sleep 0.1; done
[ -e hold.ready ] || { echo "the WAL holder did not start"; exit 1; }

# --- brand, notice, consent registry ------------------------------------------
cr 0 brand brand create "$B"
cr 0 notice-publish notice publish --brand "$B" --published-at 2026-01-01T00:00:00+08:00 s/notice.json
cr 0 pia-add pia add --brand "$B" --ref PIA-1 --covers ads_measurement,audience_insights
cr 0 pia-list pia list --brand "$B" --json
cr 0 notice-show notice show --brand "$B"
cr 0 import consent import --brand "$B" s/consent.ndjson
cr 0 import-json consent import --brand "$B" s/consent.ndjson --json
json 'assert d["refused"] == 0 and d["duplicates"] > 1000, d'

# The identifiers searched for, picked from the input: a fully consented
# customer (used in every single-subject command), customers written in each
# messy way synth has, their phones, and partner rows (customers written
# differently, and people who are not customers).
pick=""
while IFS=, read -r email rest; do
  [ "$email" = email ] && continue
  cr 0 status-probe consent status --brand "$B" --subject "$email" --json
  if json 'import sys; sys.exit(0 if len(d) == 3 and all(x["allowed"] for x in d) else 1)'; then
    pick=$email; break
  fi
done < s/customers.csv
[ -n "$pick" ] || { echo "no fully consented customer found"; exit 1; }
PYTHONPATH=$here python3 - "$pick" > ids.txt <<'PY'
import csv, sys
from find_leaks import norm_email
rows = list(csv.DictReader(open("s/customers.csv")))
chosen = [r for r in rows if r["email"] == sys.argv[1]]
for messy in (lambda e: e != e.strip(), lambda e: e != e.lower(),
              lambda e: e.lower().endswith("@gmail.com") and "." in e.split("@")[0],
              lambda e: e.lower().endswith("@googlemail.com"), lambda e: True):
    chosen += [r for r in rows if messy(r["email"]) and r not in chosen][:2]
for r in chosen:
    print(r["email"].strip())
    print(r["phone"].strip())
cust = {norm_email(r["email"]) for r in rows}
partner = [r["email"].strip() for r in csv.DictReader(open("s/partner.csv"))]
print("\n".join([e for e in partner if norm_email(e) not in cust][:4]))
print("\n".join([e for e in partner if norm_email(e) in cust and e not in {r["email"].strip() for r in rows}][:4]))
PY
pphone=$(sed -n 2p ids.txt)        # the picked customer's phone
other=$(sed -n 3p ids.txt)         # a second customer (refuse, object)
other_phone=$(sed -n 4p ids.txt)
# The same people written the way a caller might: upper case inside spaces,
# digests (of the normalized forms, as find_leaks.py computes them).
messy="  $(tr a-z A-Z <<<"$pick")  "
pdig=$(python3 "$here/find_leaks.py" digest "$pick"); PDIG=$(tr a-f A-F <<<"$pdig")
phdig=$(python3 "$here/find_leaks.py" digest "$pphone")

# Inputs with the identifiers in other forms, and broken ones that carry them.
PYTHONPATH=$here python3 - "$in" "$pick" "$pphone" <<'PY'
import csv, hashlib, json, os, sys
from find_leaks import norm_email, norm_phone
d, pick, pphone = sys.argv[1:]
def w(name, text, mode="w"):
    with open(os.path.join(d, name), mode) as f:
        f.write(text)
sha = lambda s: hashlib.sha256(s.encode()).hexdigest()
rows = list(csv.DictReader(open("s/customers.csv")))
attrs = lambda r: f'{r["segment"]},{r["region"]},{r["age_band"]},{r["spend"]}'
w("email_sha256.csv", "email_sha256,segment,region,age_band,spend\n" +
  "".join(f'{sha(norm_email(r["email"]))},{attrs(r)}\n' for r in rows))
w("email_sha256_upper.ndjson", "".join(json.dumps({"email_sha256": sha(norm_email(r["email"])).upper(),
  "segment": r["segment"], "region": r["region"], "age_band": r["age_band"], "spend": int(r["spend"])}) + "\n"
  for r in rows))
w("phone.csv", "phone,segment\n" + "".join(f'{r["phone"]},{r["segment"]}\n' for r in rows))
w("phone_sha256.csv", "phone_sha256,segment\n" + "".join(f'{sha(norm_phone(r["phone"]))},{r["segment"]}\n' for r in rows))
w("phone_national.csv", "phone,segment\n" + "".join(f'0{norm_phone(r["phone"])[3:]},{r["segment"]}\n' for r in rows))
w("partner_sha256.csv", "email_sha256\n" + "".join(sha(norm_email(r["email"])) + "\n" for r in csv.DictReader(open("s/partner.csv"))))
w("again.csv", f"email,segment,region,age_band,spend\n  {pick.strip().upper()} ,a,north,25-34,10\n")
hdr = "email,segment,region,age_band,spend\n"
w("unterminated.csv", f'{hdr}{pick},a,north,25-34,1\n"{pick},a,north,25-34,1\n')
w("columns.csv", f"{hdr}{pick},a,north,25-34\n")
w("utf8.csv", f"{hdr}{pick},a,north,25-34,1\n".encode() + f"{pick},\xff".encode("latin-1") + b",north,25-34,1\n", "wb")
w("extra-column.csv", f"email,segment,region,age_band,spend,{pick}\n{pick},a,north,25-34,1,1\n")
w("extra-key.ndjson", json.dumps({"email": pick, "segment": "a", "region": "north", "age_band": "25-34",
                                  "spend": 1, pick: 1}) + "\n")
w("broken.ndjson", f'{{"email":"{pick}","segment":"a","region":"north","age_band":"25-34","spend":1,}}\n')
w("bad-rows.csv", f"{hdr}{pick} extra,a,north,25-34,1\n{sha(norm_email(pick))},a,north,25-34,1\n"
                  f"{pphone},a,north,25-34,1\n")
w("unterminated-partner.csv", f'email\n{pick}\n"{pick}\n')
w("bad.ndjson", "".join(l + "\n" for l in [
    f'{{"type":"grant","subject":"{pick}" "purpose":"ads_measurement"}}',
    json.dumps({"type": "grant", "subject": pick, "purpose": "nosuch", "notice_version": 1, "method": "checkbox",
                "actor": "subject", "time": "2026-08-01T10:00:00+08:00"}),
    json.dumps({"type": "grant", "subject": pick, pick: 1}),
    json.dumps({"type": "grant", "subject": pick + " extra", "purpose": "ads_measurement", "notice_version": 1,
                "method": "checkbox", "time": "2026-08-01T10:00:00+08:00"}),
    json.dumps({"type": "grant", "subject": pphone, "purpose": "ads_measurement", "time": pick}),
    json.dumps({"type": pick, "subject": pphone}),
    json.dumps({"type": "withdraw", "subject": [pick], "time": "2026-08-01T10:00:00+08:00"}),
    json.dumps({"type": "withdraw", "subject": sha(norm_email(pick)), "time": "2026-08-01T10:00:00+08:00"}),
    json.dumps({"type": "withdraw", "subject": pphone[1:], "time": "2026-08-01T10:00:00+08:00"}),
    pick,
    f'{{"type":"grant","subject":"{pick}",']))
PY

# --- single consent events: raw, messy, phone and digest subjects -------------
cr 0 served consent served --brand "$B" --subject "$messy" --notice-version 1
cr 0 served-phone consent served --brand "$B" --subject "$pphone" --notice-version 1
cr 0 served-phone2 consent served --brand "$B" --subject "$other_phone" --notice-version 1
cr 0 grant-phone consent grant --brand "$B" --subject "$pphone" --purpose ads_measurement \
  --notice-version 1 --method checkbox --receipt "$art/grant-phone.json"
cr 0 grant-phone2 consent grant --brand "$B" --subject "$other_phone" --purpose ads_measurement \
  --notice-version 1 --method checkbox
cr 0 grant-digest consent grant --brand "$B" --subject "$PDIG" --id-type email --purpose ads_measurement \
  --notice-version 1 --method button --time 2026-08-01T10:00:00+08:00
cr 0 refuse consent refuse --brand "$B" --subject "$other" --purpose audience_insights \
  --notice-version 1 --method button
cr 0 object consent object --brand "$B" --subject "$other" --signal gpc
cr 0 status consent status --brand "$B" --subject "$messy"
cr 0 status-json consent status --brand "$B" --subject "$pick" --json --at 2026-09-01T00:00:00+08:00
cr 0 status-phone consent status --brand "$B" --subject "$pphone" --json
json 'assert any(x["purpose"] == "ads_measurement" and x["allowed"] for x in d), d'
# The digests find the same people: find_leaks.py normalizes as the program does.
cr 0 status-digest consent status --brand "$B" --subject "$PDIG" --id-type email --json
json 'assert len(d) == 3 and all(x["allowed"] for x in d), d'
cr 0 status-phone-digest consent status --brand "$B" --subject "$phdig" --id-type phone --json
json 'assert any(x["purpose"] == "ads_measurement" and x["allowed"] for x in d), d'
cr 0 export-subject consent export --brand "$B" --subject "$messy"
cr 0 export-phone consent export --brand "$B" --subject "$pphone"
cr 0 export-registry consent export --brand "$B"

# --- datasets and ingestion: raw, digest, phone, stdin -------------------------
COLS='segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'
for ds in crm crm-digest; do
  cr 0 "dataset-$ds" dataset create --brand "$B" --name "$ds" --purposes ads_measurement,audience_insights \
    --recipients partner-1 --id-type email --columns "$COLS"
done
for ds in phones phones-digest; do
  cr 0 "dataset-$ds" dataset create --brand "$B" --name "$ds" --purposes ads_measurement --id-type phone \
    --columns 'segment:enum(a|b|c)'
done
cr 0 dataset-list dataset list --brand "$B"
cr 0 dataset-describe dataset describe --brand "$B" --name crm --json
cr 0 ingest ingest --brand "$B" --dataset crm s/customers.csv
cr 0 ingest-json ingest --brand "$B" --dataset crm s/customers.csv --json
accepted=$(json 'print(d["accepted"])')
cr 0 ingest-digest ingest --brand "$B" --dataset crm-digest "$in/email_sha256.csv" --json
json "assert d['accepted'] == $accepted > 100, (d, $accepted)"
cr 0 ingest-stdin ingest --brand "$B" --dataset crm-digest - --json < "$in/email_sha256_upper.ndjson"
json "assert d['accepted'] == $accepted and d['replaced'] == $accepted, d"
cr 0 ingest-phone ingest --brand "$B" --dataset phones "$in/phone.csv" --json
json 'assert d["accepted"] >= 2, d'
phones=$(json 'print(d["accepted"])')
cr 0 ingest-phone-digest ingest --brand "$B" --dataset phones-digest "$in/phone_sha256.csv" --json
json "assert d['accepted'] == $phones, d"
cr 0 ingest-phone-country ingest --brand "$B" --dataset phones "$in/phone_national.csv" --default-country CN
cr 0 ingest-phone-nocountry ingest --brand "$B" --dataset phones "$in/phone_national.csv" --json
json 'assert d["accepted"] == 0 and d["rejected"]["invalid_identifier"]["count"] > 0, d'

# --- collaboration and a local match (raw and digest partner lists) ------------
cr 0 collab collab create --brand "$B" --dataset crm --partner partner-1 --dimensions segment,region \
  --metrics count,sum:spend --k 10 --epsilon 0.5 --budget 3 --min-partner-set 50 --json
C=$(json 'print(d["id"])')
cr 0 collab-list collab list --brand "$B"
cr 0 match match --collab "$C" --ids s/partner.csv --group-by segment --json
cr 0 match-text match --collab "$C" --ids s/partner.csv
cr 0 match-digest match --collab "$C" --ids "$in/partner_sha256.csv" --json
cr 0 collab-budget collab budget "$C" --json

# --- withdrawal, suppression, sweep ---------------------------------------------
cr 0 withdraw consent withdraw --brand "$B" --subject "$messy" --receipt "$art/withdraw.json"
cr 0 withdraw-phone consent withdraw --brand "$B" --subject "$other_phone"
cp "$last.out" "$art/withdraw-phone.json"
cr 0 reupload ingest --brand "$B" --dataset crm "$in/again.csv" --json
json 'assert d["rejected"]["suppressed"]["count"] == 1 and d["accepted"] == 0, d'
cr 0 sweep sweep
cr 0 sweep-json sweep --brand "$B" --json

# --- the audit log and receipts ------------------------------------------------
cr 0 audit-key audit key
cr 0 checkpoint audit checkpoint
cp "$last.out" "$art/checkpoint"
cr 0 log audit log --brand "$B" --limit 1000
cr 0 log-json audit log --json --limit 1000
cr 0 log-subject audit log --brand "$B" --subject "$messy"
cr 0 log-phone audit log --brand "$B" --subject "$pphone" --json
cr 0 log-digest audit log --brand "$B" --subject "$pdig" --id-type email --json
idx=$(json 'e = d["entries"]; assert {x["type"] for x in e} >= {"consent.grant", "consent.withdraw"}, e; print(e[0]["index"])')
cr 0 prove audit prove --index "$idx"
cp "$last.out" "$art/proof"
cr 0 verify-proof audit verify-proof --key "$VKEY" "$art/proof"
cr 0 verify audit verify --checkpoint "$art/checkpoint"
cr 0 verify-json audit verify --json
cr 0 audit-key-receipts audit key --receipts
RKEY=$(cat "$last.out")
cr 0 audit-key-json audit key --json
cr 0 receipt receipt verify "$art/withdraw.json" --receipt-key "$RKEY" --key "$VKEY"
cr 0 receipt-json receipt verify "$art/grant-phone.json" --json
cr 0 receipt-stdout receipt verify "$art/withdraw-phone.json" --receipt-key "$RKEY" --key "$VKEY"
cr 2 receipt-log-key-only receipt verify "$art/withdraw.json" --key "$VKEY"
cr 1 receipt-signed-by-log-key receipt verify "$art/withdraw.json" --receipt-key "$VKEY" --key "$VKEY"
python3 -c "
import json,sys; r=json.load(open(sys.argv[1])); r['payload']['audit_index'] += 1
json.dump(r, open(sys.argv[2], 'w'))" "$art/withdraw.json" "$in/tampered.json"
cr 1 receipt-tampered receipt verify "$in/tampered.json" --receipt-key "$RKEY" --key "$VKEY"

# --- tokens (the last writes: the token name marks the end of the WAL) --------
cr 0 token-issue token issue --role brand --tenant "$B" --name wal-end-marker
cr 0 token-issue-json token issue --role partner --tenant partner-1 --name p1 --json
cr 0 token-list token list
cr 0 token-list-json token list --json
cr 0 token-revoke token revoke 1

# --- bad input carrying identifiers: refused, and never echoed -------------------
cr 2 bad-positional consent status --brand "$B" "$pick"
cr 2 bad-positional-grant consent grant --brand "$B" --subject "$pick" "$pphone"
cr 2 bad-positional-log audit log --brand "$B" "$pick"
cr 2 bad-positional-ingest ingest --brand "$B" --dataset crm s/customers.csv "$pick"
cr 2 bad-positional-sweep sweep "$pick"
cr 2 bad-positional-token token list "$pick"
cr 2 bad-positional-synth synth --customers 5 --out "$in/x" "$pick"
cr 2 bad-positional-init init --data "$in/d" "$pick"
cr 2 bad-positional-serve serve --listen 127.0.0.1:0 "$pick"
cr 1 bad-subject consent status --brand "$B" --subject "$pick extra"
cr 1 bad-subject-phone consent status --brand "$B" --subject "${pphone#+}"
cr 1 bad-subject-digest consent grant --brand "$B" --subject "$pdig" --purpose ads_measurement \
  --notice-version 1 --method checkbox
cr 1 bad-subject-idtype consent status --brand "$B" --subject "$pick" --id-type phone
cr 1 bad-purpose consent grant --brand "$B" --subject "$pick" --purpose no_such_purpose \
  --notice-version 1 --method checkbox
cr 1 bad-method consent grant --brand "$B" --subject "$messy" --purpose ads_measurement \
  --notice-version 1 --method pre-ticked
cr 1 bad-notice consent grant --brand "$B" --subject "$pphone" --purpose ads_measurement \
  --notice-version 9 --method checkbox
cr 2 bad-time consent grant --brand "$B" --subject "$pick" --purpose ads_measurement --time yesterday
cr 1 bad-brand consent withdraw --brand no-such-brand --subject "$pick"
cr 1 bad-export consent export --brand "$B" --subject "$pick extra"
cr 2 bad-log audit log --subject "$pick"
cr 1 bad-log-digest audit log --brand "$B" --subject "$pdig"
cr 1 bad-import consent import --brand "$B" "$in/bad.ndjson"
cr 1 bad-import-json consent import --brand "$B" "$in/bad.ndjson" --json
for f in unterminated.csv columns.csv utf8.csv extra-column.csv extra-key.ndjson broken.ndjson; do
  cr 1 "bad-ingest-$f" ingest --brand "$B" --dataset crm "$in/$f"
done
cr 0 bad-ingest-rows ingest --brand "$B" --dataset crm "$in/bad-rows.csv" --json
json 'assert d["accepted"] == 0 and d["rejected"]["invalid_identifier"]["count"] == 3, d'
cr 1 bad-match match --collab "$C" --ids "$in/unterminated-partner.csv"

# --- the search -------------------------------------------------------------------
# The WAL holds every page written since the holder started: it must be there,
# non-empty, and hold the first (brand) and the last (token) writes.
wal=$CLEANROOM_DATA/cleanroom.db-wal
[ -s "$wal" ] || { echo "no WAL to search: $(ls -l "$CLEANROOM_DATA")"; exit 1; }
grep -a -q -- "$B" "$wal" && grep -a -q wal-end-marker "$wal" \
  || { echo "the WAL does not hold this test's writes"; exit 1; }
echo "searching the WAL: $(stat -c %s "$wal") bytes"
python3 "$here/find_leaks.py" search --control s/customers.csv --control s/partner.csv ids.txt \
  "$CLEANROOM_DATA" "$wal" "$CLEANROOM_DATA/cleanroom.db" "$out" "$art"

# The search itself bites: one planted form of one identifier is found.
python3 "$here/find_leaks.py" self-test ids.txt

# Release the reader: the next close folds the WAL into the database file,
# which is searched again whole.
touch hold.stop; wait "$holder"; holder=
cr 0 final-verify audit verify
grep -a -q wal-end-marker "$CLEANROOM_DATA/cleanroom.db" || { echo "the database lacks the last writes"; exit 1; }
python3 "$here/find_leaks.py" search ids.txt "$CLEANROOM_DATA" "$out"
echo ok
