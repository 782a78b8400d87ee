#!/usr/bin/env bash
# Corpus workload: curl (dynamic, libcurl with its threaded resolver: "localhost" is looked up through
# NSS, i.e. libnss_files loaded by glibc). An untraced python3 http.server on 127.0.0.1 serves a
# directory; traced curl runs: GET of a small file to stdout, of a 500 KB file to a file, a 404 with
# --write-out, a HEAD, two URLs on one connection, and a file:// URL.
source "$(dirname "$0")/lib.sh"
corpus_init curl /usr/bin/curl "$@"

port="$(free_port)"
mkdir www
echo "hello from bespoke corpus" >www/index.html
python3 -c 'import random; r = random.Random(5); open("www/big.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(500000)))'
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$port" >server.log 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for 20 "http.server on port $port" python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()"

url="http://localhost:$port"
trace small "$BIN" -sS --fail "$url/index.html" >small.txt
expect_eq "GET /index.html" "hello from bespoke corpus" "$(cat small.txt)"
trace big "$BIN" -sS --fail -o "$WORK/big.out" "$url/big.bin"
expect_file_eq "GET /big.bin" www/big.bin big.out
trace missing "$BIN" -sS -o /dev/null -w '%{http_code}\n' "$url/missing" >missing.txt
expect_eq "GET /missing" 404 "$(cat missing.txt)"
trace head "$BIN" -sS --fail -I "$url/index.html" >head.txt
grep -qi '^content-length: 26' head.txt || die "HEAD /index.html lacks content-length 26"
trace two "$BIN" -sS --fail "$url/index.html" "$url/index.html" >two.txt
expect_eq "two URLs" "$(printf 'hello from bespoke corpus\nhello from bespoke corpus')" "$(cat two.txt)"
trace file "$BIN" -sS --fail "file://$WORK/www/index.html" >file.txt
expect_eq "file:// URL" "hello from bespoke corpus" "$(cat file.txt)"
[ "$(grep -c '"GET /index.html' server.log)" -eq 3 ] || die "the server log does not show 3 GET /index.html"
say "ok"
