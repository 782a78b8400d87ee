#!/usr/bin/env bash
# images_dynamic_test.sh BESPOKE WORKDIR [STOPCONT]
# Debian's own dynamic (glibc) programs as unikernels: redis-server with its 18-module closure under its
# proven seccomp filter answers redis-cli on the host (PING, SET, GET) through a forwarded port; the
# same image with `bind` taken out of the manifest is killed by its filter (SIGSYS) when redis binds;
# STOPCONT (tests/cli/stopcont) stops and continues its sleeping worker under that kernel and a filter
# from redis' manifest without restart_syscall, and finishes normally; sqlite3 runs a SQL script put in the image with --add and prints the right rows;
# memcached -u root (generated /etc/passwd) answers set/get, and nginx with its --dlopen modules and the stock
# nginx.conf serves a static file and its modules' responses. Their roots are read-only EROFS images on
# virtio-blk (the default for dynamic apps), on the default machine, microvm (virtio-mmio: the disk and the
# NIC; images_test.sh covers pc); redis serves in 24 MiB of guest memory, memcached and nginx in 32. python3
# runs a program with the standard-library modules an observed run read, and prints what it prints here.
# Three cold kernel builds (redis + SECCOMP, sqlite3, memcached + nginx + python3 sharing one) into
# WORKDIR/cache under the build tree the first time.
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
# A dynamic app's root is, by default, a read-only EROFS image on virtio-blk: its closure stays on the
# disk and only the pages redis touches come into RAM, so it boots and serves in 24 MiB (40 MiB with an
# initramfs, where the whole closure is unpacked into RAM).
[ "$(json "$I" 'd["root"]["kind"]')" = erofs ] && [ -s "$W/redis-img/root.erofs" ] && [ ! -e "$W/redis-img/initramfs.cpio.gz" ] \
  && pass "root: erofs on virtio-blk, $(json "$I" 'd["root"]["bytes"]') bytes ($(json "$I" 'd["root"]["why"]'))" \
  || fail "root: $(json "$I" 'd["root"]')"
grep -q '^CONFIG_EROFS_FS=y' "$W/redis-img/kernel.config" && grep -q '^CONFIG_VIRTIO_BLK=y' "$W/redis-img/kernel.config" \
  && grep -q '^CONFIG_OVERLAY_FS=y' "$W/redis-img/kernel.config" && ! grep -q '^CONFIG_BLK_DEV_INITRD=y' "$W/redis-img/kernel.config" \
  || fail "kernel.config: a block root needs EROFS_FS, VIRTIO_BLK, OVERLAY_FS and no BLK_DEV_INITRD"
# The default machine, microvm: the disk and the NIC on virtio-mmio, no PCI in the kernel.
[ "$(json "$I" 'd["machine"]["kind"], d["machine"]["bus"], d["machine"]["why"].startswith("default")')" \
    = "('microvm', 'virtio-mmio', True)" ] \
  && grep -q '^CONFIG_VIRTIO_MMIO=y' "$W/redis-img/kernel.config" && ! grep -q '^CONFIG_PCI=y' "$W/redis-img/kernel.config" \
  && pass "machine microvm (default): VIRTIO_MMIO, no PCI" || fail "machine: $(json "$I" 'd["machine"]')"
kb=$(json "$I" 'd["kernel"]["bzimage_bytes"]')
[ "$kb" -le 1572864 ] && pass "kernel $kb bytes (<= 1.5 MiB)" || fail "kernel $kb bytes, over 1.5 MiB"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BESPOKE" boot "$W/redis-img" --mem 24M --forward "127.0.0.1:$PORT:6379" --timeout 400 > "$W/redis.out" 2> "$W/redis.err" &
BOOT=$!
pong=""
for _ in $(seq 1 300); do
  kill -0 $BOOT 2>/dev/null || break
  pong=$(timeout 10 redis-cli -p "$PORT" PING 2>/dev/null) && [ "$pong" = PONG ] && break
  sleep 1
