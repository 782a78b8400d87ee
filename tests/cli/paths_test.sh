#!/usr/bin/env bash
# The servers of issue 13 under their own default filters (argument facts become checks), live: a child of
# a process filtered with redis-server's, nginx's, curl's or memcached's filter is refused ioctl(TIOCSTI) and
# clone(CLONE_NEWUSER) (their clone flags are known: glibc's, and libsystemd's fork helper's);
# an ordinary ioctl (TCGETS) and fork stay allowed, and without a filter every probe is allowed. What stays
# open (socket families, sqlite3's `.load`) is in bench/RESULTS.md.
#
# usage: paths_test.sh BESPOKE PATHPROBE
set -u
BESPOKE=${1:?usage: paths_test.sh BESPOKE PATHPROBE}
PROBE=${2:?usage: paths_test.sh BESPOKE PATHPROBE}
[ -x "$BESPOKE" ] && [ -x "$PROBE" ] || { echo "paths_test: $BESPOKE or $PROBE is not executable" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-paths-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }

# Without a filter every probe returns (EPERM, EAFNOSUPPORT or success; never SIGSYS).
out=$("$PROBE" tcgets tiocsti newuser packet </dev/null 2>&1)
if [ "$out" = $'tcgets allowed\ntiocsti allowed\nnewuser allowed\npacket allowed' ]; then
  pass "unfiltered: every probe allowed"
else
  fail "unfiltered: every probe allowed" "$out"
fi

# server path | probes expected refused
for row in "/usr/bin/redis-server|tiocsti newuser" "/usr/sbin/nginx|tiocsti newuser" "/usr/bin/curl|tiocsti newuser" \
           "/usr/bin/memcached|tiocsti newuser"; do
  app=${row%%|*}
  refused=${row#*|}
  name=$(basename "$app")
  if [ ! -x "$app" ]; then
    fail "$name: installed (scripts/bootstrap installs it)"
    continue
  fi
  if ! "$BESPOKE" analyze "$app" -o "$TMP/$name.yaml" -q 2>"$TMP/err"; then
    fail "$name: analyze" "$(head -3 "$TMP/err")"
    continue
  fi
  out=$("$BESPOKE" run -m "$TMP/$name.yaml" -q -- "$PROBE" tcgets tiocsti newuser </dev/null 2>"$TMP/err")
  rc=$?
  if [ $rc -ne 0 ]; then
    fail "$name: the probe runs under the filter (fork, write, wait4)" "exit $rc" "$(head -3 "$TMP/err")"
    continue
  fi
  ok=1
  grep -qx "tcgets allowed" <<<"$out" || ok=0
  for p in $refused; do grep -qx "$p refused" <<<"$out" || ok=0; done
  if [ $ok -eq 1 ]; then
    pass "$name: a child is refused $refused; TCGETS allowed"
  else
    fail "$name: a child is refused $refused; TCGETS allowed" "$out"
  fi
  # --no-args: the same syscalls for any arguments, nothing refused.
  out=$("$BESPOKE" run -m "$TMP/$name.yaml" -q --no-args -- "$PROBE" tiocsti newuser </dev/null 2>&1)
  if [ "$out" = $'tiocsti allowed\nnewuser allowed' ]; then
    pass "$name --no-args: nothing refused"
  else
    fail "$name --no-args: nothing refused" "$out"
  fi
done

# A reviewer's bound on redis-server's socket families (network.families; the analysis leaves `domain`
# any, see bench/RESULTS.md): redis serves under the filter, a child is refused AF_PACKET, AF_ALG and
# AF_VSOCK, AF_INET6 stays allowed.
if [ -x /usr/bin/redis-server ] && [ -s "$TMP/redis-server.yaml" ] && command -v redis-cli >/dev/null; then
  python3 - "$TMP/redis-server.yaml" "$TMP/redis-families.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
m["network"] = {"bind": [], "connect": [], "families": ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"]}
yaml.safe_dump(m, open(sys.argv[2], "w"), sort_keys=False)
PY
  out=$("$BESPOKE" run -m "$TMP/redis-families.yaml" -q -- "$PROBE" packet alg vsock inet6 </dev/null 2>&1)
  if [ "$out" = $'packet refused\nalg refused\nvsock refused\ninet6 allowed' ]; then
    pass "redis-server with network.families [AF_UNIX, AF_INET, AF_INET6, AF_NETLINK]: a child is refused AF_PACKET, AF_ALG, AF_VSOCK"
  else
    fail "redis-server with network.families: a child is refused AF_PACKET, AF_ALG, AF_VSOCK" "$out"
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BESPOKE" run -m "$TMP/redis-families.yaml" -q -- /usr/bin/redis-server --save "" --appendonly no --port "$port" \
    >"$TMP/redis.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
  got=$(redis-cli -p "$port" set k bounded >/dev/null 2>&1 && redis-cli -p "$port" get k 2>/dev/null)
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
  wait $pid
  rc=$?
  if [ "$got" = bounded ] && [ $rc -eq 0 ]; then
    pass "redis-server under the filter with its families bounded: serves SET/GET, exits 0"
  else
    fail "redis-server under the filter with its families bounded: got '$got', exit $rc" "$(tail -3 "$TMP/redis.log")"
  fi
else
  fail "redis-server with network.families: redis-server, redis-cli and its manifest (scripts/bootstrap installs them)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
