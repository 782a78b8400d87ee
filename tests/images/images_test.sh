#!/usr/bin/env bash
# images_test.sh BESPOKE MUSL_ECHO MUSL_GCC WORKDIR
# The rewrite -> boot loop on the bundled musl echo server: analyze, rewrite (a cold kernel build the first
# time, into WORKDIR/cache under the build tree; a cache hit afterwards), boot with a forwarded port and
# check the echo from the host (and probe the kernel's syscalls); an app exiting 3 makes boot exit 3; bad
# input exits 2 with one line. These images are made for --machine pc (virtio-net-pci); the dynamic images
# (images_dynamic_test.sh) boot on the default, microvm. The exit-3 kernel also boots on microvm here, as an
# image without a NIC (the same kernel, so no second cold build).
set -u
BESPOKE=$1 ECHO=$2 MUSL_GCC=$3 W=$4
CACHE=$W/cache
mkdir -p "$W"
. "$(dirname "$0")/lib.sh"

"$BESPOKE" analyze "$ECHO" -o "$W/echo.yaml" -q || { echo "FAIL: analyze"; exit 1; }

# --- rewrite: cold (or warm when the cache survived), then warm.
start=$(date +%s.%N)
if "$BESPOKE" rewrite "$W/echo.yaml" --binary "$ECHO" -o "$W/echo-img" --machine pc --cache-dir "$CACHE" "${KS[@]}" -- 7 1; then
  pass "rewrite in $(echo "$(date +%s.%N) - $start" | bc) s"
else
  echo "FAIL: rewrite"; exit 1
fi
for f in bzImage initramfs.cpio.gz kernel.config image.json; do
  [ -s "$W/echo-img/$f" ] || fail "rewrite: $f missing"
done
grep -q '^CONFIG_VIRTIO_NET=y' "$W/echo-img/kernel.config" || fail "kernel.config lacks VIRTIO_NET"
# --machine pc with a NIC: the PCI transport, not virtio-mmio; image.json says so.
grep -q '^CONFIG_VIRTIO_PCI=y' "$W/echo-img/kernel.config" && ! grep -q '^CONFIG_VIRTIO_MMIO=y' "$W/echo-img/kernel.config" \
  && python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["machine"]; assert m == {"kind": "pc", "bus": "pci", "why": "--machine pc"}, m' \
       "$W/echo-img/image.json" && pass "machine pc: VIRTIO_PCI, no VIRTIO_MMIO" || fail "machine pc"
# Minimality: the options Z3 finds removable that make the config smaller are off, and the proof holds.
python3 - "$W/echo-img/image.json" "$W/echo-img/kernel.config" <<'PY' && pass "minimality applied, proof holds" || fail "minimality"
import json, sys
d = json.load(open(sys.argv[1])); config = open(sys.argv[2]).read()
p = d["config_proof"]
assert p["holds"] is True, p
assert p["minimality_applied"], "no minimality step applied"
print("minimality:", "; ".join(p["minimality_applied"]))
for o in d["required_options"]:
    if o["value"] == "n":
        assert "# CONFIG_%s is not set" % o["option"] in config, o["option"] + " is still set"
        assert any(r.startswith("minimality:") for r in o["reasons"]), o
assert "CONFIG_CPU_SUP_INTEL=y" in config and "CONFIG_CPU_SUP_AMD=y" in config
PY
start=$(date +%s.%N)
"$BESPOKE" rewrite "$W/echo.yaml" --binary "$ECHO" -o "$W/echo-img" --machine pc --cache-dir "$CACHE" "${KS[@]}" -q -- 7 1 \
  || fail "warm rewrite"
warm=$(echo "$(date +%s.%N) - $start" | bc)
grep -q '"cache_hit": true' "$W/echo-img/image.json" && pass "warm rewrite: cache hit in $warm s" \
  || fail "warm rewrite: no cache hit"

