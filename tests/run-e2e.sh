#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh against the real binary ($CLEANROOM), each in
# its own temporary directory; closes with one "e2e: N passed, N failed" line.
# STOP_ON_FAIL=1 stops at the first failing script (make mutate uses it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0; fail=0; failed=()
for t in "$here"/e2e/test_*.sh; do
  [ -e "$t" ] || continue
  tmp=$(mktemp -d)
  if out=$(cd "$tmp" && TMPDIR="$tmp" bash "$t" 2>&1); then
    pass=$((pass + 1)); echo "ok   ${t##*/}"
  else
    fail=$((fail + 1)); failed+=("${t##*/}"); printf 'FAIL %s\n%s\n' "${t##*/}" "$out"
    rm -rf "$tmp"; [ "${STOP_ON_FAIL:-0}" = 1 ] && break; continue
  fi
  rm -rf "$tmp"
done
echo "e2e: $pass passed, $fail failed"
[ $fail -eq 0 ]
