# serve_lib.sh: sourced by the e2e scripts (and tests/load/run.sh) that start
# `cleanroom serve` in the background with its log in a file.
#
# serve_url LOG: waits up to 10 s for the server's "listening" line in LOG
# and prints the URL it names (nothing if it never came).
serve_url() {
  for _ in $(seq 1 100); do grep -q '"message":"listening"' "$1" 2>/dev/null && break; sleep 0.1; done
  grep -o '"url":"[^"]*"' "$1" 2>/dev/null | head -1 | cut -d'"' -f4
}