# --- boot: a host client through the forwarded port gets its line echoed; the server exits 0 after it.
# The same boot probes the kernel's syscalls first (the client retries while the probe runs).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BESPOKE" boot "$W/echo-img" --forward "127.0.0.1:$PORT:7" --timeout 300 --probe-syscalls > "$W/boot.out" 2> "$W/boot.err" &
BOOT=$!
python3 - "$PORT" "$BOOT" <<'PY'
import os, socket, sys, time
port, boot = int(sys.argv[1]), int(sys.argv[2])
msg = b"hello from the host, bespoke\n"
deadline = time.time() + 240
while time.time() < deadline:
    try:
        os.kill(boot, 0)
    except OSError:
        sys.exit("boot ended before the echo")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.settimeout(40)
            s.sendall(msg)
            got = b""
            while not got.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if got == msg:
                print("echo: " + got.decode().strip())
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("no echo within 240 s")
PY
client=$?
wait $BOOT
rc=$?
[ $client -eq 0 ] && pass "host client got its echo through --forward" || fail "host client (exit $client)"
[ $rc -eq 0 ] && pass "boot exit 0" || fail "boot exit $rc"
grep -q "bespoke-init: exit 0" "$W/boot.out" || fail "no exit marker on the console"
[ -s "$W/echo-img/boot.json" ] || fail "no boot.json"
echo "--- console"; cat "$W/boot.out"; echo "--- boot stderr"; cat "$W/boot.err"

# --- the syscall probe of that boot: the trimmed kernel has the basics, fewer syscalls than Debian's
# generic 6.1 (345), and lacks what its config leaves out (io_uring, checked against kernel.config first).
if python3 - "$W/echo-img/boot.json" "$W/echo-img/kernel.config" <<'PY'
import json, sys
probe = json.load(open(sys.argv[1])).get("syscall_probe")
if probe is None:
    sys.exit("boot.json has no syscall_probe")
n, names, enosys = probe["implemented"], set(probe["implemented_names"]), set(probe["enosys"])
problems = []
if probe["probed"] != 512 or n + len(enosys) != 512 or len(names) != n:
    problems.append(f"counts do not add up: {n} implemented, {len(enosys)} ENOSYS, {len(names)} names")
if not 150 < n < 345:
    problems.append(f"{n} implemented, expected 150 < N < 345")
problems += [f"{s} not implemented" for s in ("read", "write", "socket") if s not in names]
if "# CONFIG_IO_URING is not set\n" not in open(sys.argv[2]).read():
    problems.append("kernel.config has IO_URING: the ENOSYS check needs a syscall the config leaves out")
elif 425 not in enosys or "io_uring_setup" in names:
    problems.append("io_uring_setup (425) implemented although IO_URING is not set")
if problems:
    sys.exit("; ".join(problems))
print(f"{n} implemented of 512 in {probe['probe_ms']} ms; io_uring_setup ENOSYS")
PY
then pass "syscall probe"; else fail "syscall probe"; fi
grep -q "syscalls implemented of 512 probed" "$W/boot.err" || fail "boot summary does not mention the probe"

# --- a program that exits 3 (the echo server's manifest: the same kernel, no second cold build).
printf 'int main(void) { return 3; }\n' > "$W/exit3.c"
"$MUSL_GCC" -static -O2 -o "$W/exit3" "$W/exit3.c" || fail "musl-gcc exit3"
"$BESPOKE" rewrite "$W/echo.yaml" --binary "$W/exit3" -o "$W/exit3-img" --machine pc --cache-dir "$CACHE" "${KS[@]}" -q \
  || fail "rewrite exit3"
"$BESPOKE" boot "$W/exit3-img" --timeout 300 > "$W/exit3.out" 2> "$W/exit3.err"
rc=$?
[ $rc -eq 3 ] && pass "boot of a program exiting 3 exits 3" || { fail "exit3: boot exit $rc"; cat "$W/exit3.out" "$W/exit3.err"; }
grep -q '"machine": "pc"' "$W/exit3-img/boot.json" || fail "exit3: boot.json does not say machine pc"

