#!/usr/bin/env bash
# e2e (issue 19, I10): a witness (c2sp.org/tlog-witness) beside `serve`.
# Checkpoints get cosigned and `audit checkpoint` shows the cosignature;
# `audit verify --witness` accepts the log. A rolled-back data directory
# (an older copy of cleanroom.db AND of DATA/audit-tip together, which the
# tip alone cannot catch) refuses to start against the witness. A forked
# log (a copy of the directory, with its keys, grown differently) is
# refused by the witness and fails `audit verify --witness` and the
# officer's saved cosigned checkpoint; a log initialized with the same
# origin but another key is refused too.
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
command -v curl >/dev/null || { echo "curl is required"; exit 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "$*"; exit 1; }

wk=$("$CR" witness init --dir "$PWD/w" --name witness.test/w1)
[ "$(stat -c %a w/witness.key)" = 600 ] || fail "witness.key is not 0600"
"$CR" init --data d >/dev/null
key=$("$CR" audit key --data d)
origin=${key%%+*}
"$CR" witness add-log --dir w --key "$key"
"$CR" witness serve --dir w --listen 127.0.0.1:0 2>wlog &
pids+=($!)
for _ in $(seq 1 100); do grep -q 'witness listening' wlog && break; sleep 0.1; done
wurl=$(grep -o '"url":"[^"]*"' wlog | head -1 | cut -d'"' -f4)
[[ $wurl =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { cat wlog; fail "no witness listening line"; }

# an unknown path and a GET are not add-checkpoint
[ "$(curl -s -o /dev/null -w '%{http_code}' "$wurl/nope")" = 404 ] || fail "unknown path not 404"

"$CR" brand create acme --data d >/dev/null
cp -a d d.old   # cleanroom.db and audit-tip of size 2, together

# serve_with DIR LOG: starts serve with the witness; sets spid
serve_with() {
  "$CR" serve --data "$1" --insecure-http --listen 127.0.0.1:0 --witness "$wurl,$wk" 2>"$2" &
  spid=$!
  pids+=($spid)
}

serve_with d slog
url=$(serve_url slog)
[ -n "$url" ] || { cat slog; fail "serve did not start with its witness"; }
"$CR" brand create beta --data d >/dev/null   # size 3, signed by the CLI
ok=
for _ in $(seq 1 50); do
  "$CR" audit checkpoint --data d >cp.txt
  if grep -q '^3$' cp.txt && grep -q "^— witness.test/w1 " cp.txt; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || { cat cp.txt slog; fail "the checkpoint of 3 was not cosigned"; }
kill -TERM "$spid"; wait "$spid"
cp cp.txt saved-cosigned.txt
cp -a d d.cosigned
"$CR" audit verify --data d --key "$key" --witness "$wk" --checkpoint saved-cosigned.txt >verify.out \
  || fail "audit verify --witness failed on the real log"
grep -q "witness witness.test/w1 cosigned this log's checkpoint of 3 entries" verify.out || { cat verify.out; fail "no witness line"; }
# the officer's export carries the cosignatures: checked offline, from /, with both keys
"$CR" audit export --data d --out exported >/dev/null
grep -q "^— witness.test/w1 " exported/checkpoint || fail "the exported checkpoint carries no cosignature"
(cd / && "$CR" audit verify --log "$OLDPWD/exported" --key "$key" --witness "$wk") >/dev/null \
  || fail "an exported log does not verify with the witness's key"
# a proof carries the cosignature too: verify-proof --witness checks it offline; another witness's key fails
"$CR" audit prove --data d --index 1 > proof.txt
(cd / && "$CR" audit verify-proof --key "$key" --witness "$wk" "$OLDPWD/proof.txt") | grep -q "witness witness.test/w1 cosigned it" \
  || fail "verify-proof --witness did not check the proof's cosignature"
wk2=$("$CR" witness init --dir w2 --name witness.test/w2)
set +e; "$CR" audit verify-proof --key "$key" --witness "$wk2" proof.txt >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || fail "verify-proof accepted a witness that never cosigned (rc=$rc)"
# old verifiers: the cosigned checkpoint is a valid signed note for the log's key alone
"$CR" audit verify --data d --key "$key" --checkpoint saved-cosigned.txt >/dev/null || fail "cosigned checkpoint refused by plain verify"

# --- rollback: an older copy of the database and of the tip together --------
cp d.old/cleanroom.db d/cleanroom.db
rm -f d/cleanroom.db-wal d/cleanroom.db-shm
[ ! -e d.old/cleanroom.db-wal ] || cp d.old/cleanroom.db-wal d/
cp d.old/audit-tip d/audit-tip
"$CR" audit verify --data d --key "$key" >/dev/null || fail "the tip alone should not catch this rollback (test setup)"
set +e
"$CR" serve --data d --insecure-http --listen 127.0.0.1:0 --witness "$wurl,$wk" 2>rb.err; rc=$?
set -e
[ $rc -eq 1 ] || { cat rb.err; fail "serve started on a rolled-back log ($rc)"; }
grep -q 'has cosigned 3 entries but this log holds a checkpoint of 2: the log was rolled back' rb.err \
  || { cat rb.err; fail "wrong rollback refusal"; }
set +e
"$CR" audit verify --data d --key "$key" --witness "$wk" --checkpoint saved-cosigned.txt >/dev/null 2>rbv.err; rc=$?
set -e
[ $rc -eq 1 ] || fail "audit verify accepted the rolled-back log against the officer's cosigned checkpoint"

# --- fork: the same keys and origin, another entry at size 3 ----------------
cp -a d.old f
"$CR" brand create evil --data f >/dev/null
set +e
"$CR" serve --data f --insecure-http --listen 127.0.0.1:0 --witness "$wurl,$wk" 2>fork.err; rc=$?
set -e
[ $rc -eq 1 ] || { cat fork.err; fail "serve started on a forked log ($rc)"; }
grep -q 'refused this log.s checkpoint of 3 from its size 3 (HTTP 409)' fork.err || { cat fork.err; fail "wrong fork refusal"; }
"$CR" brand create evil2 --data f >/dev/null   # size 4: a consistency proof from 3 cannot verify
set +e
"$CR" serve --data f --insecure-http --listen 127.0.0.1:0 --witness "$wurl,$wk" 2>fork4.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'from its size 3 (HTTP 422)' fork4.err || { cat fork4.err; fail "fork at 4 not refused with 422"; }
set +e
"$CR" audit verify --data f --key "$key" --witness "$wk" >/dev/null 2>fv.err; rc1=$?
"$CR" audit verify --data f --key "$key" --witness "$wk" --checkpoint saved-cosigned.txt >/dev/null 2>fv2.err; rc2=$?
set -e
[ $rc1 -eq 1 ] && grep -q 'carries no valid cosignature by it' fv.err \
  || { cat fv.err; fail "audit verify --witness accepted the fork"; }
[ $rc2 -eq 1 ] || { cat fv2.err; fail "the fork passed against the officer's cosigned checkpoint"; }
# the operator copies the real log's cosignature rows into the fork: they do not verify over its checkpoints
python3 - d.cosigned/cleanroom.db f/cleanroom.db <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT size, witness, line, time_s FROM audit_cosignatures").fetchall()
assert rows, "no cosignature rows to copy"
db = sqlite3.connect(sys.argv[2])
db.executemany("INSERT OR REPLACE INTO audit_cosignatures VALUES (?,?,?,?)", rows)
db.commit()
PY
set +e
"$CR" audit verify --data f --key "$key" --witness "$wk" >/dev/null 2>fv3.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'carries no valid cosignature by it' fv3.err \
  || { cat fv3.err; fail "copied cosignatures made the fork pass"; }

# --- another log claiming the same origin, with its own key: 403 -----------
"$CR" init --data g --origin "$origin" >/dev/null
set +e
"$CR" serve --data g --insecure-http --listen 127.0.0.1:0 --witness "$wurl,$wk" 2>g.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "does not accept this log's key" g.err || { cat g.err; fail "same-origin log not refused"; }

# the witness still holds 3 for the real log
printf 'old 0\n\n' >req.txt
"$CR" audit checkpoint --data d.old >>req.txt
[ "$(curl -s -w ' %{http_code} %{content_type}' --data-binary @req.txt "$wurl/add-checkpoint")" = "3
 409 text/x.tlog.size" ] || fail "the witness's size for the log changed"
echo "test_witness: OK"
