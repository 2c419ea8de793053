#!/usr/bin/env bash
# e2e: the extended rules through the CLI, the way a brand meets them.
#  R11  a notice that makes a purpose a condition of the service is refused;
#  R12  a sensitive purpose needs its necessity stated in the notice, and a
#       dataset using it needs an impact assessment covering it;
#  R10  a collaboration groups and sums only categories the notice declares
#       for that partner;
#  R13  a partner abroad needs a recorded transfer mechanism and an
#       assessment of the transfer;
#  R22  the rights-request register: due dates, one extension within the
#       first month, the overdue list (answered late stays on it).
# Every refusal exits 1, names what is missing, and stores nothing: the
# audit log gains no entry (I7, I5), and it verifies at the end.
set -euo pipefail
CR=${CLEANROOM:?}
export CLEANROOM_DATA=$PWD/data
fail() { echo "test_rules: $*"; exit 1; }
leaves() { sqlite3 "$CLEANROOM_DATA/cleanroom.db" "select count(*) from audit_leaves"; }
# refused PATTERN CMD...: exits 1 with a message matching PATTERN and adds no audit entry.
refused() {
  local pat=$1 before err rc; shift
  before=$(leaves)
  set +e; err=$("$CR" "$@" 2>&1 >/dev/null); rc=$?; set -e
  [ $rc -eq 1 ] || fail "exit $rc, want 1: $*: $err"
  echo "$err" | grep -q -- "$pat" || fail "the refusal does not say '$pat': $*: $err"
  [ "$(leaves)" = "$before" ] || fail "a refused command wrote to the audit log: $*"
}
ok() { "$CR" "$@" >/dev/null 2>>"$PWD/log" || fail "refused: $*: $(tail -1 "$PWD/log")"; }
command -v sqlite3 >/dev/null || fail "sqlite3 is required"

"$CR" init >/dev/null 2>&1
"$CR" synth --customers 50 --seed 3 --out s >/dev/null 2>&1
ok brand create acme
ok notice publish --brand acme --published-at 2026-01-01T00:00:00Z s/notice.json

# Version 2: a sensitive purpose, partner-1 narrowed to two categories, a partner in Germany.
python3 - <<'PY'
import json
n = json.load(open("s/notice.json"))
n["version"] = 2
n["purposes"].append({"code": "health_insights", "description": "health interests", "sensitive": True,
                      "marketing": False, "shares_data": False})
n["recipients"][0]["categories"] = ["email_digest", "segment"]
n["recipients"].append({"id": "partner-de", "name": "Media GmbH", "contact": "dpo@media.example", "country": "DE",
                        "purpose": "audience_insights", "categories": ["email_digest", "segment"]})
json.dump(n, open("v2-no-necessity.json", "w"))
n["purposes"][-1]["necessity"] = "interest-based offers cannot be measured without the stated interest"
json.dump(n, open("v2.json", "w"))
n["purposes"][0]["condition_of_service"] = True
json.dump(n, open("v2-condition.json", "w"))
PY
refused "condition_of_service" notice publish --brand acme v2-condition.json            # R11
refused "purposes\[2\].necessity" notice publish --brand acme v2-no-necessity.json      # R12
ok notice publish --brand acme v2.json

COLS='segment:enum(a|b|c),region:enum(north|south),spend:int(0..1000)'
# R12/R28: no dataset before an assessment covers each purpose; a sensitive one is named so.
refused "sensitive" dataset create --brand acme --name health --purposes health_insights --id-type email --columns "$COLS"
ok pia add --brand acme --ref PIA-H-1 --covers health_insights --kind dpia
ok dataset create --brand acme --name health --purposes health_insights --id-type email --columns "$COLS"
refused "ads_measurement. has no impact assessment" dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1,partner-de --id-type email --columns "$COLS"
ok pia add --brand acme --ref PIA-1 --covers ads_measurement,audience_insights
ok dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1,partner-de --id-type email --columns "$COLS"

# R10: partner-1 may see segment, not region or spend.
refused "region" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment,region --metrics count --k 10
refused "spend" collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --metrics count,sum:spend --k 10
ok collab create --brand acme --dataset crm --partner partner-1 --dimensions segment --metrics count --k 10

# R13: partner-de is outside the notice's jurisdictions (CN).
refused "transfer" collab create --brand acme --dataset crm --partner partner-de --dimensions segment --metrics count --k 10
ok transfer add --brand acme --recipient partner-de --mechanism standard-contract --ref SC-2026-1
refused "transfer" collab create --brand acme --dataset crm --partner partner-de --dimensions segment --metrics count --k 10
ok pia add --brand acme --ref PIA-X-1 --covers audience_insights --cross-border
ok collab create --brand acme --dataset crm --partner partner-de --dimensions segment --metrics count --k 10
"$CR" transfer list --brand acme --json | python3 -c "
import json, sys
t = json.load(sys.stdin)
t = t.get('transfers', t) if isinstance(t, dict) else t
assert [(x['recipient'], x['country'], x['mechanism']) for x in t] == [('partner-de', 'DE', 'standard-contract')], t"

# R22: a request received 40 days ago is overdue and can no longer be extended;
# one received today is extended once, with a reason, and then answered.
old=$(python3 -c "import datetime as d; print((d.datetime.now(d.timezone.utc) - d.timedelta(days=40)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
ok requests add --brand acme --kind access --channel email --ref CASE-1 --received "$old"
ok requests add --brand acme --kind erasure --channel letter --ref CASE-2
ids() { "$CR" requests list --brand acme --json "$@" | python3 -c "
import json, sys
r = json.load(sys.stdin)
r = r.get('requests', r) if isinstance(r, dict) else r
print(' '.join(str(x['id']) for x in r))"; }
[ "$(ids --overdue)" = 1 ] || fail "R22: overdue list is '$(ids --overdue)'"
refused "first month" requests extend --brand acme --id 1 --months 2 --reason "the archive is offline"
ok requests extend --brand acme --id 2 --months 2 --reason "the letter named three accounts"
refused "extended" requests extend --brand acme --id 2 --months 1 --reason "again"
ok requests complete --brand acme --id 1
# answered, but late: it stays on the overdue list, marked so
"$CR" requests list --brand acme --overdue --json | python3 -c "
import json, sys
r = json.load(sys.stdin)
assert [(x['id'], x['completed'] is not None, x['late']) for x in r] == [(1, True, True)], r" \
  || fail "R22: the late answer is not listed as late"

"$CR" audit verify >/dev/null 2>&1 || fail "the audit log does not verify"
echo "rules: ok"
