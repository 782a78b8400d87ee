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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
