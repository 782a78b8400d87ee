#!/usr/bin/env bash
# Kernel-issued syscalls (analyzer/KernelEntries): a program stopped and continued while it sleeps makes
# the kernel issue restart_syscall, which no program code calls. Under `bespoke run` such a program must
# finish normally, also with a manifest written before bespoke listed restart_syscall; diff and check
# must not call its appearance growth.
#
# usage: stopcont_test.sh BESPOKE STOPCONT
#   STOPCONT  the tests/cli/stopcont helper (a thread in futex with a timeout, the main thread in nanosleep)
set -u
BESPOKE=${1:?usage: stopcont_test.sh BESPOKE STOPCONT}
STOPCONT=${2:?usage: stopcont_test.sh BESPOKE STOPCONT}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-stopcont.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CACHE=$TMP/cache
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }

# Deletes one syscall's entry from a manifest (what a manifest of an older bespoke looks like).
without() { # without NAME IN OUT
  python3 - "$@" <<'PY'
import re, sys
name, src, dst = sys.argv[1:]
text = open(src).read()
start = text.index("\n  - name: %s\n" % name) + 1
end = re.compile(r"^(  - name: |kernel:)", re.M).search(text, start + 1).start()
open(dst, "w").write(text[:start] + text[end:])
PY
}

# Runs CMD in the background; once the program EXE runs (bespoke run has proven and installed the filter
# and exec'd it), waits 0.3 s so it sleeps, stops it with SIGSTOP and continues it 0.4 s later. The exit
# status and output of CMD are in RC and $TMP/out.txt.
stop_and_continue() { # stop_and_continue EXE CMD...
  local exe pid target i
  exe=$(readlink -f "$1"); shift
  "$@" > "$TMP/out.txt" 2> "$TMP/err.txt" &
  pid=$!
  # The process to stop is the program: $pid itself (bespoke run execs it), or strace's child.
  for ((i = 0; i < 100; i++)); do
    target=$pid
    [ "${STOP_CHILD:-0}" = 1 ] && target=$(pgrep -P "$pid" | head -1)
    [ -n "$target" ] && [ "$(readlink "/proc/$target/exe" 2>/dev/null)" = "$exe" ] && break
    sleep 0.1
  done
  sleep 0.3
  kill -STOP "$target"
  sleep 0.4
  kill -CONT "$target"
  wait "$pid"
  RC=$?
}

"$BESPOKE" analyze "$STOPCONT" -o "$TMP/stopcont.yaml" -q --cache-dir "$CACHE" || { echo "FAIL: analyze"; exit 1; }
python3 - "$TMP/stopcont.yaml" <<'PY' && pass "the manifest lists restart_syscall (root 'kernel: signal restart', empty chain) and the vDSO fallbacks" || fail "kernel-issued syscalls missing from the manifest"
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
by = {s["name"]: s for s in m["syscalls"]}
r = by["restart_syscall"]
assert r["nr"] == 219 and r["evidence"] == [{"root": "kernel: signal restart", "chain": []}], r
for n in ("clock_gettime", "gettimeofday", "clock_getres"):
    assert n in by, n
PY

# The scenario really makes the kernel issue restart_syscall (so the runs below test what they claim).
if command -v strace > /dev/null; then
  STOP_CHILD=1 stop_and_continue "$STOPCONT" strace -f -qq -e trace=restart_syscall -o "$TMP/strace.txt" "$STOPCONT" sleep 1500
  grep -q "restart_syscall(<... resuming interrupted" "$TMP/strace.txt" && pass "strace: the stopped program resumes through restart_syscall" \
    || fail "strace shows no restart_syscall (exit $RC): $(head -3 "$TMP/strace.txt")"
fi

# An old manifest (no restart_syscall) still gets it in its filter.
without restart_syscall "$TMP/stopcont.yaml" "$TMP/old.yaml"
grep -q restart_syscall "$TMP/old.yaml" && fail "could not make the old manifest"
"$BESPOKE" extend "$TMP/old.yaml" --format oci -o "$TMP/old.json" -q && grep -q '"restart_syscall"' "$TMP/old.json" \
  && pass "extend of a manifest lacking restart_syscall allows it" || fail "extend: no restart_syscall in the OCI profile"

for m in stopcont old; do
  stop_and_continue "$STOPCONT" "$BESPOKE" run -q --manifest "$TMP/$m.yaml" -- "$STOPCONT" sleep 1500
  if [ "$RC" -eq 0 ] && grep -qx slept "$TMP/out.txt" && grep -qx "futex timed out" "$TMP/out.txt"; then
    pass "bespoke run ($m.yaml): stopped and continued in nanosleep and futex, finished normally"
  else fail "bespoke run ($m.yaml): exit $RC, output: $(tr '\n' '|' < "$TMP/out.txt") $(head -2 "$TMP/err.txt")"; fi
done

"$BESPOKE" run -q --manifest "$TMP/old.yaml" -- "$STOPCONT" self 1500 > "$TMP/self.txt" 2>&1
RC=$?
[ "$RC" -eq 0 ] && grep -qx "stopcont: ok" "$TMP/self.txt" && pass "bespoke run: the program stops and continues its own child" \
  || fail "self: exit $RC: $(tr '\n' '|' < "$TMP/self.txt")"

# coreutils sleep, the issue's own example.
"$BESPOKE" analyze /usr/bin/sleep -o "$TMP/sleep.yaml" -q --cache-dir "$CACHE" || fail "analyze sleep"
stop_and_continue /usr/bin/sleep "$BESPOKE" run -q --manifest "$TMP/sleep.yaml" -- /usr/bin/sleep 2
[ "$RC" -eq 0 ] && pass "sleep 2 under bespoke run, stopped and continued: exit 0" || fail "sleep: exit $RC"

# diff and check: restart_syscall appearing is not growth.
"$BESPOKE" diff "$TMP/old.yaml" "$TMP/stopcont.yaml" > "$TMP/diff.txt" 2>&1
RC=$?
[ "$RC" -eq 0 ] && grep -q "no differences" "$TMP/diff.txt" && pass "diff old new: no differences" \
  || fail "diff old new: exit $RC: $(cat "$TMP/diff.txt")"
"$BESPOKE" check --baseline "$TMP/old.yaml" "$STOPCONT" --cache-dir "$CACHE" > "$TMP/check.txt" 2>&1
RC=$?
[ "$RC" -eq 0 ] && pass "check --baseline old: exit 0 (not growth)" || fail "check: exit $RC: $(head -5 "$TMP/check.txt")"

# A hand-written kernel root on a syscall the kernel does not issue is refused.
python3 - "$TMP/stopcont.yaml" "$TMP/bad.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
i = text.index("\n  - name: write\n")
j = text.index("      - root: ", i)
k = text.index("\n  - name: ", j)
text = text[:j] + '      - root: "kernel: signal restart"\n        chain: []\n' + text[k + 1:]
open(sys.argv[2], "w").write(text)
PY
"$BESPOKE" extend "$TMP/bad.yaml" --format bpf -o "$TMP/bad.bpf" 2> "$TMP/bad.err"
RC=$?
[ "$RC" -eq 2 ] && [ "$(wc -l < "$TMP/bad.err")" -eq 1 ] && grep -q "'write' is not one of them" "$TMP/bad.err" && [ ! -e "$TMP/bad.bpf" ] \
  && pass "a kernel root on write: one-line error, exit 2" || fail "kernel root on write: exit $RC: $(cat "$TMP/bad.err")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
