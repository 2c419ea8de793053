#!/usr/bin/env bash
# e2e: `cleanroom init` creates a 0700 data directory with 0600 keys and a
# database, prints the audit verifier key, and refuses a second init without
# touching the existing keys (I8).
set -euo pipefail
CR=${CLEANROOM:?}
d=$PWD/data

out=$("$CR" init --data "$d")
echo "$out" | grep -Eq '^[^+ ]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$' || { echo "no verifier key in: $out"; exit 1; }
[ "$(stat -c %a "$d")" = 700 ]
[ "$(stat -c %a "$d/keys")" = 700 ]
[ "$(stat -c %a "$d/keys/master.key")" = 600 ]
[ "$(stat -c %a "$d/keys/sign.key")" = 600 ]
[ "$(stat -c %s "$d/keys/master.key")" = 32 ]
[ -f "$d/cleanroom.db" ]
[ "$(stat -c %a "$d/tls/key.pem")" = 600 ]
openssl x509 -in "$d/tls/cert.pem" -noout -ext subjectAltName | grep -q "DNS:localhost"

before=$(sha256sum "$d"/keys/*)
set +e
err=$("$CR" init --data "$d" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] || { echo "second init exited $rc"; exit 1; }
echo "$err" | grep -q "already initialized" || { echo "unclear message: $err"; exit 1; }
[ "$(echo "$err" | wc -l)" -eq 1 ]
[ "$(sha256sum "$d"/keys/*)" = "$before" ]

# The data directory also comes from $CLEANROOM_DATA.
CLEANROOM_DATA=$PWD/env-data "$CR" init >/dev/null
[ -f "$PWD/env-data/keys/master.key" ]

# Usage errors exit 2.
set +e
"$CR" init --no-such-option >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ]
"$CR" init --help | grep -q -- '--data'
