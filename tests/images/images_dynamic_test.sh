#!/usr/bin/env bash
# images_dynamic_test.sh BESPOKE WORKDIR [STOPCONT]
# Debian's own dynamic (glibc) programs as unikernels: redis-server with its 18-module closure under its
# proven seccomp filter answers redis-cli on the host (PING, SET, GET) through a forwarded port; the
# same image with `bind` taken out of the manifest is killed by its filter (SIGSYS) when redis binds;
# STOPCONT (tests/cli/stopcont) stops and continues its sleeping worker under that kernel and a filter
# from redis' manifest without restart_syscall, and finishes normally; sqlite3 runs a SQL script put in the image with --add and prints the right rows. Two cold kernel
# builds (redis + SECCOMP, sqlite3) into WORKDIR/cache under the build tree the first time.
set -u
BESPOKE=$1 W=$2 STOPCONT=${3:-}
CACHE=$W/cache
mkdir -p "$W"
. "$(dirname "$0")/lib.sh"

json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }

# --- redis-server: rewrite with --seccomp, boot, redis-cli from the host.
"$BESPOKE" analyze /usr/bin/redis-server -o "$W/redis.yaml" -q || { echo "FAIL: analyze redis-server"; exit 1; }
REDIS_ARGS=(--port 6379 --protected-mode no --save "" --appendonly no)
start=$(date +%s.%N)
if "$BESPOKE" rewrite "$W/redis.yaml" --binary /usr/bin/redis-server --seccomp -o "$W/redis-img" \
     --cache-dir "$CACHE" "${KS[@]}" -- "${REDIS_ARGS[@]}"; then
  pass "rewrite redis-server in $(echo "$(date +%s.%N) - $start" | bc) s"
else
  echo "FAIL: rewrite redis-server"; exit 1
fi
I=$W/redis-img/image.json
[ "$(json "$I" 'd["interpreter"]')" = /lib64/ld-linux-x86-64.so.2 ] && pass "interpreter /lib64/ld-linux-x86-64.so.2" \
  || fail "interpreter: $(json "$I" 'd["interpreter"]')"
# ldd lists the libraries as "NAME => PATH" and the loader on a line of its own; the image holds both.
n=$(json "$I" 'len(d["libraries"])')
want=$(( $(ldd /usr/bin/redis-server | grep -c '=> /') + 1 ))
[ "$n" -eq "$want" ] && pass "$n libraries in the image (the loader too), as ldd lists" \
  || fail "libraries: $n in the image, ldd lists $want"
json "$I" '[l["path"] for l in d["libraries"]]' | grep -q "'/lib/x86_64-linux-gnu/libc.so.6'" || fail "no libc.so.6"
[ "$(json "$I" 'd["seccomp"]["proven_equivalent"]')" = True ] && pass "seccomp filter of $(json "$I" 'd["seccomp"]["instructions"]') instructions, proven" \
  || fail "no proven seccomp filter in image.json"
grep -q '^CONFIG_SECCOMP_FILTER=y' "$W/redis-img/kernel.config" || fail "kernel.config lacks SECCOMP_FILTER"
[ "$(json "$I" 'd["config_proof"]["holds"]')" = True ] || fail "config proof does not hold"
echo "kernel $(json "$I" 'd["kernel"]["bzimage_bytes"]') bytes, initramfs $(json "$I" 'd["initramfs"]["gzip_bytes"]') bytes gzip"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BESPOKE" boot "$W/redis-img" --forward "127.0.0.1:$PORT:6379" --timeout 400 > "$W/redis.out" 2> "$W/redis.err" &
BOOT=$!
pong=""
for _ in $(seq 1 300); do
  kill -0 $BOOT 2>/dev/null || break
  pong=$(timeout 10 redis-cli -p "$PORT" PING 2>/dev/null) && [ "$pong" = PONG ] && break
  sleep 1
done
[ "$pong" = PONG ] && pass "redis-cli PING -> PONG" || fail "no PONG (got '$pong')"
r=$(timeout 20 redis-cli -p "$PORT" SET bespoke "specialized kernel" 2>&1)
[ "$r" = OK ] && pass "SET -> OK" || fail "SET -> '$r'"
r=$(timeout 20 redis-cli -p "$PORT" GET bespoke 2>&1)
[ "$r" = "specialized kernel" ] && pass "GET -> '$r'" || fail "GET -> '$r'"
timeout 20 redis-cli -p "$PORT" SHUTDOWN NOSAVE > /dev/null 2>&1
wait $BOOT
rc=$?
[ $rc -eq 0 ] && pass "redis SHUTDOWN: boot exit 0" || fail "redis boot exit $rc"
grep -q "bespoke-init: seccomp" "$W/redis.out" || fail "no seccomp marker on the console"
echo "--- redis console (tail)"; tail -15 "$W/redis.out"; cat "$W/redis.err"

