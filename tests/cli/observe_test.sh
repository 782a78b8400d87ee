#!/usr/bin/env bash
# bespoke observe (issue 14): redis-server observed under its full manifest serves and is reported without
# violations; under the same manifest without three syscalls it makes (bind, listen, epoll_wait), it serves
# just the same (observe never restricts) and the report names exactly those three, each with a count and a
# stack symbolised through the manifest's modules; --manifest-out gives a manifest under which a second run
# has no violations; a program refused for an argument value (socket(AF_INET6) under a manifest allowing
# AF_INET only) is reported with that value; nothing stays attached or in the cgroup tree; bad input is
# exit 2. VIA is observe's mechanism (--via seccomp, the default, or ebpf); under seccomp the stacks also
# name redis' own frames (found by scanning the stack). Needs root (cgroup v2; eBPF): skipped (77) otherwise.
#
# usage: observe_test.sh BESPOKE PATHPROBE [VIA]
set -u
BESPOKE=${1:?usage: observe_test.sh BESPOKE PATHPROBE [VIA]}
PROBE=${2:?usage: observe_test.sh BESPOKE PATHPROBE [VIA]}
VIA=${3:-seccomp}
[ "$(id -u)" -eq 0 ] || { echo "observe_test: needs root (cgroup v2, eBPF programs): skipped"; exit 77; }
echo "observe_test: --via $VIA"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-observe-test.XXXXXX")
trap 'redis-cli -p "${PORT:-1}" shutdown nosave >/dev/null 2>&1; rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
leftovers() { find /sys/fs/cgroup -maxdepth 2 -name 'bespoke-observe-*' 2>/dev/null | wc -l; }
command -v bpftool >/dev/null || { echo "FAIL: bpftool not found (scripts/bootstrap installs it)"; exit 1; }
# The programs our runs loaded, by the id each run's note gives; none may still be loaded once it returned
# (ids, not a count: other tests may observe at the same time). Freeing is deferred a little: retry 2 s.
left_programs() {
  local ids id n=0
  ids=$(grep -ho "the observe program (id [0-9]*" "$TMP"/*.log 2>/dev/null | grep -o "[0-9]*$" | sort -u)
  for id in $ids; do
    for _ in $(seq 1 20); do bpftool prog show id "$id" >/dev/null 2>&1 || continue 2; sleep 0.1; done
    n=$((n + 1))
  done
  echo $n
}
BEFORE=$(leftovers)

"$BESPOKE" analyze /usr/bin/redis-server -o "$TMP/redis.yaml" -q || { echo "FAIL: analyze redis-server"; exit 1; }
REDIS=(/usr/bin/redis-server --save "" --appendonly no --protected-mode no)

# observe MANIFEST TAG: redis observed while it serves SET, GET and PING; the JSON report in $TMP/TAG.json.
observe() {
  local manifest=$1 tag=$2
  shift 2
  PORT=$(free_port)
  "$BESPOKE" observe --via "$VIA" -m "$manifest" --json -o "$TMP/$tag.json" "$@" -- "${REDIS[@]}" --port "$PORT" \
    >"$TMP/$tag.log" 2>&1 &
  local run=$! pong=""
  for _ in $(seq 1 150); do
    pong=$(redis-cli -p "$PORT" ping 2>/dev/null) && [ "$pong" = PONG ] && break
    kill -0 $run 2>/dev/null || break
    sleep 0.1
  done
  SERVED=$(redis-cli -p "$PORT" set k observed >/dev/null 2>&1 && redis-cli -p "$PORT" get k 2>/dev/null)
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
  wait $run
  STATUS=$?
}

# 1. The full manifest: no violations, redis serves, its exit status is observe's.
observe "$TMP/redis.yaml" full
[ "$SERVED" = observed ] && [ $STATUS -eq 0 ] \
  && python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["violations"]==[] and r["recorded_calls"]>0 and r["lost"]==0 and r["exit_status"]==0 and r["mechanism"]==sys.argv[2] else 1)' "$TMP/full.json" "$VIA" \
  && pass "redis-server under its full manifest: served, exit 0, no violations ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recorded_calls"])' "$TMP/full.json") recorded calls, all allowed)" \
  || fail "redis-server under its full manifest: served '$SERVED', exit $STATUS" "$(head -c 1500 "$TMP/full.json" 2>/dev/null)" "$(tail -3 "$TMP/full.log")"

# 2. Three syscalls it makes taken out of the manifest: exactly those three reported, with counts and stacks.
python3 - "$TMP/redis.yaml" "$TMP/missing3.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
before = len(m["syscalls"])
m["syscalls"] = [s for s in m["syscalls"] if s["name"] not in ("bind", "listen", "epoll_wait")]
assert len(m["syscalls"]) == before - 3, "redis' manifest lacks one of bind, listen, epoll_wait"
yaml.safe_dump(m, open(sys.argv[2], "w"), sort_keys=False)
PY
observe "$TMP/missing3.yaml" missing3 --manifest-out "$TMP/observed.yaml"
python3 - "$TMP/missing3.json" "$VIA" <<'PY' >"$TMP/missing3.check" 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
names = sorted(v["syscall"] for v in r["violations"])
assert names == ["bind", "epoll_wait", "listen"], names
for v in r["violations"]:
    assert v["count"] >= 1 and v["action"] == "kill-process" and not v["in_manifest"], v
    assert v["stack"], v
    assert v["stack"][0].startswith("libc.so.6!"), v["stack"][0]  # the syscall instruction is libc's
by = {v["syscall"]: v["count"] for v in r["violations"]}
assert by["epoll_wait"] > 1, by
if sys.argv[2] == "seccomp":  # the stack scan finds redis' own return addresses (its event loop)
    for v in r["violations"]:
        assert any(f.startswith("redis-server!") for f in v["stack"][1:]), v["stack"]
print(by, [v["stack"][0] for v in r["violations"]])
PY
[ $? -eq 0 ] && [ "$SERVED" = observed ] && [ $STATUS -eq 0 ] \
  && pass "redis-server without bind, listen, epoll_wait in its manifest: served, exit 0, exactly those reported: $(tail -1 "$TMP/missing3.check")" \
  || fail "manifest missing three: served '$SERVED', exit $STATUS" "$(cat "$TMP/missing3.check")" "$(tail -3 "$TMP/missing3.log")"

# 3. --manifest-out: the three are back, marked observed, and a run under it has no violations.
if grep -q "root: observed" "$TMP/observed.yaml" 2>/dev/null; then
  observe "$TMP/observed.yaml" again
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["violations"]==[] else 1)' "$TMP/again.json" \
    && [ "$SERVED" = observed ] \
    && pass "--manifest-out: bind, listen, epoll_wait added with root 'observed'; a second run has no violations" \
    || fail "second run under the --manifest-out manifest" "$(head -c 800 "$TMP/again.json")"
else
  fail "--manifest-out wrote no observed entries" "$(ls -l "$TMP")"
fi

# 4. An argument value the policy refuses: the probe's socket(AF_INET6) under redis' manifest narrowed to
#    AF_INET; its AF_INET socket (bind:0) is not a violation. The text report names the value.
python3 - "$TMP/redis.yaml" "$TMP/inet.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
n = 0
for s in m["syscalls"]:
    if s["name"] == "socket":
        s.setdefault("args", {})["domain"] = ["AF_INET"]
        n += 1
assert n == 1
yaml.safe_dump(m, open(sys.argv[2], "w"), sort_keys=False)
PY
"$BESPOKE" observe --via "$VIA" -m "$TMP/inet.yaml" -o "$TMP/inet.txt" -- "$PROBE" bind:0 inet6 >"$TMP/inet.log" 2>&1
rc=$?
grep -q "^  socket (41): 1 call, the filter would answer kill-process (the manifest lists it, not for these arguments)" "$TMP/inet.txt" \
  && grep -q "args \[0\]=0xa\( \[[1-5]\]=0x[0-9a-f]*\)*: 1$" "$TMP/inet.txt" && [ $rc -eq 0 ] \
  && pass "socket(AF_INET6) under an AF_INET-only manifest: reported with domain 0xa, once (AF_INET not reported)" \
  || fail "argument-level violation: exit $rc" "$(cat "$TMP/inet.txt")" "$(tail -3 "$TMP/inet.log")"

# 4b. The reviewer's bound instead (network.families [AF_UNIX, AF_INET]; the facts keep domain any): the
#     AF_INET6 socket is reported, and --manifest-out widens the bound by AF_INET6.
python3 - "$TMP/redis.yaml" "$TMP/families.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
m["network"] = {"bind": [], "connect": [], "families": ["AF_UNIX", "AF_INET"]}
yaml.safe_dump(m, open(sys.argv[2], "w"), sort_keys=False)
PY
"$BESPOKE" observe --via "$VIA" -m "$TMP/families.yaml" -o "$TMP/families.txt" --manifest-out "$TMP/families-out.yaml" \
  -- "$PROBE" bind:0 inet6 >"$TMP/families.log" 2>&1
rc=$?
fams=$(python3 -c 'import sys, yaml; print(",".join(yaml.safe_load(open(sys.argv[1]))["network"]["families"]))' \
  "$TMP/families-out.yaml" 2>&1)
grep -q "args \[0\]=0xa\( \[[1-5]\]=0x[0-9a-f]*\)*: 1$" "$TMP/families.txt" && [ $rc -eq 0 ] && [ "$fams" = "AF_INET,AF_INET6,AF_UNIX" ] \
  && pass "network.families [AF_UNIX, AF_INET]: socket(AF_INET6) reported; --manifest-out widens the bound to $fams" \
  || fail "network.families bound: exit $rc, families '$fams'" "$(cat "$TMP/families.txt")" "$(tail -3 "$TMP/families.log")"

# 5. The command's exit status is observe's; nothing left behind.
"$BESPOKE" observe --via "$VIA" -m "$TMP/redis.yaml" -q -- /bin/sh -c 'exit 7' >"$TMP/exit.txt" 2>&1
rc=$?
[ $rc -eq 7 ] && pass "exit status: the command's (7)" || fail "exit status: $rc, expected 7" "$(cat "$TMP/exit.txt")"
ids=$(grep -ho "the observe program (id [0-9]*" "$TMP"/*.log | grep -o "[0-9]*$" | sort -u | wc -l)
want=4
[ "$VIA" = ebpf ] || want=0 # the seccomp supervisor loads no program
[ "$(leftovers)" = "$BEFORE" ] && [ "$ids" -ge $want ] && [ "$(left_programs)" -eq 0 ] \
  && pass "no cgroup and none of the $ids observe programs left after the runs" \
  || fail "left behind: cgroups $(leftovers) (before $BEFORE), $(left_programs) of $ids programs still loaded"

# 5b. A command that leaves a process running: it is killed when the command ends, and observe returns.
start=$(date +%s)
"$BESPOKE" observe --via "$VIA" -m "$TMP/redis.yaml" -- /bin/sh -c 'sleep 300 & exit 0' >"$TMP/left.txt" 2>"$TMP/left.err"
rc=$?
[ $rc -eq 0 ] && [ $(( $(date +%s) - start )) -lt 60 ] && grep -q "left 1 processes running; killed them" "$TMP/left.err" \
  && ! pgrep -f "^sleep 300$" >/dev/null \
  && pass "a process the command left running is killed, observe returns ($(grep -o 'left 1.*' "$TMP/left.err"))" \
  || fail "left-running process: exit $rc" "$(cat "$TMP/left.err")"

# 6. Bad input: exit 2, a one-line error naming the problem.
bad() { # WHAT EXPECTED-TEXT ARGS...
  local what=$1 text=$2
  shift 2
  "$BESPOKE" observe "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
  local rc=$?
  [ $rc -eq 2 ] && grep -q -- "$text" "$TMP/bad.err" && pass "bad input: $what -> exit 2" \
    || fail "bad input: $what: exit $rc" "$(cat "$TMP/bad.err")"
}
printf 'bespoke: 2\nsyscalls: [\n' >"$TMP/broken.yaml"
bad "a malformed manifest" "broken.yaml" --via "$VIA" -m "$TMP/broken.yaml" -- /usr/bin/true
bad "no command" "missing the command" --via "$VIA" -m "$TMP/redis.yaml"
bad "no manifest" "missing --manifest" --via "$VIA" -- /usr/bin/true
bad "an unknown mechanism" "unknown" --via kprobe -m "$TMP/redis.yaml" -- /usr/bin/true
cp "$TMP/redis.yaml" "$TMP/nobody.yaml" && chmod 755 "$TMP" && chmod 644 "$TMP/nobody.yaml"
su -s /bin/sh nobody -c "'$BESPOKE' observe --via $VIA -m '$TMP/nobody.yaml' -q -- /usr/bin/true" >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 2 ] && grep -q "root" "$TMP/bad.err" && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ] \
  && pass "bad input: not root -> exit 2 ($(head -c 140 "$TMP/bad.err"))" \
  || fail "bad input: not root: exit $rc" "$(cat "$TMP/bad.err")"
if grep -q cgroup2 /proc/self/mountinfo && ! unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; umount /sys/fs/cgroup 2>/dev/null; grep -q " cgroup2 " /proc/self/mountinfo'; then
  unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; umount /sys/fs/cgroup 2>/dev/null; '$BESPOKE' observe --via $VIA -m '$TMP/redis.yaml' -q -- /usr/bin/true" >"$TMP/bad.out" 2>"$TMP/bad.err"
  rc=$?
  [ $rc -eq 2 ] && grep -q "no cgroup v2 file system is mounted" "$TMP/bad.err" && pass "bad input: no cgroup v2 mounted -> exit 2" \
    || fail "bad input: no cgroup v2: exit $rc" "$(cat "$TMP/bad.err")"
else
  echo "SKIP: cannot hide cgroup v2 in a mount namespace here"
fi
"$BESPOKE" observe --via "$VIA" -m "$TMP/redis.yaml" -q -- /nonexistent/cmd >"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 127 ] && grep -q "command not found" "$TMP/bad.err" && pass "a command that cannot start -> exit 127" \
  || fail "a command that cannot start: exit $rc" "$(cat "$TMP/bad.err")"
[ "$(leftovers)" = "$BEFORE" ] && [ "$(left_programs)" -eq 0 ] && pass "still nothing left after the bad inputs" \
  || fail "left behind after bad input"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
