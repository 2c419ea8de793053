#!/usr/bin/env bash
# The main job end to end on the embedded store, narrated step by step.
# Run by `make demo` with $CLEANROOM pointing at the built binary. Works in
# ./demo-data (removed and recreated each run) and never prints identifiers.
set -euo pipefail
CR=${CLEANROOM:-build/release/cleanroom}
DEMO=${DEMO_DIR:-$PWD/demo-data}
export CLEANROOM_DATA=$DEMO/data

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "cleanroom $*"; "$CR" "$@"; }
# Like run, but shows the subject as <email> instead of the address itself.
run_subject() { printf '$ %s\n' "cleanroom $(printf '%s ' "$@" | sed "s/$subject/<email>/")"; "$CR" "$@"; }

rm -rf "$DEMO"
mkdir -p "$DEMO"

step "1. Initialize a data directory (keys 0600 in 0700, database, audit log)"
run init

step "2. Generate synthetic data: 5,000 customers, a partner list overlapping 40%"
echo "(synthetic people only; the demo never prints an identifier)"
run synth --customers 5000 --overlap 0.4 --seed 7 --out "$DEMO/synth"
ls -l "$DEMO/synth"

step "3. The brand registers and publishes its privacy notice (R04: versioned, hashed)"
run brand create acme
run notice publish --brand acme --published-at 2026-01-01T00:00:00+08:00 "$DEMO/synth/notice.json"

step "4. The brand imports its customers' consent events (each one audited)"
run consent import --brand acme "$DEMO/synth/consent.ndjson" || true

step "5. A dataset: the purposes every record needs consent for, typed columns"
run dataset create --brand acme --name crm --purposes ads_measurement,audience_insights \
  --recipients partner-1 --id-type email \
  --columns 'segment:enum(a|b|c),region:enum(north|south|east|west|central),age_band:enum(18-24|25-34|35-44|45-54|55+),spend:int(0..10000)'

step "6. Ingest the customer list through the consent gate (only keyed forms are stored)"
run ingest --brand acme --dataset crm "$DEMO/synth/customers.csv"

step "7. An end user withdraws consent: purged at once, signed receipt with audit proof"
# The first customer whose consent currently allows every purpose.
subject=""
while IFS=, read -r email _; do
  [ "$email" = email ] && continue
  if "$CR" consent status --brand acme --subject "$email" --json 2>/dev/null |
     python3 -c 'import json,sys; sys.exit(0 if all(d["allowed"] for d in json.load(sys.stdin)) else 1)'; then
    subject=$email; break
  fi
done < "$DEMO/synth/customers.csv"
run_subject consent status --brand acme --subject "$subject"
run_subject consent withdraw --brand acme --subject "$subject" --receipt "$DEMO/receipt.json"
run_subject consent status --brand acme --subject "$subject"
run receipt verify "$DEMO/receipt.json"

step "8. The compliance officer verifies the whole audit log and one proof offline"
run audit checkpoint
run audit log --brand acme --limit 5
idx=$("$CR" audit log --brand acme --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["index"])')
"$CR" audit prove --index "$idx" > "$DEMO/proof.txt"
run audit verify-proof --key "$("$CR" audit key)" "$DEMO/proof.txt"
run audit verify

echo
echo "demo: done. What the demo does not show yet is listed in README.md (What works today)."