# --- the filter enforces: the same manifest without bind (same kernel config: bind needs NET, as the
# other socket calls do), so redis dies of SIGSYS when it binds its port.
python3 - "$W/redis.yaml" "$W/redis-nobind.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
start = text.index("\n  - name: bind\n") + 1
end = re.compile(r"^  - name: ", re.M).search(text, start + 1).start()
open(sys.argv[2], "w").write(text[:start] + text[end:])
PY
"$BESPOKE" rewrite "$W/redis-nobind.yaml" --binary /usr/bin/redis-server --seccomp -o "$W/redis-nobind-img" \
  --cache-dir "$CACHE" "${KS[@]}" -q -- "${REDIS_ARGS[@]}" || fail "rewrite without bind"
[ "$(json "$W/redis-nobind-img/image.json" 'd["kernel"]["cache_hit"]')" = True ] || fail "no-bind image: no kernel cache hit"
"$BESPOKE" boot "$W/redis-nobind-img" --timeout 400 > "$W/nobind.out" 2> "$W/nobind.err"
rc=$?
[ $rc -eq 159 ] && grep -q "bespoke-init: signal 31" "$W/nobind.out" && pass "without bind in the filter: SIGSYS, boot exit 159" \
  || { fail "no-bind: boot exit $rc"; tail -5 "$W/nobind.out"; }

# --- restart_syscall under an image's filter: tests/cli/stopcont forks a worker (a thread in futex with a
# timeout, the main thread in nanosleep), stops it with SIGSTOP and continues it; the kernel makes the
# worker call restart_syscall. The image uses redis-server's manifest without restart_syscall (as an older
# bespoke wrote it) plus the syscalls stopcont reaches that redis does not: the same kernel config (no cold
# build, checked), and a filter that allows every syscall stopcont makes, so only the kernel-issued call is
# at stake.
if [ -n "$STOPCONT" ]; then
  "$BESPOKE" analyze "$STOPCONT" -o "$W/stopcont.yaml" -q || fail "analyze stopcont"
  # redis' manifest without restart_syscall, plus the few syscalls only stopcont's code reaches (glibc's own
  # malloc: mremap), so that the filter allows everything stopcont can do but the kernel-issued call.
  python3 - "$W/redis.yaml" "$W/stopcont.yaml" "$W/redis-old.yaml" <<'PY' || fail "cannot make the old-style manifest"
import re, sys
entry = re.compile(r"^  - name: (\S+)\n.*?(?=^  - name: |\Z)", re.M | re.S)
def syscalls(text):  # name -> its entry, from the syscalls: section only
    start, end = text.index("\nsyscalls:\n") + 11, text.index("\nkernel:\n") + 1
    return start, end, {m.group(1): m.group(0) for m in entry.finditer(text[start:end])}
redis, stopcont = open(sys.argv[1]).read(), open(sys.argv[2]).read()
start, end, have = syscalls(redis)
extra = {n: e for n, e in syscalls(stopcont)[2].items() if n not in have}
entries = {**have, **extra}
del entries["restart_syscall"]
open(sys.argv[3], "w").write(redis[:start] + "".join(entries[n] for n in sorted(entries)) + redis[end:])
print("stopcont adds to redis' manifest:", sorted(extra))
PY
  "$BESPOKE" rewrite "$W/redis-old.yaml" --binary "$STOPCONT" --seccomp -o "$W/stopcont-img" \
    --cache-dir "$CACHE" "${KS[@]}" -q -- self 1500 || fail "rewrite stopcont"
  [ "$(json "$W/stopcont-img/image.json" 'd["kernel"]["cache_hit"]')" = True ] || fail "stopcont image: no kernel cache hit"
  "$BESPOKE" boot "$W/stopcont-img" --timeout 400 > "$W/stopcont.out" 2> "$W/stopcont.err"
  rc=$?
  [ $rc -eq 0 ] && grep -q "stopcont: ok" "$W/stopcont.out" \
    && pass "stopped and continued under the image's filter (manifest without restart_syscall): exit 0" \
    || { fail "stopcont image: boot exit $rc"; tail -8 "$W/stopcont.out"; }
fi

