#!/usr/bin/env bash
# Corpus workload: nginx with every dynamic module of Debian 12 (the libnginx-mod-* packages, see
# scripts/bootstrap), loaded the way the stock /etc/nginx/nginx.conf loads them: the config (built in
# the temporary directory, with nginx's default prefix so that `load_module modules/...` resolves as
# Debian intends) includes /etc/nginx/modules-enabled/*.conf and /etc/nginx/mime.types. nginx loads the
# modules with dlopen (with their libraries: LuaJIT, libperl, libxslt, libGeoIP, libmaxminddb,
# libmodsecurity, ...). Checked: a static file, a gzip-compressed response (the body decompresses to
# the file), proxy_pass to a second server block, a `stream {}` TCP proxy to the first server, and
# three module directives (echo, headers-more, lua). As in the stock configuration the worker runs as
# www-data (the master looks it up through NSS), so the temporary directory is made world-readable.
# Then SIGQUIT; nginx exits by itself.
# Analysed with every module of the libnginx-mod-* packages named (--dlopen of their directory); the
# same workload as nginx-observed analyses what `nginx -t` on the stock configuration loads instead.
[ -n "${ANALYZE_ARGS+set}" ] || ANALYZE_ARGS=(--dlopen /usr/lib/nginx/modules)
source "$(dirname "$0")/lib.sh"
corpus_init "${NGINX_APP:-nginx-modules}" /usr/sbin/nginx "$@"
command -v curl >/dev/null || die "curl not found"
n="$(ls /etc/nginx/modules-enabled/*.conf 2>/dev/null | wc -l)"
[ "$n" -ge 30 ] || die "only $n modules in /etc/nginx/modules-enabled (run scripts/bootstrap: every libnginx-mod-* package)"

port="$(free_port)"; backend="$(free_port)"; tcp="$(free_port)"
while [ "$backend" = "$port" ]; do backend="$(free_port)"; done
while [ "$tcp" = "$port" ] || [ "$tcp" = "$backend" ]; do tcp="$(free_port)"; done
chmod 755 "$WORK"
mkdir -p www logs tmp
echo "hello from bespoke corpus with modules" >www/index.html
seq 1 20000 | sed 's/$/ gzip me/' >www/big.txt
cat >nginx.conf <<CONF
user www-data;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log info;
include /etc/nginx/modules-enabled/*.conf;
events { worker_connections 64; }
http {
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $WORK/logs/access.log;
  gzip on;
  gzip_types text/plain;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $WORK/www;
    location /proxy/ { proxy_pass http://127.0.0.1:$backend/; }
    location = /echo { echo "echo module says hi"; }
    location = /lua { content_by_lua_block { ngx.say("lua says ", 6 * 7) } }
    location = /headers { more_set_headers "X-Corpus: headers-more"; return 204; }
  }
  server {
    listen 127.0.0.1:$backend;
    location / { return 200 "backend got \$uri\n"; }
  }
}
stream {
  server {
    listen 127.0.0.1:$tcp;
    proxy_pass 127.0.0.1:$port;
  }
}
CONF
trace_bg server "$BIN" -e "$WORK/logs/error.log" -c "$WORK/nginx.conf" -g 'daemon off; master_process on;'
on_exit '[ -f "$WORK/nginx.pid" ] && kill -TERM "$(cat "$WORK/nginx.pid")" 2>/dev/null'
url="http://127.0.0.1:$port"
wait_for 30 "nginx on port $port" curl -sf -o /dev/null "$url/index.html"
wait_for 10 "nginx pid file" test -s "$WORK/nginx.pid"

expect_eq "GET /index.html" "hello from bespoke corpus with modules" "$(timeout 10 curl -sf "$url/index.html")"
timeout 10 curl -sf -H 'Accept-Encoding: gzip' -D gz.headers -o big.gz "$url/big.txt" || die "GET /big.txt (gzip) failed"
grep -qi '^content-encoding: gzip' gz.headers || die "GET /big.txt: no Content-Encoding: gzip"
gzip -dc big.gz | cmp -s - www/big.txt || die "GET /big.txt: the gzip body does not decompress to the file"
[ "$(stat -c %s big.gz)" -lt "$(stat -c %s www/big.txt)" ] || die "GET /big.txt: the gzip body is not smaller"
expect_eq "proxy_pass" "backend got /some/path" "$(timeout 10 curl -sf "$url/proxy/some/path")"
expect_eq "stream proxy" "hello from bespoke corpus with modules" "$(timeout 10 curl -sf "http://127.0.0.1:$tcp/index.html")"
expect_eq "echo module" "echo module says hi" "$(timeout 10 curl -sf "$url/echo")"
expect_eq "lua module" "lua says 42" "$(timeout 10 curl -sf "$url/lua")"
timeout 10 curl -s -D - -o /dev/null "$url/headers" | grep -qi '^x-corpus: headers-more' || die "headers-more: no X-Corpus header"
kill -QUIT "$(cat "$WORK/nginx.pid")"
trace_wait 20
[ "$(grep -c '"GET /big.txt' logs/access.log)" -eq 1 ] || die "access log does not show GET /big.txt"
say "ok"
