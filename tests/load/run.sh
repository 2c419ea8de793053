#!/usr/bin/env bash
# `make load`: wrk against a fresh `cleanroom serve` over HTTPS on loopback,
# bounded in time (LOAD_SECONDS per phase, default 20). Phases:
#   single  one consent event per request, 64 connections (goal p99 <= 20 ms)
#   batch   NDJSON batches of LOAD_BATCH events (default 1000), 4 connections
#           (goal >= 5,000 durable events/s)
#   status  subject status by digest, 64 connections (goal p99 <= 10 ms)
#   mixed   brand acme sends batches as fast as it can (4 connections) while
#           brand beta sends single events (8 connections) and status reads
#           (8 connections): beta's p99 <= 50 ms for both (issue 20: no
#           tenant stalls another)
# Durability is checked, not assumed: after the run the database must hold at
# least as many consent events as the requests wrk saw answered with 2xx.
# The server's memory is sampled every second; the report compares the
# first and last fifth of each phase in anonymous memory (RssAnon: the heap
# and stacks, what a leak grows), and shows the file-backed part (RssFile)
# beside it: the read connections map the database (mmap), so RssFile
# grows with the pages the reads touch, up to the database's size per
# reader, and says nothing about leaks. Before the measured phases an unmeasured
# warm-up of LOAD_WARMUP seconds (default 8) of batches grows the database
# past SQLite's page cache (32 MiB, store.c), so the cache filling up is not
# mistaken for a leak in the first phase. Synthetic subjects only
# (name@load.example).
set -euo pipefail
. "$(dirname "$0")/../e2e/serve_lib.sh"
CR=${CLEANROOM:?}
SECS=${LOAD_SECONDS:-20}
BATCH=${LOAD_BATCH:-1000}
WARMUP=${LOAD_WARMUP:-8}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
d=$work/data
pid=; sampler=
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$CR" init --data "$d" >/dev/null 2>&1
export CLEANROOM_DATA=$d
"$CR" synth --customers 10 --seed 1 --out "$work/s" >/dev/null 2>&1
for b in acme beta; do
  "$CR" brand create "$b" >/dev/null 2>&1
  "$CR" notice publish --brand "$b" --published-at 2026-01-01T00:00:00Z "$work/s/notice.json" >/dev/null 2>&1
done
export LOAD_TOKEN
LOAD_TOKEN=$("$CR" token issue --role brand --tenant acme --name load 2>/dev/null)
BETA_TOKEN=$("$CR" token issue --role brand --tenant beta --name load 2>/dev/null)
python3 -c "
import hashlib
for i in range(10000):
    print(hashlib.sha256(f'status-{i}@load.example'.encode()).hexdigest())" > "$work/digests"

threads=$(nproc)
"$CR" serve --listen 127.0.0.1:0 --threads "$threads" --rate-limit 0 2>"$work/serve.log" &
pid=$!
url=$(serve_url "$work/serve.log")
[ -n "$url" ] || { echo "load: the server did not start"; cat "$work/serve.log"; exit 1; }

# Anonymous and file-backed RSS of the server once a second, tagged with the phase running.
echo idle > "$work/phase"
( while kill -0 "$pid" 2>/dev/null; do
    printf '%s %s\n' "$(cat "$work/phase")" \
      "$(awk '/^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {if (a != "") print a, f}' /proc/$pid/status 2>/dev/null)"
    sleep 1
  done ) > "$work/rss" &
sampler=$!

echo "== load on $(nproc) cores: server --threads $threads, wrk -t2, $SECS s per phase, $url"
run_wrk() { # run_wrk NAME CONNS SCRIPT SECONDS BRAND TOKEN
  LOAD_DIR=$here LOAD_PREFIX=$1 LOAD_BATCH=$BATCH LOAD_DIGESTS=$work/digests LOAD_BRAND=$5 LOAD_TOKEN=$6 \
    wrk -t2 -c"$2" -d"$4s" --timeout 10s -s "$here/$3" "$url" > "$work/$1.out" 2>&1 || true
}
figures() { # figures NAME
  grep '^LOAD ' "$work/$1.out" | sed 's/^LOAD //' > "$work/$1.json" \
    || { echo "load: wrk gave no figures for $1:"; cat "$work/$1.out"; exit 1; }
}
phase() { # phase NAME CONNS SCRIPT [SECONDS]
  echo "$1" > "$work/phase"
  run_wrk "$1" "$2" "$3" "${4:-$SECS}" acme "$LOAD_TOKEN"
  figures "$1"
}
if [ "$WARMUP" -gt 0 ]; then phase warmup 4 batch.lua "$WARMUP"; fi
sleep 1 # let the warm-up's last in-flight batches commit
before=$(sqlite3 "$d/cleanroom.db" "select count(*) from consent_events")
echo "warm-up: $before consent events stored in ${WARMUP} s (not measured)"
phase single 64 single.lua
phase batch 4 batch.lua
phase status 64 status.lua
# Three wrk processes at once: acme floods, beta's requests are measured.
echo mixed > "$work/phase"
run_wrk mixed_flood 4 batch.lua "$SECS" acme "$LOAD_TOKEN" &
flood=$!
sleep 1 # the flood is running before beta is measured
run_wrk mixed_single 8 single.lua "$((SECS - 2))" beta "$BETA_TOKEN" &
single_pid=$!
run_wrk mixed_status 8 status.lua "$((SECS - 2))" beta "$BETA_TOKEN"
wait "$single_pid" "$flood"
for p in mixed_flood mixed_single mixed_status; do figures "$p"; done
echo done > "$work/phase"