# --- sqlite3: a SQL script added to the image; the rows on the console.
"$BESPOKE" analyze /usr/bin/sqlite3 -o "$W/sqlite3.yaml" -q || fail "analyze sqlite3"
cat > "$W/q.sql" <<'SQL'
CREATE TABLE kernels(name TEXT, kib INTEGER);
INSERT INTO kernels VALUES ('generic', 7936), ('bespoke', 1100), ('tiny', 512);
SELECT name || '=' || kib FROM kernels WHERE kib > 600 ORDER BY kib;
SELECT 'total=' || sum(kib) FROM kernels;
SQL
"$BESPOKE" rewrite "$W/sqlite3.yaml" --binary /usr/bin/sqlite3 --add "$W/q.sql:/data/q.sql" -o "$W/sqlite3-img" \
  --cache-dir "$CACHE" "${KS[@]}" -- -batch -bail :memory: ".read /data/q.sql" || fail "rewrite sqlite3"
"$BESPOKE" boot "$W/sqlite3-img" --timeout 400 --probe-syscalls > "$W/sqlite3.out" 2> "$W/sqlite3.err"
rc=$?
# The probe: the kernel built for sqlite3 implements what its manifest needs and less than Debian's 345.
python3 - "$W/sqlite3-img/boot.json" "$W/sqlite3.yaml" <<'PY' && pass "sqlite3 kernel: syscall probe" || fail "sqlite3 syscall probe"
import json, re, sys
p = json.load(open(sys.argv[1]))["syscall_probe"]
names = set(p["implemented_names"])
wanted = set(re.findall(r"^  - name: (\S+)\n    nr:", open(sys.argv[2]).read(), re.M))
missing = sorted(w for w in wanted if w not in names)
print("sqlite3 kernel implements %d of %d syscall numbers probed; manifest syscalls not implemented: %s"
      % (p["implemented"], p["probed"], missing or "none"))
assert 150 < p["implemented"] < 345
assert not missing, "the kernel built for the manifest lacks some of its syscalls"
PY
rows=$(grep -E '^(bespoke|generic|tiny)=|^total=' "$W/sqlite3.out" | tr -d '\r' | tr '\n' ' ')
[ $rc -eq 0 ] && [ "$rows" = "bespoke=1100 generic=7936 total=9548 " ] && pass "sqlite3 in the image printed: $rows" \
  || { fail "sqlite3: exit $rc, rows '$rows'"; tail -20 "$W/sqlite3.out"; }

# --- bad input: a library the loader cannot find, --add of a missing file or to a relative path.
printf 'int bespoke_missing(void) { return 0; }\n' > "$W/missing.c"
printf 'int bespoke_missing(void);\nint main(void) { return bespoke_missing(); }\n' > "$W/usemissing.c"
if cc -shared -fPIC -o "$W/libbespokemissing.so" "$W/missing.c" &&
   cc -o "$W/usemissing" "$W/usemissing.c" -L"$W" -lbespokemissing; then
  rm -f "$W/libbespokemissing.so"
  expect_error "missing library" "shared library libbespokemissing.so not found" \
    "$BESPOKE" rewrite "$W/sqlite3.yaml" --binary "$W/usemissing" -o "$W/bad-img" --cache-dir "$CACHE"
  expect_error "--add missing file" "no-such.sql: no such file (--add)" \
    "$BESPOKE" rewrite "$W/sqlite3.yaml" --binary /usr/bin/sqlite3 --add "$W/no-such.sql" -o "$W/bad-img" --cache-dir "$CACHE"
  expect_error "--add relative guest path" "is not an absolute file path" \
    "$BESPOKE" rewrite "$W/sqlite3.yaml" --binary /usr/bin/sqlite3 --add "$W/q.sql:data/q.sql" -o "$W/bad-img" --cache-dir "$CACHE"
  expect_error "--add over a library" "already in the image" \
    "$BESPOKE" rewrite "$W/sqlite3.yaml" --binary /usr/bin/sqlite3 --add "$W/q.sql:/lib/x86_64-linux-gnu/libc.so.6" -o "$W/bad-img" --cache-dir "$CACHE"
  expect_error "--add under a mount" "hidden by bespoke-init's mount on /tmp" \
    "$BESPOKE" rewrite "$W/sqlite3.yaml" --binary /usr/bin/sqlite3 --add "$W/q.sql:/tmp/q.sql" -o "$W/bad-img" --cache-dir "$CACHE"
  expect_error "--add over a directory" "collides with /app/sqlite3" \
    "$BESPOKE" rewrite "$W/sqlite3.yaml" --binary /usr/bin/sqlite3 --add "$W/q.sql:/app" -o "$W/bad-img" --cache-dir "$CACHE"
  [ -e "$W/bad-img" ] && fail "a failed rewrite left $W/bad-img"
else
  fail "cc could not build the missing-library program"
fi

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all dynamic image tests passed"
