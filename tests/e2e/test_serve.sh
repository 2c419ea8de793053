#!/usr/bin/env bash
# e2e: `cleanroom serve` over HTTPS on 127.0.0.1 with the self-signed
# certificate it creates, and `cleanroom token`: tokens shown once and never
# listed (I8); 401 without or with a bad or revoked token, 403 for a role the
# route does not admit; JSON errors for oversized (413) and malformed (400)
# bodies (I7); /healthz and /metrics; an access log with no token in it;
# SIGTERM lets a request in flight finish and exits 0.
set -euo pipefail
. "$(dirname "$0")/serve_lib.sh"
CR=${CLEANROOM:?}
command -v curl >/dev/null || { echo "curl is required (apt-get install curl)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
d=$PWD/data
log=$PWD/serve.log
pid=
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT
# refute FILE PATTERN...: fails if FILE holds a PATTERN, or if grep cannot read it.
refute() {
  local f=$1 rc=0 p=(); shift
  for x in "$@"; do p+=(-e "$x"); done
  grep -a -q "${p[@]}" -- "$f" || rc=$?
  [ $rc -eq 1 ] || { echo "$f holds one of: $* (or is unreadable; grep: $rc)"; exit 1; }
}

"$CR" init --data "$d" >/dev/null

# --- tokens on the command line ---------------------------------------------
admin=$("$CR" token issue --data "$d" --role admin --tenant ops --name root 2>/dev/null)
brand=$("$CR" token issue --data "$d" --role brand --tenant acme --name brand-ci 2>/dev/null)
officer=$("$CR" token issue --data "$d" --role officer --tenant acme --name audit 2>/dev/null)
for t in "$admin" "$brand" "$officer"; do
  [[ $t =~ ^crt_[A-Za-z0-9_-]{43}$ ]] || { echo "bad token shape: $t"; exit 1; }
done
list=$("$CR" token list --data "$d")
echo "$list" | grep -q 'brand-ci' || { echo "token list lacks a token: $list"; exit 1; }
refute <(echo "$list") crt_
"$CR" token list --data "$d" --json | grep -q '"role":"officer"'
# The database holds hashes only.
for f in "$d"/cleanroom.db*; do refute "$f" "${admin#crt_}" "${brand#crt_}"; done
set +e
"$CR" token issue --data "$d" --role root --tenant x --name y >/dev/null 2>&1; rc_role=$?
"$CR" token issue --data "$d" --role brand --tenant 'Bad Tenant' --name y >/dev/null 2>&1; rc_tenant=$?
"$CR" token revoke --data "$d" 999 >/dev/null 2>&1; rc_unknown=$?
"$CR" serve --data "$d" --listen nowhere >/dev/null 2>&1; rc_listen=$?
"$CR" serve --data "$d" --tls-cert /nonexistent.pem --tls-key /nonexistent.pem --listen 127.0.0.1:0 \
  >/dev/null 2>"$PWD/tls.err"; rc_tls=$?
set -e
[ $rc_role -eq 2 ] && [ $rc_tenant -eq 1 ] && [ $rc_unknown -eq 1 ] && [ $rc_listen -eq 2 ] && [ $rc_tls -eq 1 ] \
  || { echo "exit codes: role $rc_role tenant $rc_tenant unknown $rc_unknown listen $rc_listen tls $rc_tls"; exit 1; }
[ "$(wc -l <"$PWD/tls.err")" -eq 1 ] || { echo "tls error is not one line:"; cat "$PWD/tls.err"; exit 1; }

# --- the server ---------------------------------------------------------------
"$CR" serve --data "$d" --listen 127.0.0.1:0 --threads 2 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^https://127\.0\.0\.1:[0-9]+$ ]] || { echo "no listening line:"; cat "$log"; exit 1; }
port=${url##*:}
ca=$d/tls/cert.pem
[ "$(stat -c %a "$d/tls/key.pem")" = 600 ] || { echo "key.pem is not 0600"; exit 1; }

# Every line serve writes to stderr is one JSON object.
log_is_json() {
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$1" \
    || { echo "a log line is not JSON:"; cat "$1"; exit 1; }
}

# c ARGS...: prints the status; the body goes to ./body.
c() { curl -sS --cacert "$ca" -o body -w '%{http_code}' "$@" || true; }
expect() { # expect STATUS CODE|- ARGS...
  local want=$1 code=$2 got; shift 2
  got=$(c "$@")
  [ "$got" = "$want" ] || { echo "$* -> $got, want $want: $(cat body)"; exit 1; }
  if [ "$code" != - ]; then
    grep -Eq "^\{\"error\":\{\"code\":\"$code\",\"message\":\"[^\"]+\"\}\}$" body \
      || { echo "$* -> body is not the $code error: $(cat body)"; exit 1; }
  fi
}

expect 200 - "$url/healthz"
grep -qx '{"status":"ok"}' body
# Every HTTPS reply carries HSTS.
curl -sS --cacert "$ca" -D hdr -o /dev/null "$url/healthz"
grep -qi '^strict-transport-security: max-age=[1-9][0-9]*' hdr || { echo "no HSTS:"; cat hdr; exit 1; }
# TLS 1.2 offers forward-secret AEAD suites only: no CBC, no RSA key exchange
# (the CBC suites a P-256 certificate would allow are the ones that matter).
for weak in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384 \
            ECDHE-RSA-AES128-SHA AES128-SHA AES128-GCM-SHA256; do
  if curl -sS -m 5 --cacert "$ca" --tls-max 1.2 --tlsv1.2 --ciphers "$weak" -o /dev/null "$url/healthz" 2>/dev/null; then
    echo "TLS 1.2 accepted the suite $weak"; exit 1
  fi
done
curl -sS --cacert "$ca" --tls-max 1.2 --tlsv1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256 \
  -o /dev/null "$url/healthz" || { echo "TLS 1.2 refused an AEAD suite"; exit 1; }
# The database, its WAL and its shm are the owner's only.
for f in "$d"/cleanroom.db "$d"/cleanroom.db-wal "$d"/cleanroom.db-shm; do
  [ "$(stat -c %a "$f")" = 600 ] || { echo "$f is mode $(stat -c %a "$f"), not 600"; exit 1; }
done
# The certificate is valid for the name localhost too; plain HTTP is not served.
[ "$(c "https://localhost:$port/healthz")" = 200 ]
plain=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
[ "$plain" != 200 ] || { echo "plain HTTP answered on the TLS port"; exit 1; }

expect 401 auth_missing "$url/v1/whoami"
expect 401 auth_invalid -H "Authorization: Bearer crt_${brand:5}x" "$url/v1/whoami"
expect 401 auth_invalid -H "Authorization: Basic YWRtaW46YWRtaW4=" "$url/v1/whoami"
expect 200 - -H "Authorization: Bearer $brand" "$url/v1/whoami"
grep -q '"role":"brand","tenant":"acme"' body
expect 403 auth_forbidden -H "Authorization: Bearer $brand" "$url/v1/tokens"
expect 403 auth_forbidden -H "Authorization: Bearer $officer" -H 'Content-Type: application/json' \
  --data '{"role":"admin","tenant":"ops","name":"sneaky"}' "$url/v1/tokens"
expect 404 http_no_route -H "Authorization: Bearer $admin" "$url/v1/nothing-here"
expect 405 http_method -X DELETE -H "Authorization: Bearer $admin" "$url/v1/tokens"

# Bodies: too large (announced, and chunked without a length), malformed, unknown fields.
head -c 8192 /dev/zero | tr '\0' ' ' >big.json
auth=(-H "Authorization: Bearer $admin" -H 'Content-Type: application/json')
expect 413 too_large "${auth[@]}" --data-binary @big.json "$url/v1/tokens"
expect 413 too_large "${auth[@]}" -H 'Transfer-Encoding: chunked' --data-binary @big.json "$url/v1/tokens"
expect 400 json_malformed "${auth[@]}" --data '{"role": "brand",' "$url/v1/tokens"
expect 400 json_unknown_field "${auth[@]}" --data '{"role":"brand","tenant":"acme","name":"n","admin":true}' "$url/v1/tokens"
expect 400 json_type "${auth[@]}" --data '{"role":"brand","tenant":"acme","name":7}' "$url/v1/tokens"
expect 415 http_media_type -H "Authorization: Bearer $admin" --data '{}' "$url/v1/tokens"
# None of the refused requests stored anything (I7).
expect 200 - -H "Authorization: Bearer $admin" "$url/v1/tokens"
[ "$(grep -o '"id":' body | wc -l)" -eq 3 ] || { echo "refused requests stored tokens: $(cat body)"; exit 1; }
refute body crt_ hash

# Issue over the API, use it, revoke it over the API and from the CLI.
expect 201 - "${auth[@]}" --data '{"role":"partner","tenant":"adco","name":"p1"}' "$url/v1/tokens"
partner=$(grep -o '"token":"crt_[A-Za-z0-9_-]*"' body | cut -d'"' -f4)
pid1=$(grep -o '"id":[0-9]*' body | cut -d: -f2)
expect 200 - -H "Authorization: Bearer $partner" "$url/v1/whoami"
expect 200 - -H "Authorization: Bearer $admin" -X POST "$url/v1/tokens/$pid1/revoke"
expect 409 token_revoked -H "Authorization: Bearer $admin" -X POST "$url/v1/tokens/$pid1/revoke"
expect 401 auth_invalid -H "Authorization: Bearer $partner" "$url/v1/whoami"
expect 404 not_found -H "Authorization: Bearer $admin" -X POST "$url/v1/tokens/123456/revoke"
brand_id=$("$CR" token list --data "$d" --json | grep -o '"id":[0-9]*,"name":"brand-ci"' | cut -d: -f2 | cut -d, -f1)
"$CR" token revoke --data "$d" "$brand_id" >/dev/null
expect 401 auth_invalid -H "Authorization: Bearer $brand" "$url/v1/whoami"

# /metrics needs a token (any role) unless serve has --public-metrics.
expect 401 auth_missing "$url/metrics"
expect 200 - -H "Authorization: Bearer $officer" "$url/metrics"
grep -q '^cleanroom_http_requests_total{route="/healthz",status="200"} [1-9]' body
grep -q '^cleanroom_http_requests_total{route="/v1/tokens",status="413"} 2$' body
grep -q '^cleanroom_http_request_duration_seconds_count{route="/v1/whoami"} [1-9]' body

# --- graceful shutdown: a slow upload in flight still completes ---------------
{ printf '{"role":"brand","tenant":"slow","name":"late"'; head -c 2500 /dev/zero | tr '\0' ' '; printf '}'; } >slow.json
curl -sS --cacert "$ca" --limit-rate 1000 -o slow.body -w '%{http_code}' "${auth[@]}" \
  --data-binary @slow.json "$url/v1/tokens" >slow.status &
slow=$!
sleep 1
kill -TERM "$pid"
wait "$slow" || true
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "serve did not stop within 5 s of SIGTERM"; exit 1; fi
set +e; wait "$pid"; rc=$?; set -e
pid=
[ $rc -eq 0 ] || { echo "serve exited $rc after SIGTERM:"; tail -5 "$log"; exit 1; }
[ "$(cat slow.status)" = 201 ] || { echo "in-flight request got $(cat slow.status): $(cat slow.body)"; exit 1; }
grep -q '"message":"stopped"' "$log"

# --- the access log -----------------------------------------------------------
refute "$log" crt_ "${admin#crt_}" "${partner#crt_}"
grep -q '"route":"/v1/tokens/{id}/revoke","status":200' "$log"
grep -q '"role":"admin","tenant":"ops"' "$log"
refute "$log" "\"route\":\"/v1/tokens/$pid1/revoke\""
log_is_json "$log"

# --- plain HTTP only when asked, with a warning ---------------------------------
log=$PWD/serve-plain.log
"$CR" serve --data "$d" --listen 127.0.0.1:0 --insecure-http 2>"$log" &
pid=$!
url=$(serve_url "$log")
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { echo "no plain listening line:"; cat "$log"; exit 1; }
grep -q '"level":"warning","message":"--insecure-http: ' "$log"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/metrics")" = 401 ]
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=
# --- --public-metrics; a database an older install left readable is made 0600 --
chmod 644 "$d"/cleanroom.db
b2=$("$CR" token issue --data "$d" --role brand --tenant acme --name b2 2>/dev/null)
log=$PWD/serve-metrics.log
"$CR" serve --data "$d" --listen 127.0.0.1:0 --insecure-http --public-metrics --spool-max 1 2>"$log" &
pid=$!
url=$(serve_url "$log")
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/metrics")" = 200 ]
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/v1/whoami")" = 401 ]
[ "$(stat -c %a "$d"/cleanroom.db)" = 600 ] || { echo "an older install's database stays $(stat -c %a "$d"/cleanroom.db)"; exit 1; }
curl -sS -D hdr -o /dev/null "$url/healthz"
if grep -qi '^strict-transport-security' hdr; then echo "HSTS over plain HTTP"; exit 1; fi
# Uploads on disk at once are capped server-wide (--spool-max 1: 1 MiB): 507.
head -c $((3 << 20)) /dev/zero > three.bin
st=$(curl -sS -o body -w '%{http_code}' -H "Authorization: Bearer $b2" -H 'Content-Type: text/csv' \
       --data-binary @three.bin "$url/v1/brands/acme/datasets/crm/ingest" || true)
