#!/usr/bin/env bash
# e2e: `cleanroom synth` writes the four files deterministically (same seed,
# same bytes; another seed, other data), in the formats of docs/spec/formats.md,
# with messy identifiers that normalize (docs/spec/identifiers.md) to unique
# customers, a partner list overlapping in exactly round(F*M) people, and
# clean refusals: usage errors exit 2, existing files exit 1 untouched (I7).
set -euo pipefail
CR=${CLEANROOM:?}
files="notice.json customers.csv consent.ndjson partner.csv"

sums() { (cd "$1" && sha256sum $files); }
expect_rc() { # expect_rc WANT CMD...: runs CMD, checks its exit code and one-line stderr
  local want=$1; shift
  set +e; "$@" >/dev/null 2>"$PWD/err"; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || { echo "exit $rc, want $want: $*"; cat "$PWD/err"; exit 1; }
  [ -s "$PWD/err" ] || { echo "no message: $*"; exit 1; }
}

# Determinism: same seed, byte-identical files; another seed, different data.
"$CR" synth --customers 3000 --overlap 0.3 --seed 7 --partner-rows 2000 --out a >/dev/null
"$CR" synth --customers 3000 --overlap 0.3 --seed 7 --partner-rows 2000 --out b >/dev/null
"$CR" synth --customers 3000 --overlap 0.3 --seed 8 --partner-rows 2000 --out c >/dev/null
[ "$(sums a)" = "$(sums b)" ] || { echo "same seed, different files"; exit 1; }
for f in customers.csv consent.ndjson partner.csv; do
  ! cmp -s "a/$f" "c/$f" || { echo "seeds 7 and 8 gave the same $f"; exit 1; }
done

# The directory and files are private (synthetic personal data).
[ "$(stat -c %a a)" = 700 ]
for f in $files; do [ "$(stat -c %a "a/$f")" = 600 ]; done
[ -z "$(ls -A a | grep -v -x -e notice.json -e customers.csv -e consent.ndjson -e partner.csv)" ]

# Headers and row counts.
[ "$(head -1 a/customers.csv)" = "email,phone,segment,region,age_band,spend" ]
[ "$(head -1 a/partner.csv)" = "email" ]
[ "$(wc -l <a/customers.csv)" -eq 3001 ]
[ "$(wc -l <a/partner.csv)" -eq 2001 ]

# Contents, checked independently of the C code.
python3 - a 3000 2000 0.3 <<'EOF'
import csv, json, math, re, sys
from datetime import datetime
d, n, m, f = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])

def norm(e):  # docs/spec/identifiers.md, profile default
    e = e.strip().lower()
    assert e.count("@") == 1, e
    local, dom = e.split("@")
    assert local and "." in dom, e
    if dom in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return local + "@" + dom

def fail(msg):
    sys.exit("synth check: " + msg)

# notice.json: docs/spec/formats.md, every required field.
nt = json.load(open(f"{d}/notice.json"))
for k in ("version", "language", "material", "controller", "purposes", "recipients", "methods",
          "categories", "retention", "rights", "jurisdictions", "text"):
    if k not in nt: fail(f"notice lacks {k}")
if (nt["version"], nt["language"], nt["material"], nt["jurisdictions"]) != (1, "zh-CN", True, ["CN"]):
    fail("notice header fields")
if sorted(p["code"] for p in nt["purposes"]) != ["ads_measurement", "audience_insights"] or \
   any(p["sensitive"] is not False or not p["description"] for p in nt["purposes"]):
    fail("notice purposes")
r = nt["recipients"][0]
if (r["id"], r["country"], r["purpose"]) != ("partner-1", "CN", "audience_insights") or \
   not (r["name"] and r["contact"] and r["categories"]):
    fail("notice recipient")
if not (nt["controller"]["name"] and nt["controller"]["contact"]): fail("notice controller")

# customers.csv: messy but valid identifiers, unique after normalization.
cust, raw = {}, []
phone_re = re.compile(r"^\+86( \d{3} \d{4} \d{4}|-\d{3}-\d{4}-\d{4}|\d{11}| \d{11})$")
with open(f"{d}/customers.csv", newline="") as fh:
    rows = list(csv.reader(fh))
for row in rows[1:]:
    email, phone, seg, region, band, spend = row
    k = norm(email)
    if k in cust: fail("two customers share a normalized email")
    cust[k] = row
    raw.append(email)
    if not phone_re.match(phone): fail(f"phone layout of row {len(cust)}")
    if seg not in "abc" or region not in ("north", "south", "east", "west", "central") or \
       band not in ("18-24", "25-34", "35-44", "45-54", "55+") or not 0 <= int(spend) <= 10000:
        fail(f"attributes of row {len(cust)}")
if len(cust) != n: fail("customer count")
if not any(e != e.strip() for e in raw): fail("no whitespace variants")
if not any(e != e.lower() for e in raw): fail("no case variants")
if not any("@gmail.com" in e.lower() or "@googlemail.com" in e.lower() for e in raw): fail("no gmail")

# partner.csv: exactly round(F*M) customers, each written differently.
with open(f"{d}/partner.csv", newline="") as fh:
    prow = [r[0] for r in list(csv.reader(fh))[1:]]
seen, overlap = set(), 0
by_norm = {norm(e): e for e in raw}
for e in prow:
    k = norm(e)
    if k in seen: fail("partner list repeats a person")
    seen.add(k)
    if k in by_norm:
        overlap += 1
        if by_norm[k] == e: fail("partner row has the customer's exact bytes")
