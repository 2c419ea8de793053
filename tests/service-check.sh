#!/usr/bin/env bash
# service-check.sh UNIT.in BIN MANDIR: checks a systemd unit
# (dist/systemd/cleanroom.service.in, cleanroom-witness.service.in) with this machine's systemd-analyze:
# `verify` must pass (with @BINDIR@ pointing at BIN's directory and the man
# pages of its Documentation= found in MANDIR), and the offline security
# review's overall exposure must be 2.0 or lower ("OK" or better). Prints
# the score. Without systemd-analyze it says so and exits 0. Run by
# `make test` (service-check) and tests/e2e/test_operations.sh.
set -euo pipefail
in=$1 bin=$2 man=$3
SA=${SYSTEMD_ANALYZE:-systemd-analyze}
if ! command -v "$SA" >/dev/null 2>&1; then
  echo "service-check: skipped (no systemd-analyze on this machine)"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man1"
cp "$man"/*.1 "$tmp/man/man1/"
unit=$(basename "$in" .in)
sed "s|@BINDIR@|$(dirname "$bin")|g" "$in" > "$tmp/$unit"
if ! out=$(cd "$tmp" && MANPATH="$tmp/man" "$SA" verify "$tmp/$unit" 2>&1); then
  echo "service-check: systemd-analyze verify failed:"; echo "$out"; exit 1
fi
out=$(cd "$tmp" && "$SA" security --offline=yes --threshold=100 "$tmp/$unit" 2>&1) || {
  echo "service-check: systemd-analyze security failed:"; echo "$out"; exit 1; }
line=$(printf '%s\n' "$out" | grep 'Overall exposure level' || true)
score=$(printf '%s\n' "$line" | grep -o '[0-9][0-9]*\.[0-9]' | head -1)
[ -n "$score" ] || { echo "service-check: no exposure score in:"; echo "$out"; exit 1; }
echo "service-check: $unit verify OK; security exposure $score (${line##*: }), at most 2.0 allowed ($("$SA" --version | head -1))"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || {
  echo "service-check: exposure $score is over 2.0:"; printf '%s\n' "$out" | grep -v '^✓'; exit 1; }
