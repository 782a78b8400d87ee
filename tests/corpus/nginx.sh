#!/usr/bin/env bash
# Corpus workload: nginx (dynamic; master + 1 worker process, epoll, sendfile). A minimal config in the
# temporary directory (daemon off, pid/logs/temp paths there, listen on 127.0.0.1:<free port>); curl
# fetches a small and a large static file, a 404 and a HEAD, checks the contents, then nginx is told to
# quit (SIGQUIT to the master, as `nginx -s quit` does) and exits by itself.
source "$(dirname "$0")/lib.sh"
corpus_init nginx /usr/sbin/nginx "$@"
command -v curl >/dev/null || die "curl not found"

port="$(free_port)"
mkdir -p www logs tmp
echo "hello from bespoke corpus" >www/index.html
python3 -c 'import random; r = random.Random(3); open("www/big.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(300000)))'
cat >nginx.conf <<CONF
daemon off;
master_process on;
worker_processes 1;
user root root;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log info;
events { worker_connections 64; }
http {
  access_log $WORK/logs/access.log;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  types { text/html html; application/octet-stream bin; }
  sendfile on;
  server {
    listen 127.0.0.1:$port;
    root $WORK/www;
  }
}
CONF
trace_bg server "$BIN" -p "$WORK/" -e "$WORK/logs/error.log" -c "$WORK/nginx.conf"
on_exit '[ -f "$WORK/nginx.pid" ] && kill -TERM "$(cat "$WORK/nginx.pid")" 2>/dev/null'
url="http://127.0.0.1:$port"
wait_for 20 "nginx on port $port" curl -sf -o /dev/null "$url/index.html"
wait_for 10 "nginx pid file" test -s "$WORK/nginx.pid"

expect_eq "GET /index.html" "hello from bespoke corpus" "$(timeout 10 curl -sf "$url/index.html")"
timeout 10 curl -sf -o big.out "$url/big.bin" || die "GET /big.bin failed"
cmp -s big.out www/big.bin || die "GET /big.bin returned different bytes"
expect_eq "GET /missing" 404 "$(timeout 10 curl -s -o /dev/null -w '%{http_code}' "$url/missing")"
timeout 10 curl -sfI "$url/index.html" | grep -qi '^content-length: 26' || die "HEAD /index.html lacks content-length 26"
kill -QUIT "$(cat "$WORK/nginx.pid")"
trace_wait 20
[ "$(grep -c '"GET /big.bin' logs/access.log)" -eq 1 ] || die "access log does not show GET /big.bin"
say "ok"
