#!/usr/bin/env bash
# Runs every unit-test binary given as an argument; prints each failing
# binary's output and closes with one "unit: N passed, N failed" line.
# STOP_ON_FAIL=1 stops at the first failing binary (make mutate uses it).
set -u
pass=0; fail=0; failed=()
for bin in "$@"; do
  out=$("$bin" 2>&1); rc=$?
  n_ok=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  n_bad=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
  pass=$((pass + ${n_ok:-0})); fail=$((fail + ${n_bad:-0}))
  if [ $rc -ne 0 ]; then
    [ -z "${n_bad:-}" ] && fail=$((fail + 1))
    failed+=("$bin"); printf '%s\n' "$out"
    [ "${STOP_ON_FAIL:-0}" = 1 ] && break
  else
    printf 'ok   %s (%s tests)\n' "${bin##*/tests/unit/}" "${n_ok:-0}"
  fi
done
echo "unit: $pass passed, $fail failed"
[ ${#failed[@]} -eq 0 ] || { echo "failing: ${failed[*]}"; exit 1; }