# --- init's own directives on this kernel, which has neither SECCOMP nor MODULES: a filter file of the
# wrong size fails while init.conf is read (before exec); a good one reaches the app's child, where
# seccomp() fails; insmod fails. Each is exit 125 with an error line. The image gets a second archive
# appended to its initramfs (the kernel unpacks both; the later init.conf wins).
with_directive() { # NAME DIRECTIVE: $W/NAME-img = exit3-img with DIRECTIVE before the arg lines
  local d=$W/$1-img x=$W/$1-extra
  rm -rf "$d" "$x" && cp -r "$W/exit3-img" "$d" && mkdir -p "$x/bespoke" || return 1
  python3 -c 'import struct, sys; open(sys.argv[1], "wb").write(struct.pack("<HBBI", 6, 0, 0, 0x7fff0000))' \
    "$x/bespoke/allow.bpf"
  printf 12345 > "$x/bespoke/bad.bpf"
  zcat "$d/initramfs.cpio.gz" | (cd "$x" && cpio -i --quiet --to-stdout bespoke/init.conf) > "$x/orig.conf"
  { grep -v '^arg ' "$x/orig.conf"; echo "$2"; grep '^arg ' "$x/orig.conf"; } > "$x/bespoke/init.conf"
  (cd "$x" && printf 'bespoke\nbespoke/init.conf\nbespoke/allow.bpf\nbespoke/bad.bpf\n' | cpio -o -H newc --quiet | gzip) \
    >> "$d/initramfs.cpio.gz"
}
expect_init_error() { # NAME DIRECTIVE PATTERN
  with_directive "$1" "$2" || { fail "$1: cannot make the image"; return; }
  "$BESPOKE" boot "$W/$1-img" --timeout 300 -q > "$W/$1.out" 2>&1
  local rc=$?
  if [ $rc -eq 125 ] && grep -q "bespoke-init: error: $3" "$W/$1.out"; then pass "$1: exit 125, $(grep error: "$W/$1.out")"
  else fail "$1: exit $rc"; cat "$W/$1.out"; fi
}
if ! command -v cpio > /dev/null; then echo "skip: init directive tests (no cpio)"
elif grep -q '^CONFIG_SECCOMP=y' "$W/exit3-img/kernel.config" || grep -q '^CONFIG_MODULES=y' "$W/exit3-img/kernel.config"; then
  fail "the kernel has SECCOMP or MODULES: the failure paths below need one without"
else
  expect_init_error seccomp-badsize "seccomp /bespoke/bad.bpf" \
    "seccomp /bespoke/bad.bpf: 5 bytes: not a non-zero multiple of 8"
  grep -q "bespoke-init: exec" "$W/seccomp-badsize.out" && fail "seccomp-badsize: the app ran"
  expect_init_error seccomp-nokernel "seccomp /bespoke/allow.bpf" "seccomp: Function not implemented"
  grep -q "bespoke-init: seccomp 1 instructions" "$W/seccomp-nokernel.out" || fail "seccomp-nokernel: no seccomp marker"
  expect_init_error insmod-nokernel "insmod /bespoke/allow.bpf" "insmod /bespoke/allow.bpf: Function not implemented"
fi

# --- the other machine: the exit-3 image made an image without a NIC (init.conf without its ifup lines, in
# an archive appended to the initramfs; image.json without network, on microvm) boots the same kernel on
# microvm, and the status still reaches the host (init reboots; reboot=t's triple fault ends QEMU).
if command -v cpio > /dev/null; then
  d=$W/microvm-img x=$W/microvm-extra
  rm -rf "$d" "$x" && cp -r "$W/exit3-img" "$d" && mkdir -p "$x/bespoke" \
    && zcat "$d/initramfs.cpio.gz" | (cd "$x" && cpio -i --quiet --to-stdout bespoke/init.conf) | grep -v '^ifup ' \
       > "$x/bespoke/init.conf" \
    && (cd "$x" && printf 'bespoke\nbespoke/init.conf\n' | cpio -o -H newc --quiet | gzip) >> "$d/initramfs.cpio.gz" \
    && python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
d["network"], d["machine"] = False, {"kind": "microvm", "bus": None, "why": "images_test.sh"}
json.dump(d, open(sys.argv[1], "w"), indent=2)' "$d/image.json" || fail "cannot make the microvm image"
  "$BESPOKE" boot "$d" --timeout 300 > "$W/microvm.out" 2> "$W/microvm.err"
  rc=$?
  if [ $rc -eq 3 ] && python3 -c 'import json, sys
b = json.load(open(sys.argv[1]))
assert b["machine"] == "microvm" and b["qemu_command"][2].startswith("microvm,"), b["qemu_command"]' "$d/boot.json"; then
    pass "the same kernel on microvm: $(grep -o 'bespoke boot: exit [0-9]* ([^)]*)' "$W/microvm.err")"
  else fail "microvm: boot exit $rc"; tail -5 "$W/microvm.out" "$W/microvm.err"; fi
else
  echo "skip: the exit-3 kernel on microvm (no cpio)"
fi

# --- bad input: each one line on stderr, exit 2, nothing written.
expect_error "missing binary" "no-such-binary" \
  "$BESPOKE" rewrite "$W/echo.yaml" --binary "$W/no-such-binary" -o "$W/bad-img" --cache-dir "$CACHE"
expect_error "missing manifest" "no-such.yaml" \
  "$BESPOKE" rewrite "$W/no-such.yaml" --binary "$ECHO" -o "$W/bad-img" --cache-dir "$CACHE"
expect_error "not an ELF" "echo.yaml: not an ELF file" \
  "$BESPOKE" rewrite "$W/echo.yaml" --binary "$W/echo.yaml" -o "$W/bad-img" --cache-dir "$CACHE"
