#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh against the real binary ($CLEANROOM), or
# only the scripts named as arguments (test_match.sh ...), each in its own
# temporary directory (the scripts write into their working directory: run
# one through here, not from the repository); closes with one
# "e2e: N passed, N failed" line.
# STOP_ON_FAIL=1 stops at the first failing script (make mutate uses it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0; fail=0; failed=()
scripts=("$here"/e2e/test_*.sh)
if [ $# -gt 0 ]; then
  scripts=()
  for n in "$@"; do
    [ -f "$here/e2e/${n##*/}" ] || { echo "run-e2e: no script tests/e2e/${n##*/}" >&2; exit 2; }
    scripts+=("$here/e2e/${n##*/}")
  done
fi
for t in "${scripts[@]}"; do
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
