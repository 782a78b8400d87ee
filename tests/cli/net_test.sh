#!/usr/bin/env bash
# bespoke run --net (issue 14): redis-server under its manifest's filter and the network policy's eBPF cgroup
# programs serves on the port --allow-bind names, and fails to bind it (EPERM) when another port is allowed;
# a probe's children under redis' manifest narrowed to AF_INET get EPERM for AF_INET6, AF_PACKET and
# AF_NETLINK sockets (the cgroup program, or the filter's errno default action for the families the cgroup
# hook never sees) and for binding a port not allowed; a port from the manifest's `network:` section serves
# without a flag; nothing stays attached; bad input is exit 2.
# Needs root (eBPF, cgroup v2): skipped (77) otherwise.
#
# usage: net_test.sh BESPOKE PATHPROBE
set -u
BESPOKE=${1:?usage: net_test.sh BESPOKE PATHPROBE}
PROBE=${2:?usage: net_test.sh BESPOKE PATHPROBE}
[ "$(id -u)" -eq 0 ] || { echo "net_test: needs root (eBPF programs, cgroup v2): skipped"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-net-test.XXXXXX")
trap 'redis-cli -p "${PORT:-1}" shutdown nosave >/dev/null 2>&1; rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
leftovers() { find /sys/fs/cgroup -maxdepth 2 -name 'bespoke-net-*' 2>/dev/null | wc -l; }
BEFORE=$(leftovers)

"$BESPOKE" analyze /usr/bin/redis-server -o "$TMP/redis.yaml" -q || { echo "FAIL: analyze redis-server"; exit 1; }
REDIS=(/usr/bin/redis-server --save "" --appendonly no --protected-mode no)

# 1. --allow-bind PORT: redis serves there.
PORT=$(free_port)
"$BESPOKE" run -m "$TMP/redis.yaml" --net --allow-bind "$PORT" -- "${REDIS[@]}" --port "$PORT" >"$TMP/r1.log" 2>&1 &
RUN=$!
pong=""
for _ in $(seq 1 100); do
  pong=$(redis-cli -p "$PORT" ping 2>/dev/null) && [ "$pong" = PONG ] && break
  kill -0 $RUN 2>/dev/null || break
  sleep 0.1
done
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
wait $RUN
rc=$?
[ "$pong" = PONG ] && [ $rc -eq 0 ] && grep -q "7 eBPF programs proven" "$TMP/r1.log" \
  && pass "redis-server --net --allow-bind $PORT: PING -> PONG, exit 0 after shutdown" \
  || fail "redis-server --net --allow-bind $PORT: '$pong', exit $rc" "$(tail -3 "$TMP/r1.log")"

# 2. Another port allowed: the bind fails with EPERM and redis gives up (its own exit 1).
OTHER=$(free_port)
"$BESPOKE" run -m "$TMP/redis.yaml" --net --allow-bind "$OTHER" -- "${REDIS[@]}" --port "$PORT" >"$TMP/r2.log" 2>&1
rc=$?
grep -q "bind: Operation not permitted" "$TMP/r2.log" && [ $rc -eq 1 ] \
  && pass "redis-server --net --allow-bind $OTHER: binding $PORT fails with EPERM, redis exits 1" \
  || fail "redis-server refused its port: exit $rc" "$(grep -i -m2 'bind\|error' "$TMP/r2.log")"

# 2b. The port from the manifest's reviewed `network:` section instead of a flag: redis serves; the same
#     manifest with a malformed destination is bad input naming it.
python3 - "$TMP/redis.yaml" "$TMP/redis-net.yaml" "$PORT" <<'PY'
import sys
open(sys.argv[2], "w").write(open(sys.argv[1]).read().replace("\nunresolved:", "\nnetwork:\n  bind: [%s]\n  connect: []\nunresolved:" % sys.argv[3], 1))
PY
"$BESPOKE" run -m "$TMP/redis-net.yaml" --net -- "${REDIS[@]}" --port "$PORT" >"$TMP/r3.log" 2>&1 &
RUN=$!
pong=""
for _ in $(seq 1 100); do
  pong=$(redis-cli -p "$PORT" ping 2>/dev/null) && [ "$pong" = PONG ] && break
  kill -0 $RUN 2>/dev/null || break
  sleep 0.1
done
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
wait $RUN
rc=$?
[ "$pong" = PONG ] && [ $rc -eq 0 ] && grep -q "1 bind ports" "$TMP/r3.log" \
  && pass "redis-server --net with network.bind [$PORT] in its manifest (no flag): PING -> PONG" \
  || fail "manifest network.bind: '$pong', exit $rc" "$(tail -3 "$TMP/r3.log")"
sed 's/  connect: \[\]/  connect: ["10.0.0.1"]/' "$TMP/redis-net.yaml" >"$TMP/redis-badnet.yaml"
"$BESPOKE" run -m "$TMP/redis-badnet.yaml" --net -- /usr/bin/true >"$TMP/r4.log" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "redis-badnet.yaml: network.connect: .*10.0.0.1" "$TMP/r4.log" \
  && pass "a malformed network.connect in the manifest: exit 2 naming it" \
  || fail "malformed network.connect: exit $rc" "$(cat "$TMP/r4.log")"

# nginx likewise, on the port its configuration names (one process, files under $TMP/ng).
"$BESPOKE" analyze /usr/sbin/nginx -o "$TMP/nginx.yaml" -q || fail "analyze nginx"
NPORT=$(free_port)
mkdir -p "$TMP/ng"
cat > "$TMP/ng/nginx.conf" <<CONF
daemon off;
master_process off;
pid $TMP/ng/nginx.pid;
error_log stderr;
events {}
http {
  access_log off;
  client_body_temp_path $TMP/ng/body;
  proxy_temp_path $TMP/ng/proxy;
  fastcgi_temp_path $TMP/ng/fastcgi;
  uwsgi_temp_path $TMP/ng/uwsgi;
  scgi_temp_path $TMP/ng/scgi;
  server { listen 127.0.0.1:$NPORT; location / { return 200 "served under --net\n"; } }
}
CONF
NGINX=(/usr/sbin/nginx -p "$TMP/ng" -c "$TMP/ng/nginx.conf")
"$BESPOKE" run -m "$TMP/nginx.yaml" --net --allow-bind "$NPORT" -- "${NGINX[@]}" >"$TMP/n1.log" 2>&1 &
RUN=$!
page=""
for _ in $(seq 1 100); do
  page=$(curl -sf --max-time 5 "http://127.0.0.1:$NPORT/" 2>/dev/null) && [ -n "$page" ] && break
  kill -0 $RUN 2>/dev/null || break
  sleep 0.1
done
kill -TERM $RUN # passed on to nginx, which stops
wait $RUN
rc=$?
[ "$page" = "served under --net" ] && [ $rc -eq 0 ] \
  && pass "nginx --net --allow-bind $NPORT: GET / -> '$page'; SIGTERM to bespoke run reaches nginx, exit 0" \
  || fail "nginx --net --allow-bind $NPORT: '$page', exit $rc" "$(tail -3 "$TMP/n1.log")"
"$BESPOKE" run -m "$TMP/nginx.yaml" --net --allow-bind "$OTHER" -- "${NGINX[@]}" >"$TMP/n2.log" 2>&1
rc=$?
grep -q "bind() to 127.0.0.1:$NPORT failed (1: Operation not permitted)" "$TMP/n2.log" && [ $rc -eq 1 ] \
  && pass "nginx --net --allow-bind $OTHER: bind() to its port fails with EPERM, nginx exits 1" \
  || fail "nginx refused its port: exit $rc" "$(tail -2 "$TMP/n2.log")"

# 3. Families: redis' manifest with its socket domains narrowed to AF_INET and AF_UNIX. With the errno:1 default
# action the filter answers AF_PACKET and AF_NETLINK (which the cgroup hook never sees) with EPERM; the
# cgroup program refuses AF_INET6 and the port not allowed. Without --net, only the filter acts.
python3 - "$TMP/redis.yaml" "$TMP/redis-inet.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text, n = re.subn(r"(- name: socket\n    nr: 41\n    args:\n      domain:) any[^\n]*", r"\1 [AF_INET, AF_UNIX]", text)
assert n == 1, "socket's domain fact not found"
open(sys.argv[2], "w").write(text)
PY
out=$("$BESPOKE" run -m "$TMP/redis-inet.yaml" -q -d errno:1 --net --allow-bind "$PORT" -- \
      "$PROBE" inet6 packet netlink "bind:$PORT" "bind:$OTHER" tcgets </dev/null 2>"$TMP/err")
want=$'inet6 eperm\npacket eperm\nnetlink eperm\nbind:'"$PORT"$' allowed\nbind:'"$OTHER"$' eperm\ntcgets allowed'
[ "$out" = "$want" ] && pass "a child under --net: AF_INET6, AF_PACKET, AF_NETLINK and bind:$OTHER get EPERM; bind:$PORT allowed" \
  || fail "probe under --net" "$out" "$(head -3 "$TMP/err")"
out=$("$BESPOKE" run -m "$TMP/redis-inet.yaml" -q -d errno:1 -- "$PROBE" "bind:$OTHER" </dev/null 2>&1)
[ "$out" = "bind:$OTHER allowed" ] && pass "without --net the port is not restricted" || fail "without --net" "$out"

[ "$(leftovers)" = "$BEFORE" ] && pass "no bespoke-net cgroup left behind" || fail "cgroups left: $(find /sys/fs/cgroup -maxdepth 2 -name 'bespoke-net-*')"

# 4. Bad input: exit 2 with one line naming the problem.
# A manifest without sockets: redis' with socket and socketpair taken out.
python3 - "$TMP/redis.yaml" "$TMP/nosock.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text, n = re.subn(r"  - name: (socket|socketpair)\n(    .*\n|      .*\n|        .*\n|          .*\n)*", "", text)
assert n == 2, n
open(sys.argv[2], "w").write(text)
PY
bad() { # WHAT EXPECTED-TEXT ARGS...
  local what=$1 text=$2
  shift 2
  "$BESPOKE" run "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
  local rc=$?
  [ $rc -eq 2 ] && grep -q -- "$text" "$TMP/bad.err" && pass "bad input: $what -> exit 2" \
    || fail "bad input: $what: exit $rc" "$(cat "$TMP/bad.err")"
}
bad "a manifest without socket facts" "no socket facts" -m "$TMP/nosock.yaml" --net -- /usr/bin/true
bad "a destination without a port" "--allow-connect '10.0.0.1': no port" -m "$TMP/redis.yaml" --net --allow-connect 10.0.0.1 -- /usr/bin/true
bad "an IPv6 destination without brackets" "IPv6 goes in brackets" -m "$TMP/redis.yaml" --net --allow-connect 2001:db8::1:443 -- /usr/bin/true
bad "port 0" "--allow-bind '0'" -m "$TMP/redis.yaml" --net --allow-bind 0 -- /usr/bin/true
bad "--allow-bind without --net" "need --net" -m "$TMP/redis.yaml" --allow-bind 80 -- /usr/bin/true
# Not root: no cgroup of its own, no eBPF; and no cgroup v2 mounted (a private mount namespace without it).
cp "$TMP/redis.yaml" "$TMP/nobody.yaml" && chmod 755 "$TMP" && chmod 644 "$TMP/nobody.yaml"
su -s /bin/sh nobody -c "'$BESPOKE' run -m '$TMP/nobody.yaml' -q --net -- /usr/bin/true" >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 2 ] && grep -q "need root" "$TMP/bad.err" && pass "bad input: not root -> exit 2 ($(head -c 120 "$TMP/bad.err"))" \
  || fail "bad input: not root: exit $rc" "$(cat "$TMP/bad.err")"
unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; umount /sys/fs/cgroup 2>/dev/null; '$BESPOKE' run -m '$TMP/redis.yaml' -q --net -- /usr/bin/true" >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
if grep -q cgroup2 /proc/self/mountinfo && ! unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; umount /sys/fs/cgroup 2>/dev/null; grep -q " cgroup2 " /proc/self/mountinfo'; then
  [ $rc -eq 2 ] && grep -q "no cgroup v2 file system is mounted" "$TMP/bad.err" && pass "bad input: no cgroup v2 mounted -> exit 2" \
    || fail "bad input: no cgroup v2: exit $rc" "$(cat "$TMP/bad.err")"
else
  echo "SKIP: cannot hide cgroup v2 in a mount namespace here"
fi
[ "$(leftovers)" = "$BEFORE" ] && pass "still no cgroup left after the bad inputs" || fail "cgroups left after bad input"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