expect_error "missing kernel source" "Debian package linux-source-6.1" \
  "$BESPOKE" rewrite "$W/echo.yaml" --binary "$ECHO" -o "$W/bad-img" --cache-dir "$W/empty-cache" \
  --kernel-tarball "$W/no-such-linux-source-6.1.tar.xz"
# A syscall no Linux 6.1 x86-64 kernel implements (nfsservctl has no entry point).
python3 - "$W/echo.yaml" "$W/nfs.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
entry = "  - name: nfsservctl\n    nr: 180\n    args: {}\n    evidence:\n      - root: entry\n        chain:\n          - \"musl-echo!main@0x40134b\"\n"
i = text.index("  - name: pipe") if "  - name: pipe" in text else text.index("  - name: poll")
open(sys.argv[2], "w").write(text[:i] + entry + text[i:])
PY
expect_error "syscall no config provides" "nfsservctl" \
  "$BESPOKE" rewrite "$W/nfs.yaml" --binary "$ECHO" -o "$W/bad-img" --cache-dir "$CACHE" "${KS[@]}"
[ -e "$W/bad-img" ] && fail "a failed rewrite left $W/bad-img"
# A fake kernel tree (instant): its "Kconfig" keeps the fragment as is, or drops VIRTIO_NET like an unmet
# dependency would; the "build" fails like a compile error. The config proof runs before the build, so
# buildfail's Kconfig declares every option the real image (--machine pc) has on as a plain bool, and its hex
# options (PHYSICAL_START is required by the base) as hex.
for kind in buildfail unmet; do
  T=$W/fake-$kind
  mkdir -p "$T/arch/x86/configs" "$T/kernel/configs" && : > "$T/arch/x86/Kconfig"
  [ $kind = buildfail ] && sed -n -e 's/^CONFIG_\([A-Za-z0-9_]*\)=y$/config \1\n\tbool "\1"\n/p' \
    -e 's/^CONFIG_\([A-Za-z0-9_]*\)=0x[0-9a-fA-F]*$/config \1\n\thex "\1"\n/p' \
    "$W/echo-img/kernel.config" > "$T/Kconfig"
  touch "$T/kernel/configs/tiny-base.config" "$T/kernel/configs/tiny.config" "$T/arch/x86/configs/tiny.config"
  drop=true; [ $kind = unmet ] && drop="sed -i /CONFIG_VIRTIO_NET=/d \$(O)/.config"
  printf 'allnoconfig:\n\tmkdir -p $(O) && cp $(KCONFIG_ALLCONFIG) $(O)/.config && %s\nbzImage:\n\t@echo "  CC      init/main.o"; echo "init/main.c:1: error: simulated" >&2; exit 1\n' \
    "$drop" > "$T/Makefile"
done
expect_error "failed kernel build" "kernel build failed (make exit 2); see .*build.log" \
  "$BESPOKE" rewrite "$W/echo.yaml" --binary "$ECHO" -o "$W/bad-img" --machine pc --cache-dir "$W/fake-cache" -q \
  --kernel-source "$W/fake-buildfail"
expect_error "option dropped by Kconfig" "option VIRTIO_NET required by net: .* is not set after Kconfig" \
  "$BESPOKE" rewrite "$W/echo.yaml" --binary "$ECHO" -o "$W/bad-img" --machine pc --cache-dir "$W/fake-cache" -q \
  --kernel-source "$W/fake-unmet"
rm -rf "$W/fake-cache"
[ -e "$W/bad-img" ] && fail "a failed rewrite left $W/bad-img"
# A usage error: exit 2, the problem on the first line (a pointer to --help follows).
"$BESPOKE" rewrite "$W/echo.yaml" --binary "$ECHO" -o "$W/bad-img" --machine q35 > /dev/null 2> "$W/err.txt"
rc=$?
[ $rc -eq 2 ] && head -1 "$W/err.txt" | grep -qF -- "--machine needs one of pc, microvm, not 'q35'" \
  && pass "--machine q35: exit 2, $(head -1 "$W/err.txt")" || fail "--machine q35: exit $rc: $(cat "$W/err.txt")"
expect_error "boot: not an image" "not an image directory" "$BESPOKE" boot "$W"
NOQEMU=$(mktemp -d)
expect_error "boot: QEMU missing" "qemu-system-x86" env PATH="$NOQEMU" "$BESPOKE" boot "$W/echo-img"
rmdir "$NOQEMU"

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all image tests passed"