kill -TERM "$pid"; wait "$pid" || true; pid=
stored=$(sqlite3 "$d/cleanroom.db" "select count(*) from consent_events")

python3 - "$work" "$((stored - before))" "$BATCH" <<'PY'
import json, sys
work, stored = sys.argv[1], int(sys.argv[2])
r = {p: json.load(open(f"{work}/{p}.json"))
     for p in ("single", "batch", "status", "mixed_flood", "mixed_single", "mixed_status")}
r["batch"]["batch"] = r["mixed_flood"]["batch"] = int(sys.argv[3])
rss = {}
for line in open(f"{work}/rss"):
    parts = line.split()
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        rss.setdefault(parts[0], []).append((int(parts[1]), int(parts[2])))
ok = True
def check(cond, what):
    global ok
    print(("  ok   " if cond else "  MISS ") + what)
    ok = ok and cond
for p, x in r.items():
    secs = x["duration_us"] / 1e6
    rate = x["requests"] / secs
    extra = f", {rate * x['batch']:.0f} events/s" if "batch" in x else ""
    print(f"{p:12s} {x['requests']} requests in {secs:.1f} s: {rate:.0f} req/s{extra}; "
          f"p50 {x['p50_us'] / 1000:.2f} ms, p99 {x['p99_us'] / 1000:.2f} ms, max {x['max_us'] / 1000:.1f} ms; "
          f"errors {x['errors']}, non-2xx {x['non2xx']}")
    s = rss.get(p.split("_")[0], []) if p == "mixed_flood" else rss.get(p, [])
    if len(s) >= 5:
        n = max(1, len(s) // 5)
        anon = [a for a, _ in s]
        first, last = sum(anon[:n]) / n, sum(anon[-n:]) / n
        print(f"        server anonymous RSS: first fifth {first / 1024:.1f} MiB, last fifth {last / 1024:.1f} MiB, "
              f"peak {max(anon) / 1024:.1f} MiB; mapped database and program files up to {max(f for _, f in s) / 1024:.1f} MiB")
        check(last <= first * 1.25 + 8 * 1024, f"{p}: memory flat (last fifth within 25% + 8 MiB of the first)")
    check(x["errors"] == 0 and x["non2xx"] == 0, f"{p}: no errors")
single, batch = r["single"], r["batch"]
flood, msingle = r["mixed_flood"], r["mixed_single"]
answered = single["requests"] + batch["requests"] * batch["batch"] + msingle["requests"] + flood["requests"] * flood["batch"]
print(f"durable: {stored} consent events stored by the measured phases; wrk counted {answered} (requests in flight at the end are counted by wrk but may be cut off)")
check(stored >= (single["requests"] - 64) + (batch["requests"] - 4) * batch["batch"]
      + (msingle["requests"] - 8) + (flood["requests"] - 4) * flood["batch"], "every answered event is in the database")
check(batch["requests"] * batch["batch"] / (batch["duration_us"] / 1e6) >= 5000, "batched: >= 5,000 durable events/s")
check(single["p99_us"] <= 20000, "single events: p99 <= 20 ms at 64 connections")
check(r["status"]["p99_us"] <= 10000, "status reads: p99 <= 10 ms at 64 connections")
check(msingle["p99_us"] <= 50000, "beta's single events during acme's batch flood: p99 <= 50 ms")
check(r["mixed_status"]["p99_us"] <= 50000, "beta's status reads during acme's batch flood: p99 <= 50 ms")
sys.exit(0 if ok else 1)
PY
