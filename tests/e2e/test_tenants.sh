#!/usr/bin/env bash
# e2e: one tenant's long write does not stall another tenant (issue 20
# item 1), on loopback only. The server runs one libmicrohttpd thread, so
# a handler that held it, or the store lock, for a whole batch would stall
# everyone. While brand acme's 100,000-line consent batch is being stored,
# brand beta's whoami, status read and single consent event must each be
# answered before acme's batch is: ordering, not a timing threshold. Then
# acme's batch must be whole (every line stored, its leaves in the log).
# Synthetic subjects only (name@tenants.example).
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
d=$PWD/data
log=$PWD/serve.log
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT

"$CR" init --data "$d" >/dev/null 2>&1
export CLEANROOM_DATA=$d
"$CR" synth --customers 10 --seed 1 --out "$PWD/s" >/dev/null 2>&1
for b in acme beta; do
  "$CR" brand create "$b" >/dev/null 2>&1
  "$CR" notice publish --brand "$b" --published-at 2026-01-01T00:00:00Z "$PWD/s/notice.json" >/dev/null 2>&1
done
acme=$("$CR" token issue --role brand --tenant acme --name a 2>/dev/null)
beta=$("$CR" token issue --role brand --tenant beta --name b 2>/dev/null)
"$CR" serve --listen 127.0.0.1:0 --insecure-http --threads 1 --rate-limit 0 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { echo "no listening line:"; cat "$log"; exit 1; }

ACME=$acme BETA=$beta python3 - "${url##*:}" <<'PY'
import hashlib, http.client, json, os, sys, threading, time
port, N = int(sys.argv[1]), 100000
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

def call(token, method, path, body=None, ct=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"Authorization": "Bearer " + token}
    if ct:
        h["Content-Type"] = ct
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    out = (r.status, r.read())
    c.close()
    return out

def event(i, who):
    return json.dumps({"type": "served", "subject": f"{who}-{i}@tenants.example",
                       "notice_version": 1, "time": now, "channel": "web"})

batch = ("\n".join(event(i, "a") for i in range(N)) + "\n").encode()
done = {}
def acme_batch():
    done["acme"] = call(os.environ["ACME"], "POST", "/v1/brands/acme/consents/batch", batch,
                        "application/x-ndjson")
    done["acme_at"] = time.monotonic()

t = threading.Thread(target=acme_batch)
t.start()
time.sleep(1.0)  # the upload is spooled and its lines are being stored
assert t.is_alive(), "acme's batch ended before beta's requests: make it longer"
beta = os.environ["BETA"]
digest = hashlib.sha256(b"b-0@tenants.example").hexdigest()
steps = [
    ("whoami", lambda: call(beta, "GET", "/v1/whoami")),
    ("status read", lambda: call(beta, "GET", f"/v1/brands/beta/subjects/{digest}/status?id_type=email")),
    ("single event", lambda: call(beta, "POST", "/v1/brands/beta/consents", event(0, "b"),
                                  "application/json")),
]
for name, fn in steps:
    t0 = time.monotonic()
    status, body = fn()
    assert status in (200, 201), (name, status, body[:200])
    assert "acme" not in done, f"beta's {name} was answered only after acme's batch ({time.monotonic() - t0:.1f} s)"
    print(f"beta's {name}: {status} in {time.monotonic() - t0:.3f} s while acme's batch runs")
t.join()
status, body = done["acme"]
assert status == 200, (status, body[:200])
s = json.loads(body)
assert s["stored"] == N and s["refused"] == 0, s
print(f"acme's batch: {s['stored']} lines stored")
PY
kill -TERM "$pid"; wait "$pid" || true; pid=
# The batch is whole and audited: one consent leaf per line, beta's one too.
n=$(sqlite3 "$d/cleanroom.db" "select count(*) from consent_events")
[ "$n" -eq 100001 ] || { echo "consent events stored: $n, want 100001"; exit 1; }
"$CR" audit verify >/dev/null 2>&1 || { echo "audit verify failed"; exit 1; }
echo "ok: another tenant's reads and writes are not stalled by a long batch"