[ "$st" = 507 ] && grep -q '"code":"http_storage"' body || { echo "past the spool cap: $st $(cat body)"; exit 1; }
# ... and the cap is given back: a small upload passes it (then fails on the missing dataset).
st=$(curl -sS -o body -w '%{http_code}' -H "Authorization: Bearer $b2" -H 'Content-Type: text/csv' \
       --data-binary 'email' "$url/v1/brands/acme/datasets/crm/ingest" || true)
[ "$st" = 404 ] || { echo "a small upload after a refused one: $st $(cat body)"; exit 1; }
# Headers two parsers could read differently are refused (request smuggling
# behind a proxy): two Content-Lengths, Content-Length with Transfer-Encoding.
python3 - "${url##*:}" <<'PY'
import socket, sys
def send(raw):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(raw)
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    s.close()
    return out
ok = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
for extra, body in ((b"Content-Length: 2\r\nContent-Length: 40\r\n", b"{}"),
                    (b"Content-Length: 2\r\nContent-Length: 2\r\n", b"{}"),
                    (b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
                    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n")):
    out = send(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\n" + extra + b"\r\n" + body)
    assert out.startswith(b"HTTP/1.1 400 ") and b'"code":"http_header"' in out, (extra, out[:200])
assert send(ok + b"\r\n").startswith(b"HTTP/1.1 200 "), "a plain request was refused"
PY
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=
[ $rc -eq 0 ] || { echo "serve exited $rc after SIGINT"; exit 1; }
log_is_json "$log"

# --- a free-disk floor: no upload is spooled below it (507) -------------------
log=$PWD/serve-floor.log
"$CR" serve --data "$d" --listen 127.0.0.1:0 --insecure-http --disk-floor 1073741824 2>"$log" &
pid=$!
url=$(serve_url "$log")
st=$(curl -sS -o body -w '%{http_code}' -H "Authorization: Bearer $b2" -H 'Content-Type: text/csv' \
       --data-binary 'email' "$url/v1/brands/acme/datasets/crm/ingest" || true)
[ "$st" = 507 ] && grep -q '"code":"http_storage"' body || { echo "below the disk floor: $st $(cat body)"; exit 1; }
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
pid=
rm -f three.bin
echo ok