done
[ "$pong" = PONG ] && pass "redis-cli PING -> PONG (guest memory 24 MiB)" || fail "no PONG (got '$pong')"
r=$(timeout 20 redis-cli -p "$PORT" SET bespoke "specialized kernel" 2>&1)
[ "$r" = OK ] && pass "SET -> OK" || fail "SET -> '$r'"
r=$(timeout 20 redis-cli -p "$PORT" GET bespoke 2>&1)
[ "$r" = "specialized kernel" ] && pass "GET -> '$r'" || fail "GET -> '$r'"
timeout 20 redis-cli -p "$PORT" SHUTDOWN NOSAVE > /dev/null 2>&1
wait $BOOT
rc=$?
[ $rc -eq 0 ] && pass "redis SHUTDOWN: boot exit 0" || fail "redis boot exit $rc"
grep -q "bespoke-init: seccomp" "$W/redis.out" || fail "no seccomp marker on the console"
[ "$(json "$W/redis-img/boot.json" 'd["machine"]')" = microvm ] || fail "redis boot.json: machine is not microvm"
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

# --- memcached and nginx: what the image carries besides the closure. Both share one kernel: each image's
# manifest is its own plus the syscalls and kernel paths only the other has (kernel_union), so the second
# rewrite hits the kernel cache (checked) and CI pays one cold kernel build for the two.
kernel_union() { # kernel_union A B OUT: manifest A with B's syscalls and kernel paths added
  python3 - "$@" <<'PY'
import re, sys
entry = re.compile(r"^  - name: (\S+)\n.*?(?=^  - name: |\Z)", re.M | re.S)
def section(text, name, nxt):
    return text.index("\n%s:\n" % name) + len(name) + 3, text.index("\n%s:\n" % nxt) + 1
def syscalls(text):
    start, end = section(text, "syscalls", "kernel")
    return start, end, {m.group(1): m.group(0) for m in entry.finditer(text[start:end])}
def kernel(text):  # {"paths": [...], "features": [...]}
    start, end = section(text, "kernel", "files")
    out, key = {}, None
    for line in text[start:end].splitlines():
        if m := re.match(r"^  (\w+):(.*)$", line):
            key, out[m.group(1)] = m.group(1), [] if m.group(2).strip() in ("", "[]") else None
        elif m := re.match(r"^    - (.*)$", line):
            out[key].append(m.group(1))
    assert all(v is not None for v in out.values()), "unexpected kernel: section"
    return start, end, out
a, b = open(sys.argv[1]).read(), open(sys.argv[2]).read()
start, end, have = syscalls(a)
extra = {n: e for n, e in syscalls(b)[2].items() if n not in have}
entries = {**have, **extra}
a = a[:start] + "".join(entries[n] for n in sorted(entries)) + a[end:]
start, end, ka = kernel(a)
kb = kernel(b)[2]
text = ""
for key in ka:
    items = sorted(set(ka[key]) | set(kb.get(key, [])))
    text += "  %s:%s\n" % (key, "".join("\n    - " + i for i in items) if items else " []")
open(sys.argv[3], "w").write(a[:start] + text + a[end:])
print("%s: %d syscalls added from %s" % (sys.argv[3].split("/")[-1], len(extra), sys.argv[2].split("/")[-1]))
PY
}
shares_kernel() { # shares_kernel IMAGE_JSON LABEL: the rewrite found the memcached image's kernel in the cache
  [ "$(json "$1" 'd["kernel"]["cache_hit"]')" = True ] && pass "$2: the memcached image's kernel (cache hit)" \
    || fail "$2: no kernel cache hit"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# python3 runs a program; its standard-library modules come from an observed run (analyze --observe puts
# the files the run opened or looked up in the manifest's files:, and the image carries them).
PY=$W/python
rm -rf "$PY"; mkdir -p "$PY"
cat > "$PY/prog.py" <<'EOF'
import collections, datetime, hashlib, json, re, sys, textwrap
words = "the quick brown fox jumps over the lazy dog the end".split()
doc = {"counts": dict(sorted(collections.Counter(words).items())),
       "sha256": hashlib.sha256(" ".join(words).encode()).hexdigest(),
       "date": datetime.date(2026, 12, 6).isoformat(), "t-words": re.findall(r"\bt\w+", " ".join(words))}
print(json.dumps(doc, sort_keys=True))
print(textwrap.fill(" ".join(words), 20))
sys.exit(3)
EOF
PYTHON=$(readlink -f /usr/bin/python3)
"$BESPOKE" analyze "$PYTHON" -o "$W/python.yaml" -q --observe -- "$PY/prog.py" 2> "$W/python-analyze.err" \
  || { fail "analyze python3 --observe"; cat "$W/python-analyze.err"; }

"$BESPOKE" analyze /usr/bin/memcached -o "$W/memcached.yaml" -q || fail "analyze memcached"
"$BESPOKE" analyze /usr/sbin/nginx --dlopen /usr/lib/nginx/modules -o "$W/nginx.yaml" -q || fail "analyze nginx"
# One kernel for memcached, nginx and python3: each manifest gets the others' syscalls and kernel paths.
kernel_union "$W/memcached.yaml" "$W/nginx.yaml" "$W/mn.yaml" || fail "kernel_union memcached nginx"
kernel_union "$W/mn.yaml" "$W/python.yaml" "$W/mnp.yaml" || fail "kernel_union memcached nginx python"
kernel_union "$W/memcached.yaml" "$W/mnp.yaml" "$W/memcached-k.yaml" || fail "kernel_union memcached"
kernel_union "$W/nginx.yaml" "$W/mnp.yaml" "$W/nginx-k.yaml" || fail "kernel_union nginx"
kernel_union "$W/python.yaml" "$W/mnp.yaml" "$W/python-k.yaml" || fail "kernel_union python"

# memcached -u root exits 67 ("can't find the user root to switch to") in an image without /etc/passwd.
start=$(date +%s.%N)
"$BESPOKE" rewrite "$W/memcached-k.yaml" --binary /usr/bin/memcached -o "$W/memcached-img" --cache-dir "$CACHE" \
  "${KS[@]}" -- -u root -A -p 11211 -U 0 || fail "rewrite memcached"
echo "rewrite memcached in $(echo "$(date +%s.%N) - $start" | bc) s"
I=$W/memcached-img/image.json
python3 - "$I" /etc/passwd /etc/group <<'PY' && pass "memcached image: generated accounts (root only), NSS module and nsswitch.conf, hosts, no zone data" || fail "memcached image.json"
import json, sys
d = json.load(open(sys.argv[1]))
files = {f["path"]: f for f in d["files"]}
assert d["bespoke_image"] == 2
assert d["accounts"]["users"] == {"root": "always"}, d["accounts"]
assert files["/etc/passwd"]["from"] is None and files["/etc/passwd"]["bytes"] == len("root:x:0:0:root:/root:/bin/sh\n")
assert files["/etc/passwd"]["bytes"] != len(open(sys.argv[2]).read()) and files["/etc/group"]["bytes"] != len(open(sys.argv[3]).read())
assert files["/etc/nsswitch.conf"]["from"] == "/etc/nsswitch.conf"
assert files["/etc/hosts"]["from"] == "/etc/hosts"
nss = files["/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2"]
assert nss["why"][0].startswith("manifest module libnss_systemd.so.2 (nss by libc.so.6"), nss
assert "/usr/lib/x86_64-linux-gnu/libcap.so.2" in files  # libnss_systemd's closure
assert "/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so" in files  # an OpenSSL module at its own path
assert files["/lib"]["link"] == "usr/lib" and files["/lib64"]["link"] == "usr/lib64"
assert not any(p.startswith(("/etc/localtime", "/usr/share/zoneinfo")) for p in files), "zone data nobody reads"
assert d["warnings"] == [], d["warnings"]
PY
PORT=$(free_port)
"$BESPOKE" boot "$W/memcached-img" --mem 32M --forward "127.0.0.1:$PORT:11211" --timeout 400 > "$W/memcached.out" 2> "$W/memcached.err" &
BOOT=$!
r=$(python3 - "$PORT" $BOOT <<'PY'
import os, socket, sys, time
port, boot = int(sys.argv[1]), int(sys.argv[2])
def call(s, req, end):
    s.sendall(req)
    out = b""
    while not out.endswith(end):
        chunk = s.recv(4096)
        if not chunk: break
        out += chunk
    return out
for _ in range(300):  # the relay accepts before memcached listens: retry until a set is stored
    try:
        os.kill(boot, 0)
    except OSError:
        break
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            if call(s, b"set bespoke 0 0 7\r\ncarried\r\n", b"\r\n") == b"STORED\r\n":
                got = call(s, b"get bespoke\r\n", b"END\r\n")
                s.sendall(b"shutdown\r\n")
                print(got.decode().replace("\r\n", "|"))
                break
    except OSError:
        pass
    time.sleep(1)
PY
)
[ "$r" = "VALUE bespoke 0 7|carried|END|" ] && pass "memcached -u root in the image: set/get -> '$r'" || fail "memcached set/get: '$r'"
wait $BOOT
rc=$?
[ $rc -eq 0 ] && pass "memcached shutdown: boot exit 0" || { fail "memcached boot exit $rc"; tail -15 "$W/memcached.out"; cat "$W/memcached.err"; }

# nginx with its modules: the stock /etc/nginx/nginx.conf (named by -c, so carried; its `user www-data;`
# puts www-data in the image's /etc/passwd) includes modules-enabled/*.conf, whose load_module lines load
# modules the manifest lists from --dlopen. -p: the stock prefix reaches the modules through the link
# /usr/share/nginx/modules, which nothing in the manifest names. The site, the page and the directories
# nginx writes to (logs, pid, temp) come with --add. Modules that need files of their own at start-up (lua's
# resty.core, perl's nginx.pm, modsecurity's rules) are left out of modules-enabled. The master runs as
# configured and serves through a worker (user www-data): its channel to the worker is a
# socketpair(AF_UNIX), built because the manifest does not pin socket families. It serves in 32 MiB of guest
# memory once nchan's shared zone is sized for it: nchan reserves 128 MiB by default, an mmap the guest
# kernel's heuristic overcommit refuses when the machine has less memory than that.
NG=$W/nginx-files
rm -rf "$NG"; mkdir -p "$NG"
cat > "$NG/site.conf" <<'EOF'
nchan_shared_memory_size 8m;
server {
	listen 80 default_server;
	root /var/www/bespoke;
	more_set_headers "X-Bespoke: headers-more";
	location = /echo { echo "echo module: $request_method $uri"; }
}
EOF
echo "served from a bespoke image" > "$NG/index.html"
: > "$NG/empty"
NGINX_ADDS=(--add "$NG/site.conf:/etc/nginx/sites-enabled/bespoke" --add "$NG/index.html:/var/www/bespoke/index.html"
            --add /etc/nginx/mime.types:/etc/nginx/mime.types --add "$NG/empty:/var/log/nginx/error.log"
            --add "$NG/empty:/var/log/nginx/access.log" --add "$NG/empty:/var/lib/nginx/.keep" --add "$NG/empty:/run/nginx.pid")
for conf in /etc/nginx/modules-enabled/*.conf; do
  case $conf in *-lua.conf|*-perl.conf|*-modsecurity.conf) continue ;; esac
  NGINX_ADDS+=(--add "$conf:$conf")
done
"$BESPOKE" rewrite "$W/nginx-k.yaml" --binary /usr/sbin/nginx -o "$W/nginx-img" --cache-dir "$CACHE" "${KS[@]}" \
  "${NGINX_ADDS[@]}" -- -p /usr/lib/nginx/ -c /etc/nginx/nginx.conf -g "daemon off; error_log stderr notice;" \
  || fail "rewrite nginx"
I=$W/nginx-img/image.json
shares_kernel "$I" "nginx image"
python3 - "$I" <<'PY' && pass "nginx image: modules, executed programs, nginx.conf from -c, www-data from its user line" || fail "nginx image.json"
import json, sys
d = json.load(open(sys.argv[1]))
files = {f["path"]: f for f in d["files"]}
assert d["accounts"]["users"]["www-data"].startswith("/etc/nginx/nginx.conf:"), d["accounts"]
assert "www-data" in d["accounts"]["groups"]
assert files["/etc/nginx/nginx.conf"]["why"] == ["argument 4"], files["/etc/nginx/nginx.conf"]
mod = files["/usr/lib/nginx/modules/ngx_http_echo_module.so"]
assert mod["why"][0].startswith("manifest module ngx_http_echo_module.so (flag"), mod
assert "/usr/lib/x86_64-linux-gnu/libbrotlienc.so.1" in files  # a module's closure
assert files["/usr/bin/dash"]["why"][0].startswith("manifest module sh (exec by nginx"), files["/usr/bin/dash"]
assert files["/usr/bin/sh"]["link"] == "dash" and files["/bin"]["link"] == "usr/bin"
assert "/usr/bin/gzip" in files and "/usr/sbin/unix_chkpwd" in files
assert any(p.startswith("/usr/lib/x86_64-linux-gnu/gconv/") for p in files)
assert files["/etc/pam.d/common-auth"]["from"] == "/etc/pam.d/common-auth"  # named PAM modules
PY
PORT=$(free_port)
"$BESPOKE" boot "$W/nginx-img" --mem 32M --forward "127.0.0.1:$PORT:80" --timeout 600 > "$W/nginx.out" 2> "$W/nginx.err" &
BOOT=$!
page=""
for _ in $(seq 1 300); do
  kill -0 $BOOT 2>/dev/null || break
  page=$(curl -sf --max-time 10 "http://127.0.0.1:$PORT/" 2>/dev/null) && [ -n "$page" ] && break
  sleep 1
done
[ "$page" = "served from a bespoke image" ] && pass "nginx served the static file: '$page'" || fail "nginx static file: '$page'"
r=$(curl -s --max-time 20 -D "$W/nginx.headers" "http://127.0.0.1:$PORT/echo" 2>&1)
[ "$r" = "echo module: GET /echo" ] && grep -qi '^X-Bespoke: headers-more' "$W/nginx.headers" \
  && pass "nginx modules at work in the image: echo -> '$r', headers-more's header" || fail "nginx modules: '$r'"
grep -q "\[emerg\]" "$W/nginx.out" && fail "nginx logged emerg: $(grep -m3 '\[emerg\]' "$W/nginx.out")"
grep -q "socketpair() failed" "$W/nginx.out" && fail "nginx's master could not make its worker channel: $(grep -m1 'socketpair() failed' "$W/nginx.out")"
# nginx does not exit by itself: stop QEMU (the boot's child, by its pid) and collect the boot, which ends as a
# server stopped from outside does: 128+15, with its times in boot.json.
QEMU=$(pgrep -P $BOOT)
[ -n "$QEMU" ] && kill $QEMU
wait $BOOT
rc=$?
[ $rc -eq 143 ] && [ "$(json "$W/nginx-img/boot.json" 'd["stopped_by_signal"], d["host_init_ms"] > 0')" = "(15, True)" ] \
  && pass "nginx stopped from outside: boot exit 143, boot.json with its init time and stopped_by_signal 15" \
  || fail "nginx stop: boot exit $rc; $(cat "$W/nginx.err" | tail -2)"
# getrandom in its manifest: the image has QEMU's virtio-rng, and the kernel's random pool was ready when nginx
# started (without it OpenSSL waited for it; images/entropy.config).
[ "$(json "$I" 'd["entropy"]["device"]')" = virtio-rng ] && [ "$(json "$W/nginx-img/boot.json" 'd["random_ready_at_exec"]')" = True ] \
  && pass "nginx image: virtio-rng, random pool ready at exec" \
  || fail "nginx image: entropy $(json "$I" 'd["entropy"]'), random_ready_at_exec $(json "$W/nginx-img/boot.json" 'd.get("random_ready_at_exec")')"
echo "--- nginx console (tail)"; tail -8 "$W/nginx.out"

# --- python3: the program's output and exit status in the image are the host's.
"$BESPOKE" rewrite "$W/python-k.yaml" --binary "$PYTHON" -o "$W/python-img" --cache-dir "$CACHE" "${KS[@]}" \
  -- "$PY/prog.py" || fail "rewrite python3"
I=$W/python-img/image.json
shares_kernel "$I" "python3 image"
python3 - "$I" <<'PY' && pass "python3 image: the standard-library modules the observed run read, not the rest" || fail "python3 image.json"
import json, sys
d = json.load(open(sys.argv[1]))
files = {f["path"]: f for f in d["files"]}
py = [p for p in files if p.startswith("/usr/lib/python3.")]
assert any(p.endswith("/json/__init__.py") for p in py) and any(p.endswith("/textwrap.py") for p in py), py
assert any("/lib-dynload/_json." in p for p in py), "a C extension module (observed mapped)"
assert not any(p.endswith("/unittest/__init__.py") or p.endswith("/asyncio/__init__.py") for p in py), "modules nobody imported"
assert files["/etc/passwd"]["from"] is None, "the generated accounts, not the host's"
assert "/etc/shadow" not in files and "/etc/ld.so.cache" not in files
assert any(f["why"][0].startswith("observed: ") for f in files.values())
print("python3 image: %d files under /usr/lib/python3.*, root %s %d bytes" % (len(py), d["root"]["kind"], d["root"]["bytes"]))
PY
expected=$(python3 "$PY/prog.py"; echo "exit=$?")
"$BESPOKE" boot "$W/python-img" --mem 64M --timeout 400 > "$W/python.out" 2> "$W/python.err"
rc=$?
# The app's lines: between init's exec and exit markers.
got=$(tr -d '\r' < "$W/python.out" | sed -n '/^bespoke-init: exec /,/^bespoke-init: exit /p' | grep -v '^bespoke-init: '; echo "exit=$rc")
[ "$got" = "$expected" ] && pass "python3 in the image: the host's output and exit status 3" \
  || { fail "python3 in the image: got '$got', expected '$expected'"; tail -20 "$W/python.out"; cat "$W/python.err"; }

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
  # A module or an executed program the manifest lists but this machine lacks: one line naming the manifest
  # and the file, before any kernel work (an empty cache stays without kernels); --add over a carried file.
  sed 's|path: /lib/x86_64-linux-gnu/libnss_systemd.so.2|path: /lib/x86_64-linux-gnu/libnss_bespokegone.so.2|' \
    "$W/memcached-k.yaml" > "$W/gone-module.yaml"
  expect_error "module missing here" \
    "gone-module.yaml: module libnss_systemd.so.2 (/lib/x86_64-linux-gnu/libnss_bespokegone.so.2) no longer exists on this machine" \
    "$BESPOKE" rewrite "$W/gone-module.yaml" --binary /usr/bin/memcached -o "$W/bad-img" --cache-dir "$W/bad-cache" "${KS[@]}"
  sed 's|path: /bin/gzip|path: /bin/bespokegone-gzip|' "$W/nginx-k.yaml" > "$W/gone-program.yaml"
  expect_error "executed program missing here" \
    "gone-program.yaml: module gzip (/bin/bespokegone-gzip) no longer exists on this machine" \
    "$BESPOKE" rewrite "$W/gone-program.yaml" --binary /usr/sbin/nginx -o "$W/bad-img" --cache-dir "$W/bad-cache" "${KS[@]}"
  expect_error "--add over an executed program" "guest path /bin/sh is already in the image (manifest module sh (exec by nginx" \
    "$BESPOKE" rewrite "$W/nginx-k.yaml" --binary /usr/sbin/nginx --add "$W/q.sql:/bin/sh" -o "$W/bad-img" --cache-dir "$W/bad-cache" "${KS[@]}"
  # Block roots: the tool missing, an image over --max-root-size, an unknown --root; all before the kernel build.
  NOEROFS=$W/no-erofs-bin
  mkdir -p "$NOEROFS"
  for t in "$(dirname "$BESPOKE")"/bespoke; do ln -sf "$t" "$NOEROFS/"; done
  expect_error "mkfs.erofs missing" "mkfs.erofs: not found in PATH (--root erofs needs it: install the Debian package erofs-utils" \
    env PATH="$NOEROFS" "$BESPOKE" rewrite "$W/redis.yaml" --binary /usr/bin/redis-server -o "$W/bad-img" --cache-dir "$W/bad-cache" "${KS[@]}"
  expect_error "root over --max-root-size" "redis.yaml: the image's files hold .* MiB, over the limit of 1.0 MiB for its erofs root (--max-root-size)" \
    "$BESPOKE" rewrite "$W/redis.yaml" --binary /usr/bin/redis-server --max-root-size 1M -o "$W/bad-img" --cache-dir "$W/bad-cache" "${KS[@]}"
  # Usage errors: exit 2, the problem on the first line (a pointer to --help follows).
  for bad in "--root ext4|--root needs one of initramfs, erofs, not 'ext4'" \
             "--max-root-size 12T|--max-root-size needs a size like 512M or 4G, not '12T'"; do
    "$BESPOKE" rewrite "$W/redis.yaml" --binary /usr/bin/redis-server ${bad%%|*} -o "$W/bad-img" --cache-dir "$W/bad-cache" \
      > /dev/null 2> "$W/err.txt"
    rc=$?
    [ $rc -eq 2 ] && head -1 "$W/err.txt" | grep -qF -- "${bad#*|}" && pass "${bad%%|*}: exit 2, $(head -1 "$W/err.txt")" \
      || fail "${bad%%|*}: exit $rc: $(cat "$W/err.txt")"
  done
  [ -d "$W/bad-cache/kernels" ] && fail "a manifest that names a missing file reached the kernel build"
  [ -e "$W/bad-img" ] && fail "a failed rewrite left $W/bad-img"
else
  fail "cc could not build the missing-library program"
fi

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all dynamic image tests passed"
