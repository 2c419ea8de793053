#!/usr/bin/env bash
# e2e: `cleanroom serve` against connection exhaustion, on loopback only.
# 300 idle connections from ten addresses of one /24 and 20 slowloris
# clients (one header line every 0.5 s) against --per-range-limit 100 and
# --header-timeout 2: the range gets at most 100 connections, a client of
# another /24 is answered at once, every idle and slowloris connection is
# cut after the deadline, a kept-alive connection may wait longer between
# two requests, and the range's slots are given back. Then, against
# --max-connections 40: 60 idle connections from 60 networks cannot keep a
# client with a token, or a fresh client, out (an eighth is kept for tokens;
# newcomers take the place of the oldest idle connection without one).
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
"$CR" serve --data "$d" --listen 127.0.0.1:0 --insecure-http --threads 2 \
  --per-range-limit 100 --header-timeout 2 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { echo "no listening line:"; cat "$log"; exit 1; }

python3 - "${url##*:}" <<'PY'
import select, socket, sys, time
port = int(sys.argv[1])

def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s

def closed(socks, wait):
    """Those of `socks` the server has closed (or reset), waiting at most `wait` s for any."""
    ready, _, _ = select.select(socks, [], [], wait)
    out = []
    for s in ready:
        try:
            if s.recv(1) == b"":
                out.append(s)
        except OSError:
            out.append(s)
    return out

def healthz(src):
    t0 = time.monotonic()
    s = conn(src)
    s.settimeout(5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    s.close()
    return out.split(b"\r\n")[0], time.monotonic() - t0

idle = [conn("127.0.0.%d" % (2 + i % 10)) for i in range(300)]
t0 = time.monotonic()
slow = [conn("127.0.2.1") for _ in range(20)]  # another /24: let in, then cut
for s in slow:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
time.sleep(0.5)
gone = closed(idle, 0)
let_in = [s for s in idle if s not in gone]
# 300 connections from one /24 against a cap of 100: 200 refused at once.
assert len(let_in) <= 100, "the /24 got %d of its 300 idle connections" % len(let_in)
assert not closed(slow, 0), "connections of another range were refused"
# A client of a third range is answered at once.
status, took = healthz("127.0.1.1")
assert status.startswith(b"HTTP/1.1 200"), status
assert took < 1.0, "healthz took %.2f s beside the flood" % took
# Slowloris: a header line every 0.5 s keeps them from being idle; the
# deadline (2 s from the accept) cuts them anyway.
alive = list(slow)
while alive and time.monotonic() < t0 + 5:
    time.sleep(0.25)
    for s in alive:
        try:
            s.sendall(b"X-Slow: 1\r\n")
        except OSError:
            pass
    cut = closed(alive, 0)
    alive = [s for s in alive if s not in cut]
    if alive:
        assert time.monotonic() - t0 < 3.5, "slowloris outlived the deadline"
    else:
        assert time.monotonic() - t0 >= 1.5, "cut before the deadline"
assert not alive, "%d slowloris connections outlived the header deadline" % len(alive)
# Idle connections that were let in are cut by then too (long before the 30 s idle timeout).
left = [s for s in let_in if s not in closed(let_in, 0)]
assert let_in and not left, "%d of %d idle connections outlived the header deadline" % (len(left), len(let_in))
for s in idle + slow:
    s.close()
# A kept-alive connection may wait past the header deadline between two
# requests (a partner between two match rounds): the idle timeout applies.
k = conn("127.0.3.1")
k.settimeout(5)
for i in range(2):
    k.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = k.recv(4096)
    assert got.startswith(b"HTTP/1.1 200"), (i, got[:40])
    if i == 0:
        time.sleep(2.6)
k.close()
# The range's slots are given back.
status, _ = healthz("127.0.0.50")
assert status.startswith(b"HTTP/1.1 200"), status
PY
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=
[ $rc -eq 0 ] || { echo "serve exited $rc"; exit 1; }

# A share of the connections is kept for clients with a token: with
# --max-connections 40, connections without one are held to 35. 60 idle
# connections from 60 networks (no range cap) cannot fill the server: each
# newcomer takes the place of the oldest idle one, a client that showed a
# token keeps its connection, and a fresh client is answered at once.
export CLEANROOM_DATA=$d
tok=$("$CR" token issue --role admin --tenant ops --name conn 2>/dev/null)
"$CR" serve --data "$d" --listen 127.0.0.1:0 --insecure-http --threads 2 \
  --max-connections 40 --per-range-limit 0 --header-timeout 60 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { echo "no listening line:"; cat "$log"; exit 1; }
TOKEN=$tok python3 - "${url##*:}" <<'PY'
import os, socket, sys, time
port, token = int(sys.argv[1]), os.environ["TOKEN"]

def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(5)
    return s

def ask(s, path, auth=True):
    h = "Authorization: Bearer %s\r\n" % token if auth else ""
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, h)).encode())
    return s.recv(4096).split(b"\r\n")[0]

member = conn("127.0.9.1")
assert ask(member, "/v1/whoami").startswith(b"HTTP/1.1 200")
idle = []
for i in range(60):
    idle.append(conn("127.%d.%d.1" % (10 + i // 200, i % 200)))
    time.sleep(0.005)
time.sleep(0.5)
# The client with a token was not evicted: its connection still answers.
assert ask(member, "/v1/whoami").startswith(b"HTTP/1.1 200"), "the authenticated connection was evicted"
# A fresh client is answered at once, past 60 idle connections on a server of 40.
t0 = time.monotonic()
fresh = conn("127.9.9.9")
got = ask(fresh, "/healthz", auth=False)
assert got.startswith(b"HTTP/1.1 200"), got
assert time.monotonic() - t0 < 2, "the fresh client waited %.1f s" % (time.monotonic() - t0)
for s in idle + [member, fresh]:
    s.close()
PY
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=
[ $rc -eq 0 ] || { echo "serve exited $rc"; exit 1; }
echo ok