if len(prow) != m or overlap != math.floor(f * m + 0.5):
    fail(f"partner rows {len(prow)} overlap {overlap}, want {m} and {math.floor(f * m + 0.5)}")

# consent.ndjson: docs/spec/formats.md fields only; subjects are customers; times increase per subject.
common = {"type", "subject", "time", "id_type", "received", "evidence"}
allowed = {
    "served": common | {"notice_version", "channel"},
    "grant": common | {"purpose", "notice_version", "method", "channel", "actor", "recipient",
                       "expires", "jurisdiction", "birth_year", "guardian_ref"},
    "withdraw": common | {"purpose", "recipient", "channel"},
    "object": common | {"signal", "channel"},
    "guardian_link": common | {"guardian_ref", "verified_by"},  # R16: before the guardian's grants
}
allowed["refuse"] = allowed["grant"]
last, types, links, kinds = {}, {}, {}, {"child": 0, "guardian": 0, "expires": 0, "sharing": 0}
for ln, line in enumerate(open(f"{d}/consent.ndjson"), 1):
    ev = json.loads(line)
    t = ev.get("type")
    if t not in allowed or not set(ev) <= allowed[t]: fail(f"line {ln}: fields {sorted(ev)}")
    k = norm(ev["subject"])
    if k not in cust: fail(f"line {ln}: subject is not a customer")
    if not ev["time"].endswith("+08:00"): fail(f"line {ln}: time offset")
    tm = datetime.fromisoformat(ev["time"])
    if tm.year != 2026 or (k in last and tm <= last[k]): fail(f"line {ln}: time order")
    last[k] = tm
    types[t] = types.get(t, 0) + 1
    if t == "grant":
        if ev["method"] not in ("checkbox", "button") or ev["jurisdiction"] != "CN": fail(f"line {ln}")
        if ev.get("recipient") == "partner-1": kinds["sharing"] += 1
        if ev["birth_year"] >= 2013:
            kinds["guardian" if ev["actor"] == "guardian" else "child"] += 1
            if (ev["actor"] == "guardian") != ("guardian_ref" in ev): fail(f"line {ln}: guardian")
            if ev["actor"] == "guardian" and links.get(k) != ev["guardian_ref"]: fail(f"line {ln}: guardian without a link")
        if "expires" in ev:
            kinds["expires"] += 1
            if datetime.fromisoformat(ev["expires"]) <= tm: fail(f"line {ln}: expires")
    if t == "guardian_link":
        links[k] = ev["guardian_ref"]
for t in ("served", "grant", "refuse", "withdraw", "object", "guardian_link"):
    if not types.get(t): fail(f"no {t} events")
for k, v in kinds.items():
    if not v: fail(f"no {k} grants")
if types["served"] != n: fail("every customer is served the notice once")
EOF

# --json: a summary with counts only (never an email).
"$CR" synth --customers 500 --overlap 1 --seed 3 --out j --json >j.json
python3 - j.json <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["customers"] == 500 and s["partner_rows"] == 500 and s["partner_overlap"] == 500, s
assert sum(s["customers_by_consent"].values()) == 500, s
assert sum(s["events_by_type"].values()) == s["consent_events"], s
assert set(s["files"]) == {"notice.json", "customers.csv", "consent.ndjson", "partner.csv"}, s
EOF
! grep -q '@' j.json || { echo "the summary shows an email"; exit 1; }
out=$("$CR" synth --customers 50 --out h)
grep -q 'partner.csv' <<<"$out" || { echo "the summary does not name the files: $out"; exit 1; }
if grep -q '@' <<<"$out"; then echo "the summary shows an email: $out"; exit 1; fi

# Refusals: usage errors exit 2, nothing written.
expect_rc 2 "$CR" synth --customers 10
expect_rc 2 "$CR" synth --customers ten --out u
expect_rc 2 "$CR" synth --customers 0 --out u
expect_rc 2 "$CR" synth --customers 10 --overlap 1.5 --out u
expect_rc 2 "$CR" synth --customers 10 --overlap -0.1 --out u
expect_rc 2 "$CR" synth --customers 10 --overlap nan --out u
expect_rc 2 "$CR" synth --customers 10 --seed x --out u
expect_rc 2 "$CR" synth --customers 10 --partner-rows 100 --overlap 0.5 --out u
expect_rc 2 "$CR" synth --customers 10 --no-such-option --out u
[ ! -e u ]
"$CR" synth --help | grep -q -- '--overlap'

# Existing files are refused (exit 1, one line, untouched) unless --force.
before=$(sums a)
expect_rc 1 "$CR" synth --customers 10 --seed 9 --out a
[ "$(wc -l <err)" -eq 1 ] || { echo "the refusal is not one line:"; cat err; exit 1; }
grep -q "exists" err || { echo "the refusal does not say what exists:"; cat err; exit 1; }
[ "$(sums a)" = "$before" ]
"$CR" synth --customers 10 --seed 9 --out a --force >/dev/null
[ "$(wc -l <a/customers.csv)" -eq 11 ]

# An unwritable place is a failure (exit 1), not a usage error.
touch plainfile
expect_rc 1 "$CR" synth --customers 10 --out plainfile
expect_rc 1 "$CR" synth --customers 10 --out plainfile/sub
if [ "$(id -u)" -ne 0 ]; then
  mkdir ro
  chmod 500 ro
  expect_rc 1 "$CR" synth --customers 10 --out ro
fi
echo "synth: ok"
