#!/usr/bin/env python3
"""images-bench: bespoke's trimmed images against Debian's generic kernel booting the same root.

For each app (the bundled musl echo server; redis-server once `bespoke rewrite` accepts it) the script
makes the image with `bespoke rewrite` (timing cold and warm runs), makes its generic twin (Debian's
vmlinuz from linux-image-amd64's current package as bzImage; the same initramfs with a second gzip'd
newc archive appended that holds the virtio-net modules and an init.conf with `insmod` lines), then boots
both in the same QEMU, alternating, and measures: kernel and initramfs bytes, guest uptime at init, host
time to init, to the app's first output line, to the first served request, wall time (boot.json and our
own clock), and the smallest --mem (MiB, steps of 2) with which each kernel boots and serves (also left in the
image directory as mem_floor.json, with boot.json from a boot at that size, for `bespoke decide --image`).
A disk root (--root erofs, bespoke's default for dynamic apps) is shared by both: the twin boots the same
disk with an initramfs that loads virtio_blk, erofs and overlay (and the NIC modules) and switches to it.
Both boot on the same QEMU machine (--machine, default pc; `rewrite --machine M`): on pc the twin's virtio_pci
finds the devices on PCI; on microvm its virtio_mmio finds them in the ACPI tables, so the twin boots microvm with
acpi=on,ioapic2=off (Debian's kernel cannot read the virtio_mmio.device= the trimmed kernel is given). There, with
neither HPET nor ACPI PM timer, Debian's kernel sometimes fails to calibrate the TSC against the PIT under TCG and
hangs before init (about one boot in four here): pc is the default for that reason.

--roots erofs,squashfs,ext4 compares root file system formats instead: the app's root tree (the trimmed image's
EROFS read back) written in each format and booted by Debian's kernel, which has them all as modules, so only the
file system differs: image bytes, the bytes the format's modules occupy loaded, time to serving (alternating, each
format first in turn) and the smallest --mem.

usage: bench/images-bench.py BESPOKE [--apps echo,redis] [--runs 5] [--cache-dir DIR] [--cold] ...

--machines pc,microvm compares QEMU machine types instead: each app's image made once per machine
(`rewrite --machine M`; an image without a disk or NIC has the same kernel on both), booted alternating
(order flipped every run), boot.json's guest uptime at init, host time to init and wall time side by side.
Apps without a port (hello: a static musl program printing one line, no devices; sqlite3: one query on an
EROFS root) boot to their exit; the others serve as above.

Prints a plain-text table; --json FILE also writes every measurement. Exit 0 when all measurements were
made (whether or not the goals hold), 1 when a boot or a serve check failed, 2 on missing inputs.
Results and the command that produced them: bench/RESULTS.md.
"""
import argparse
import contextlib
import glob
import gzip
import json
import lzma
import os
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

# The generic twin's NIC: its machine's virtio transport and the net driver; Debian builds both as modules.
# pc: virtio_pci finds the devices on PCI. microvm: virtio_mmio, which finds them in the ACPI tables (Debian's
# kernel lacks VIRTIO_MMIO_CMDLINE_DEVICES, the virtio_mmio.device= bespoke's own kernels read), so the twin boots
# on microvm with acpi=on,ioapic2=off (generic_qemu); the trimmed kernel has no ACPI and boots with acpi=off.
TRANSPORT_MODULES = {"pc": "virtio_pci", "microvm": "virtio_mmio"}
NIC_MODULES = ["virtio_net"]
# A disk root (rewrite --root erofs): the virtio-blk driver, the file system and the overlay bespoke-init lays
# over it, all modules in Debian's kernel; its twin's initramfs loads them and switches to the disk.
# erofs needs libcrc32c, which finds the crc32c algorithm at load time (a soft dependency modinfo does not
# list as `depends`): crc32c_generic first. ext4 likewise (crc32c for its metadata checksums).
BLOCK_MODULES = ["virtio_blk", "overlay"]
FS_MODULES = {"erofs": ["crc32c_generic", "erofs"], "squashfs": ["squashfs"], "ext4": ["crc32c_generic", "ext4"]}
DISK_MODULES = BLOCK_MODULES + FS_MODULES["erofs"]
# An image with an entropy source (image.json's entropy: QEMU's virtio-rng): its driver, loaded by the twin too.
ENTROPY_MODULES = ["virtio_rng"]
NIC_CONFIG = ["VIRTIO", "VIRTIO_PCI_LIB", "VIRTIO_PCI_LIB_LEGACY", "VIRTIO_PCI", "VIRTIO_NET", "NET_FAILOVER",
              "FAILOVER", "PCI", "VIRTIO_MMIO", "VIRTIO_MMIO_CMDLINE_DEVICES", "ACPI", "SERIAL_8250_CONSOLE", "BLK_DEV_INITRD", "RD_GZIP", "DEVTMPFS", "VIRTIO_BLK",
              "EROFS_FS", "OVERLAY_FS"]
GOAL_KERNEL_BYTES = 1_500_000  # "redis kernel <= 1.5 MB" (decimal MB; 1.43 MiB)
GOAL_BOOT_RATIO = 0.4  # issue 15: time from boot to serving <= 0.4x the generic kernel on the same root
GOAL_MEM_MIB = {"redis": 24, "memcached": 32, "nginx": 32}
GOAL_WARM_REWRITE_S = 5.0


def die(msg):
    print("images-bench: " + msg, file=sys.stderr)
    sys.exit(2)


def note(msg):
    print("images-bench: " + msg, file=sys.stderr, flush=True)


def cache_root():
    if os.environ.get("BESPOKE_CACHE_DIR"):
        return os.environ["BESPOKE_CACHE_DIR"]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bespoke")


# --- newc cpio (the format bespoke's Initramfs writes and the kernel unpacks) -------------------------

def newc_entries(data):
    """(name, mode, body) of every entry of one uncompressed newc archive, up to its trailer."""
    pos, out = 0, []
    while True:
        if data[pos:pos + 6] != b"070701":
            raise ValueError("not a newc cpio archive at offset %d" % pos)
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos:pos + size]
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, mode, body))


def newc_archive(entries):
    """One newc archive of (name, mode, body[, (rdev major, minor)]); inode numbers start high so nothing looks
    like a hard link."""
    out = bytearray()
    for i, entry in enumerate(entries + [("TRAILER!!!", 0, b"")]):
        name, mode, body = entry[:3]
        rmajor, rminor = entry[3] if len(entry) > 3 else (0, 0)
        nb = name.encode() + b"\0"
        nlink = 2 if mode & 0o170000 == 0o040000 else 1
        fields = [0 if name == "TRAILER!!!" else 0x7b000 + i, mode, 0, 0, nlink, 0, len(body), 0, 0, rmajor, rminor,
                  len(nb), 0]
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + nb
        out += b"\0" * (-len(out) % 4)
        out += body
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


# --- Debian's generic kernel ---------------------------------------------------------------------------

def elf_modinfo(data):
    """The key=value strings of a kernel module's .modinfo section (ELF64 little-endian)."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("not an ELF64 file")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def section(i):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, off, size
    strtab = section(shstrndx)[1]
    for i in range(shnum):
        name, off, size = section(i)
        if data[strtab + name:data.index(b"\0", strtab + name)] == b".modinfo":
            info = {}
            for kv in data[off:off + size].split(b"\0"):
                k, sep, v = kv.decode(errors="replace").partition("=")
                if sep:
                    info.setdefault(k, v)
            return info
    return {}


def elf_alloc_bytes(data):
    """Bytes of a module's SHF_ALLOC sections (code and data once loaded): what it would add built in, roughly."""
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    total = 0
    for i in range(shnum):
        _, typ, flags, _, _, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        if flags & 0x2 and typ != 8:  # SHF_ALLOC, not SHT_NOBITS (.bss takes no bytes in a bzImage)
            total += size
    return total


def read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.endswith(".ko"):
        return data
    raise ValueError("%s: compressed in a format this script does not read (only .ko and .ko.xz)" % path)


def resolve_debian_package(spec):
    """(NAME, VERSION, None): as given, or linux-image-amd64's dependency and its candidate version (as
    scripts/gen-kconfig-map does); (None, None, REASON) when apt cannot say."""
    name, _, version = (spec or "").partition("=")
    if not shutil.which("apt-cache"):
        return None, None, "apt-cache not found"
    if not name:
        r = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True)
        m = re.search(r"Depends:\s*(linux-image-6\.1\.\S+-amd64)", r.stdout)
        if not m:
            return None, None, "cannot resolve linux-image-amd64's kernel package (apt-cache depends)"
        name = m.group(1)
    if not version:
        r = subprocess.run(["apt-cache", "policy", name], capture_output=True, text=True)
        m = re.search(r"Candidate:\s*(\S+)", r.stdout)
        if not m or m.group(1) == "(none)":
            return None, None, "no candidate version of %s (apt-cache policy)" % name
        version = m.group(1)
    return name, version, None


def module_request():
    return {"transports": TRANSPORT_MODULES, "nic": NIC_MODULES, "block": BLOCK_MODULES, "fs": FS_MODULES,
            "entropy": ENTROPY_MODULES}


def debian_kernel(spec, machine):
    """{package, version, vmlinuz, modules: [(name, path)] in load order (MACHINE's NIC: its transport, then
    the net driver), disk_modules: the same for a disk root beyond those, config: {option: value}}, from the
    cache (CACHE/debian-kernel/NAME_VERSION/), downloading and extracting the package once."""
    root = os.path.join(cache_root(), "debian-kernel")
    name, version, why = resolve_debian_package(spec)
    if not name:
        cached = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "kernel.json"))) \
            if os.path.isdir(root) and not spec else []
        if not cached:
            die("%s, and no Debian kernel cached in %s (run apt-get update)" % (why, root))
        name, version = cached[-1].split("_", 1)
        note("%s; using the cached %s %s" % (why, name, version))
    out = os.path.join(root, "%s_%s" % (name, version))
    meta = os.path.join(out, "kernel.json")
    if os.path.isfile(meta):
        with open(meta) as f:
            if json.load(f).get("request") != module_request():  # extracted for other modules: again (the .deb is kept)
                shutil.rmtree(out)
    if not os.path.isfile(meta):
        fetch_debian_kernel(name, version, root, out)
    with open(meta) as f:
        k = json.load(f)
    k["vmlinuz"] = os.path.join(out, k["vmlinuz"])
    k["machine"] = machine
    k["modules"] = [(m, os.path.join(out, "modules", m + ".ko")) for m in k["machines"][machine]["nic"]]
    k["disk_modules"] = [(m, os.path.join(out, "modules", m + ".ko")) for m in k["machines"][machine]["disk"]]
    k["entropy_modules"] = [(m, os.path.join(out, "modules", m + ".ko")) for m in k["machines"][machine]["entropy"]]
    k["fs_modules"] = {fs: [(m, os.path.join(out, "modules", m + ".ko")) for m in mods]
                       for fs, mods in k["machines"][machine]["fs"].items()}
    return k


def fetch_debian_kernel(name, version, root, out):
    os.makedirs(root, exist_ok=True)
    deb = os.path.join(root, "%s_%s_amd64.deb" % (name, version.replace(":", "%3a")))
    if not os.path.isfile(deb):
        note("downloading %s=%s (once, into %s)" % (name, version, root))
        tmp = tempfile.mkdtemp(prefix="dl.", dir=root)
        try:
            r = subprocess.run(["apt-get", "download", "%s=%s" % (name, version)], cwd=tmp,
                               capture_output=True, text=True)
            debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
            if r.returncode != 0 or not debs:
                last = (r.stderr.strip().splitlines() or ["no .deb written"])[-1]
                die("apt-get download %s=%s failed: %s" % (name, version, last))
            os.replace(os.path.join(tmp, debs[0]), deb)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix="x.", dir=root)
    try:
        r = subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], capture_output=True, text=True)
        if r.returncode != 0:
            die("dpkg-deb -x %s failed: %s" % (deb, r.stderr.strip()[-200:]))
        boot = os.path.join(tmp, "x", "boot")
        vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")]
        configs = [f for f in os.listdir(boot) if f.startswith("config-")]
        if len(vmlinuz) != 1 or len(configs) != 1:
            die("%s: expected one boot/vmlinuz-* and one boot/config-*" % deb)
        config = {}
        with open(os.path.join(boot, configs[0])) as f:
            for line in f:
                m = re.match(r"CONFIG_(\w+)=(.*)", line)
                if m:
                    config[m.group(1)] = m.group(2)
        # Every module by name (modinfo name=, else the file name), then NIC_MODULES' dependency closure.
        index = {}
        for d, _, files in os.walk(os.path.join(tmp, "x", "lib", "modules")):
            for f in files:
                if re.search(r"\.ko(\.\w+)?$", f):
                    index[re.sub(r"\.ko(\.\w+)?$", "", f).replace("-", "_")] = os.path.join(d, f)
        written = set()  # modules/NAME.ko extracted so far

        def closure(mods, have):
            """MODS' dependency closure in load order, less HAVE (loaded before) and what is built in."""
            order, seen = [], set(have)

            def visit(mod, chain):
                if mod in seen:
                    return
                if mod not in index:
                    builtin = mod.upper() in config  # not a module: fine only if the kernel has it built in
                    if not builtin:
                        die("%s: module %s (needed by %s) not in the package" % (deb, mod, " <- ".join(chain)))
                    return
                seen.add(mod)
                try:
                    data = read_module(index[mod])
                    info = elf_modinfo(data)
                except (ValueError, lzma.LZMAError) as e:
                    die("%s: %s" % (index[mod], e))
                for dep in filter(None, info.get("depends", "").split(",")):
                    visit(dep.replace("-", "_"), chain + [mod])
                order.append(mod)
                if mod not in written:
                    os.makedirs(os.path.join(tmp, "modules"), exist_ok=True)
                    with open(os.path.join(tmp, "modules", mod + ".ko"), "wb") as f:
                        f.write(data)  # decompressed: bespoke-init's insmod calls finit_module without flags
                    written.add(mod)
            for mod in mods:
                if config.get(mod.upper()) != "y" and config.get(mod.upper() + "_FS") != "y":
                    visit(mod, [])
            return order
        machines = {}
        for mach, transport in TRANSPORT_MODULES.items():
            nic = closure([transport] + NIC_MODULES, set())
            machines[mach] = {"nic": nic, "disk": closure(DISK_MODULES, set(nic)),
                              "entropy": closure(ENTROPY_MODULES, set(nic)),
                              "fs": {fs: closure(BLOCK_MODULES + mods, set(nic)) for fs, mods in FS_MODULES.items()}}
        shutil.copy(os.path.join(boot, vmlinuz[0]), os.path.join(tmp, "vmlinuz"))
        with open(os.path.join(tmp, "kernel.json"), "w") as f:
            json.dump({"package": name, "version": version, "vmlinuz": "vmlinuz", "machines": machines,
                       "request": module_request(),
                       "module_sources": {m: os.path.relpath(index[m], os.path.join(tmp, "x")) for m in sorted(written)},
                       "config": {o: config.get(o, "n") for o in NIC_CONFIG}}, f, indent=1)
        shutil.rmtree(os.path.join(tmp, "x"))
        os.chmod(tmp, 0o755)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_generic(img, out, kernel):
    """A copy of image directory IMG booting Debian's kernel: bzImage replaced, and the initramfs followed by a
    second archive with the NIC modules and init.conf with insmod lines before the first ifup (network images).
    A disk root (image.json's root.fstype) gets an initramfs of its own instead (make_generic_disk)."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    with open(os.path.join(img, "image.json")) as f:
        meta = json.load(f)
    if (meta.get("root") or {}).get("fstype"):
        return make_generic_disk(img, out, kernel, meta)
    shutil.copytree(img, out)
    generic_qemu(out, kernel)
    shutil.copyfile(kernel["vmlinuz"], os.path.join(out, "bzImage"))
    with open(os.path.join(img, "initramfs.cpio.gz"), "rb") as f:
        first = f.read()
    entries = {name.lstrip("./").lstrip("/"): body for name, _, body in newc_entries(gzip.decompress(first))}
    conf = entries.get("bespoke/init.conf")
    if conf is None:
        die("%s/initramfs.cpio.gz has no bespoke/init.conf" % img)
    lines = conf.decode().splitlines(True)
    ifup = next((i for i, l in enumerate(lines) if l.startswith("ifup ")), None)
    entropy = bool(meta.get("entropy"))
    # The NIC's modules before the first ifup (the transport's also serve the entropy source), the entropy
    # source's before the app's first arg line when there is no ifup.
    mods = (kernel["modules"] if ifup is not None or entropy else []) + (kernel["entropy_modules"] if entropy else [])
    extra = []
    if mods:
        at = ifup if ifup is not None else next(i for i, l in enumerate(lines) if l.startswith("arg "))
        lines[at:at] = ["insmod /lib/modules/%s.ko\n" % m for m, _ in mods]
        extra = [("lib", 0o040755, b""), ("lib/modules", 0o040755, b"")]
        for m, path in mods:
            with open(path, "rb") as f:
                extra.append(("lib/modules/%s.ko" % m, 0o100644, f.read()))
    extra.append(("bespoke/init.conf", 0o100644, "".join(lines).encode()))
    second = gzip.compress(newc_archive(extra), compresslevel=9, mtime=0)
    with open(os.path.join(out, "initramfs.cpio.gz"), "wb") as f:
        f.write(first + second)
    return {"initramfs_bytes": len(first) + len(second), "appended_bytes": len(second),
            "init_conf": "".join(lines)}


def generic_qemu(out, kernel):
    """On microvm, OUT/qemu-bin/qemu-system-x86_64: QEMU with microvm's acpi=off (what `bespoke boot` asks for) made
    acpi=on, so Debian's kernel finds the virtio-mmio devices in the ACPI tables (it has no
    VIRTIO_MMIO_CMDLINE_DEVICES), and ioapic2=off: the devices' interrupts stay on the one IO-APIC as for the
    trimmed kernel (with microvm's second IO-APIC, which acpi=on brings, Debian's kernel saw the disk but none of
    its interrupts under TCG, and hung reading it). boot_once puts it first in PATH for a directory that has it."""
    if kernel["machine"] != "microvm":
        return
    real = shutil.which("qemu-system-x86_64")
    os.makedirs(os.path.join(out, "qemu-bin"))
    path = os.path.join(out, "qemu-bin", "qemu-system-x86_64")
    with open(path, "w") as f:
        f.write('#!/bin/sh\n# images-bench: the generic twin boots microvm with ACPI (generic_qemu)\n'
                'for a do shift; case $a in microvm,*) a=$(printf %%s "$a" | sed s/acpi=off/acpi=on,ioapic2=off/);; esac\n'
                '  set -- "$@" "$a"; done\nexec %s "$@"\n' % real)
    os.chmod(path, 0o755)


def make_generic_disk(img, out, kernel, meta, disk=None):
    """The twin of a disk-root image: the same disk (a link to it) and Debian's kernel, plus an initramfs whose
    bespoke-init (the disk's own /init, read back with fsck.erofs) mounts /dev, loads the disk and NIC modules
    and switches to the disk (`switchroot /dev/vda FSTYPE`), where the disk's init runs as in the trimmed image.
    image.json's root.initrd names it, so `bespoke boot` passes it beside the disk.
    DISK: (path, kind) of another file system image of the same tree (--roots): linked instead, its fstype's
    modules loaded instead of erofs'."""
    root = meta["root"]
    os.makedirs(out)
    generic_qemu(out, kernel)
    for f in os.listdir(img):
        if f not in ("bzImage", "image.json", "boot.json", "mem_floor.json", root["file"]):
            shutil.copy(os.path.join(img, f), out)
    disk_path, fstype = disk or (os.path.join(img, root["file"]), root["fstype"])
    disk_file = os.path.basename(disk_path)
    os.symlink(os.path.abspath(disk_path), os.path.join(out, disk_file))
    shutil.copyfile(kernel["vmlinuz"], os.path.join(out, "bzImage"))
    x = tempfile.mkdtemp(prefix="init.")
    try:
        r = subprocess.run(["fsck.erofs", "--extract=" + os.path.join(x, "root"), os.path.join(img, root["file"])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            die("fsck.erofs --extract %s failed: %s" % (root["file"], r.stderr.strip()[-200:]))
        with open(os.path.join(x, "root", "init"), "rb") as f:
            init = f.read()
    finally:
        shutil.rmtree(x, ignore_errors=True)
    # kernel.json's disk modules are what the disk needs beyond the NIC modules (virtio_pci and its
    # dependencies are there), in dependency order after them: load both lists, NIC first.
    order = kernel["modules"] + (kernel["fs_modules"][fstype] if disk else kernel["disk_modules"]) + \
        (kernel["entropy_modules"] if meta.get("entropy") else [])
    lines = ["mount devtmpfs /dev\n"] + ["insmod /lib/modules/%s.ko\n" % m for m, _ in order] + \
            ["switchroot /dev/vda %s\n" % fstype]
    entries = [("bespoke", 0o040755, b""), ("dev", 0o040755, b""), ("dev/console", 0o020600, b"", (5, 1)),
               ("lib", 0o040755, b""), ("lib/modules", 0o040755, b""), ("init", 0o100755, init)]
    for m, path in order:
        with open(path, "rb") as f:
            entries.append(("lib/modules/%s.ko" % m, 0o100644, f.read()))
    entries.append(("bespoke/init.conf", 0o100644, "".join(lines).encode()))
    archive = gzip.compress(newc_archive(entries), compresslevel=9, mtime=0)
    with open(os.path.join(out, "initramfs.cpio.gz"), "wb") as f:
        f.write(archive)
    meta = dict(meta)
    meta["root"] = dict(root, initrd="initramfs.cpio.gz", file=disk_file, fstype=fstype,
                        kind=fstype if disk else root["kind"])
    with open(os.path.join(out, "image.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return {"initramfs_bytes": len(archive), "appended_bytes": len(archive), "init_conf": "".join(lines)}


# --- apps and their "serves" checks ------------------------------------------------------------------

def first_response(port, request, verdict, alive, deadline):
    """(time.monotonic(), socket) of the first connection to 127.0.0.1:PORT whose reply to REQUEST is good,
    or (None, None); verdict(reply) says True (good), False (bad: drop the probe) or None (incomplete).
    A new probe starts every 0.1 s: QEMU's user network accepts the host side at once and retransmits its SYN
    to a guest that is not up yet only after ~3 s, so one long-waiting probe would measure slirp's backoff,
    not the guest. A probe is abandoned after 2 s only while nothing answered it (a server that answers does
    so within milliseconds), so probing does not cost a one-connection app its connection."""
    probes, last = {}, 0.0  # socket -> [started, reply, sent]
    def drop(s):
        del probes[s]
        s.close()
    try:
        while time.monotonic() < deadline and alive():
            now = time.monotonic()
            if now - last >= 0.1 and len(probes) < 40:
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                probes[s], last = [now, b"", False], now
            _, writable, _ = select.select([], [s for s in probes if not probes[s][2]], [], 0)
            for s in writable:
                try:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        raise OSError("connect failed")
                    s.send(request)  # a few bytes into an empty send buffer
                    probes[s][2] = True
                except OSError:
                    drop(s)
            readable, _, _ = select.select([s for s in probes if probes[s][2]], [], [], 0.02)
            for s in readable:
                try:
                    chunk = s.recv(4096)
                except OSError:
                    chunk = b""
                probes[s][1] += chunk
                v = verdict(probes[s][1]) if chunk else False
                if v:
                    got = time.monotonic()
                    del probes[s]
                    s.setblocking(True)
                    return got, s
                if v is False:
                    drop(s)
            for s in [s for s in probes if not probes[s][1] and time.monotonic() - probes[s][0] > 2]:
                drop(s)
        return None, None
    finally:
        for s in probes:
            s.close()


def serve_echo(port, alive, deadline):
    """A line sent to the forwarded port comes back: (time, what) or (None, what)."""
    msg = b"hello from images-bench\n"
    t, s = first_response(port, msg, lambda got: got == msg or (None if msg.startswith(got) else False),
                          alive, deadline)
    if s is None:
        return None, "no echo"
    s.close()  # musl-echo 7 1 exits 0 after this connection
    return t, "echo ok"


def resp(*words):
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


def serve_redis(port, alive, deadline):
    """PING until PONG (the serve time; -LOADING and the like are not), then SET/GET on that connection;
    SHUTDOWN NOSAVE makes the server, and so the boot, end."""
    t, s = first_response(port, resp(b"PING"), lambda got: got == b"+PONG\r\n" if got.endswith(b"\r\n") else None,
                          alive, deadline)
    if s is None:
        return None, "no PONG"
    try:
        with s:
            s.settimeout(60)
            f = s.makefile("rb")
            s.sendall(resp(b"SET", b"bespoke-bench", b"trimmed-or-generic"))
            ok = f.readline() == b"+OK\r\n"
            s.sendall(resp(b"GET", b"bespoke-bench"))
            ok = ok and f.readline() == b"$18\r\n" and f.readline() == b"trimmed-or-generic\r\n"
            s.sendall(resp(b"SHUTDOWN", b"NOSAVE"))
            f.read()
    except OSError as e:
        return None, "PONG, then %s" % e
    return (t, "PONG, SET/GET ok") if ok else (None, "PONG, but SET/GET failed")


def serve_memcached(port, alive, deadline):
    """`version` until VERSION (the serve time), then set/get on that connection; `shutdown` (-A allows it) ends
    the server, and so the boot."""
    t, s = first_response(port, b"version\r\n",
                          lambda got: got.startswith(b"VERSION ") if got.endswith(b"\r\n") else None, alive, deadline)
    if s is None:
        return None, "no VERSION"
    try:
        with s:
            s.settimeout(60)
            f = s.makefile("rb")
            s.sendall(b"set bespoke-bench 0 0 18\r\ntrimmed-or-generic\r\n")
            ok = f.readline() == b"STORED\r\n"
            s.sendall(b"get bespoke-bench\r\n")
            ok = ok and f.readline() == b"VALUE bespoke-bench 0 18\r\n" and f.readline() == b"trimmed-or-generic\r\n" \
                and f.readline() == b"END\r\n"
            s.sendall(b"shutdown\r\n")
            f.read()
    except OSError as e:
        return None, "VERSION, then %s" % e
    return (t, "VERSION, set/get ok") if ok else (None, "VERSION, but set/get failed")


def serve_nginx(port, alive, deadline):
    """GET / until the page added to the image comes back (the serve time). nginx does not exit by itself: the
    boot is ended by stopping its QEMU (the app's "stop": "qemu")."""
    req = b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n"
    def verdict(got):
        if b"\r\n\r\n" not in got:
            return None
        head, _, body = got.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return False
        return True if body == NGINX_PAGE else (None if NGINX_PAGE.startswith(body) else False)
    t, s = first_response(port, req, verdict, alive, deadline)
    if s is None:
        return None, "no page"
    s.close()
    return t, "GET / ok"


NGINX_PAGE = b"served from a bespoke image\n"


def nginx_adds(work):
    """As tests/images/images_dynamic_test.sh builds it: the stock nginx.conf (-c) with a site serving one page, the
    directories nginx writes to, and the stock modules-enabled/*.conf but the ones needing files of their own."""
    d = os.path.join(work, "nginx-files")
    os.makedirs(d, exist_ok=True)
    # nchan (libnginx-mod-nchan) reserves a 128 MiB shared zone by default: under the kernel's heuristic
    # overcommit that mmap fails in a guest with less memory, so the site sizes it for a small machine.
    files = {"site.conf": "nchan_shared_memory_size 8m;\n"
                          "server {\n\tlisten 80 default_server;\n\troot /var/www/bespoke;\n}\n",
             "index.html": NGINX_PAGE.decode(), "empty": ""}
    for n, text in files.items():
        with open(os.path.join(d, n), "w") as f:
            f.write(text)
    adds = {os.path.join(d, "site.conf"): "/etc/nginx/sites-enabled/bespoke",
            os.path.join(d, "index.html"): "/var/www/bespoke/index.html", "/etc/nginx/mime.types": "/etc/nginx/mime.types"}
    out = []
    for host, guest in adds.items():
        out += ["--add", "%s:%s" % (host, guest)]
    for guest in ("/var/log/nginx/error.log", "/var/log/nginx/access.log", "/var/lib/nginx/.keep", "/run/nginx.pid"):
        out += ["--add", "%s:%s" % (os.path.join(d, "empty"), guest)]
    for conf in sorted(glob.glob("/etc/nginx/modules-enabled/*.conf")):
        if not conf.endswith(("-lua.conf", "-perl.conf", "-modsecurity.conf")):
            out += ["--add", "%s:%s" % (conf, conf)]
    return out


HELLO_C = b'#include <unistd.h>\nint main(void) { write(1, "hello from bespoke\\n", 19); return 0; }\n'


def apps(build):
    return {
        # Machine comparison (--machines): a static program with no sockets, so its image has no virtio device
        # and one kernel serves both machines (built from HELLO_C with musl-gcc into the work directory).
        "hello": {"binary": None, "source": HELLO_C, "args": [], "expect": "hello from bespoke"},
        # A dynamic app on an EROFS root (virtio-blk; its manifest uses sockets, so a NIC too); runs one query.
        "sqlite3": {"binary": "/usr/bin/sqlite3", "args": ["-batch", "-bail", ":memory:", "SELECT 'bespoke=' || (6*7);"],
                    "expect": "bespoke=42"},
        "echo": {"binary": os.path.join(build, "examples", "musl-echo", "musl-echo"), "args": ["7", "1"],
                 "guest_port": 7, "serve": serve_echo, "criterion": "served (a line echoed back)"},
        # As tests/images/images_dynamic_test.sh runs it: no snapshots, no AOF (the initramfs is all there is).
        "redis": {"binary": "/usr/bin/redis-server",
                  "args": ["--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no"],
                  "guest_port": 6379, "serve": serve_redis, "criterion": "served (PING, SET/GET)"},
        # As tests/images/images_dynamic_test.sh runs it (-u root: the image's generated /etc/passwd).
        "memcached": {"binary": "/usr/bin/memcached", "args": ["-u", "root", "-A", "-p", "11211", "-U", "0"],
                      "guest_port": 11211, "serve": serve_memcached, "criterion": "served (version, set/get)"},
        # As tests/images/images_dynamic_test.sh runs it: Debian's modules (libnginx-mod-*), the stock nginx.conf.
        "nginx": {"binary": "/usr/sbin/nginx", "analyze": ["--dlopen", "/usr/lib/nginx/modules"], "adds": nginx_adds,
                  "args": ["-p", "/usr/lib/nginx/", "-c", "/etc/nginx/nginx.conf", "-g", "daemon off;"],
                  "guest_port": 80, "serve": serve_nginx, "stop": "qemu", "criterion": "served (GET / with its modules loaded)"},
    }


# --- measurements ---------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def boot_once(bespoke, img, app, mem, timeout, log, probe=False):
    """One boot with a forwarded port and the app's serve check. Returns a dict of measurements (ms).
    probe: boot with --probe-syscalls (init probes every syscall number for ENOSYS before the app starts)."""
    bj = os.path.join(img, "boot.json")
    if os.path.exists(bj):
        os.remove(bj)
    port = free_port()
    cmd = [bespoke, "boot", img, "--mem", "%dM" % mem, "--timeout", str(timeout),
           "--forward", "127.0.0.1:%d:%d" % (port, app["guest_port"])] + (["--probe-syscalls"] if probe else [])
    env = None
    if os.path.isdir(os.path.join(img, "qemu-bin")):  # generic_qemu
        env = dict(os.environ, PATH=os.path.join(os.path.abspath(img), "qemu-bin") + os.pathsep + os.environ["PATH"])
    with open(log, "w") as out:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            served, what = app["serve"](port, lambda: p.poll() is None, t0 + timeout)
            stopped = False
            if app.get("stop") == "qemu" and served is not None and p.poll() is None:
                stopped = stop_qemu(p.pid)  # bespoke boot then ends, writing boot.json
            rc = p.wait(timeout=max(1, t0 + timeout + 30 - time.monotonic()))
        finally:
            if p.poll() is None:  # timed out, or the script was interrupted: end this boot and its QEMU
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        end = time.monotonic()
    r = {"mem": mem, "exit": rc, "serve": what, "serve_ms": None if served is None else (served - t0) * 1000,
         "script_wall_ms": (end - t0) * 1000, "command": cmd}
    if os.path.isfile(bj):
        with open(bj) as f:
            b = json.load(f)
        for k in ("guest_init_ms", "host_init_ms", "host_first_output_ms", "wall_ms", "accel", "machine",
                  "random_ready_at_exec"):
            r[k] = b.get(k)
        if probe and b.get("syscall_probe"):
            r["implemented"] = b["syscall_probe"]["implemented"]
            r["implemented_names"] = b["syscall_probe"]["implemented_names"]
    r["ok"] = (rc == 0 or stopped) and served is not None
    if r["ok"] and os.path.isfile(bj):
        with open(bj) as f:
            r["boot_json"] = f.read()
    if not r["ok"]:
        with open(log) as f:
            r["last_lines"] = f.read().strip().splitlines()[-3:]
    return r


def stop_qemu(boot_pid):
    """SIGTERM to the QEMU that `bespoke boot` (BOOT_PID) runs: its children, read from /proc."""
    try:
        with open("/proc/%d/task/%d/children" % (boot_pid, boot_pid)) as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return False
    for c in children:
        try:
            os.kill(c, signal.SIGTERM)
        except OSError:
            pass
    return bool(children)


def boot_to_exit(bespoke, img, app, mem, timeout, log):
    """One boot of an app without a port: it runs, prints app["expect"] and exits 0. Same keys as boot_once."""
    bj = os.path.join(img, "boot.json")
    if os.path.exists(bj):
        os.remove(bj)
    cmd = [bespoke, "boot", img, "--mem", "%dM" % mem, "--timeout", str(timeout)]
    with open(log, "w") as out:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout + 30)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        end = time.monotonic()
    with open(log) as f:
        text = f.read()
    r = {"mem": mem, "exit": rc, "script_wall_ms": (end - t0) * 1000, "serve": "printed" if app["expect"] in text
         else "did not print %r" % app["expect"]}
    if os.path.isfile(bj):
        with open(bj) as f:
            b = json.load(f)
        for k in ("guest_init_ms", "host_init_ms", "host_first_output_ms", "wall_ms", "accel", "machine",
                  "random_ready_at_exec"):
            r[k] = b.get(k)
    r["ok"] = rc == 0 and app["expect"] in text
    if not r["ok"]:
        r["last_lines"] = text.strip().splitlines()[-3:]
    return r


def smallest_mem(bespoke, img, app, lo, hi, timeout, log):
    """Smallest even MiB in [lo, hi] that boots and serves (bisection; assumes more memory never hurts).
    A size fails only when it fails twice in a row (one failed boot may be the shared machine's doing).
    Leaves the result in IMG for `bespoke decide --image IMG` (write_floor)."""
    tried, served, searched = {}, {}, [lo, hi]
    def ok(m):
        for attempt in (1, 2):
            r = boot_once(bespoke, img, app, m, timeout, log)
            why = None if r["ok"] else "exit %d, %s: %s" % (r["exit"], r["serve"], " | ".join(r.get("last_lines", [])))
            tried.setdefault(m, []).append(why or "ok")
            note("  %s --mem %dM: %s" % (os.path.basename(img), m, why or "boots and serves"))
            if r["ok"]:
                served[m] = r
                return True
        return False
    floor = None
    if ok(hi):
        if ok(lo):
            hi = lo
        while hi - lo > 2:
            mid = (lo + hi) // 2 // 2 * 2
            if mid == lo:
                mid += 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        floor = hi
    write_floor(img, floor, searched, tried, served.get(floor), app["criterion"])
    return floor, tried


def write_floor(img, floor, searched, tried, boot, criterion):
    """IMG/mem_floor.json (read by `bespoke decide --image`, specializer/README.md): the floor (null when nothing
    up to the top of the range served), the range, and the boot at the floor. IMG/boot.json becomes that boot's
    too: the search ends on whatever size it tried last, perhaps one that failed."""
    if boot and boot.get("boot_json"):
        with open(os.path.join(img, "boot.json"), "w") as f:
            f.write(boot["boot_json"])
    b = json.loads(boot["boot_json"]) if boot and boot.get("boot_json") else {}
    with open(os.path.join(img, "mem_floor.json"), "w") as f:
        json.dump({"bespoke_mem_floor": 1, "floor_mib": floor, "searched_mib": searched, "step_mib": 2,
                   "accel": b.get("accel"), "criterion": criterion, "command": boot["command"] if boot else [],
                   "tried": {str(m): tried[m] for m in sorted(tried)}}, f, indent=1)
        f.write("\n")


def rewrite(bespoke, manifest, app, out, cache, kernel_source, root=None, machine=None, adds=()):
    cmd = [bespoke, "rewrite", manifest, "--binary", app["binary"], "-o", out, "--cache-dir", cache, "-q"] + list(adds)
    if root:
        cmd += ["--root", root]
    if machine:
        cmd += ["--machine", machine]
    if kernel_source:
        cmd += ["--kernel-source", kernel_source]
    cmd += ["--"] + app["args"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    s = time.monotonic() - t0
    if r.returncode != 0:
        return None, s, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
    with open(os.path.join(out, "image.json")) as f:
        hit = json.load(f)["kernel"].get("cache_hit")
    return hit, s, None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "%.0f (%.0f-%.0f)" % (statistics.median(values), min(values), max(values))


# --- main -----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bespoke", help="the bespoke executable (BUILD/cli/bespoke)")
    ap.add_argument("--manifest", action="append", default=[], metavar="APP=PATH",
                    help="use this manifest for APP instead of analysing it (repeatable)")
    ap.add_argument("--apps", default="echo,redis", help="comma-separated: echo, redis, memcached, nginx; with --machines also hello, sqlite3 (default echo,redis)")
    ap.add_argument("--runs", type=int, default=5, help="boots per kernel and app, alternating (default 5)")
    ap.add_argument("--cache-dir", help="bespoke's cache for warm rewrites (default bespoke's own)")
    ap.add_argument("--kernel-source", help="unpacked linux-source-6.1 (default CACHE/linux-source-6.1 if there)")
    ap.add_argument("--cold", action="store_true", help="also time a cold rewrite (fresh cache: a kernel build)")
    ap.add_argument("--warm-runs", type=int, default=3, help="warm rewrites to time (default 3)")
    ap.add_argument("--mem-search", default="8:256", help="LO:HI MiB for the smallest --mem; 'no' to skip")
    ap.add_argument("--mem", type=int, default=128, help="MiB for the timed boots (default 128)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per boot (default 120)")
    ap.add_argument("--debian-package", help="NAME=VERSION instead of linux-image-amd64's current kernel")
    ap.add_argument("--work", help="work directory, kept (default a temporary one, removed)")
    ap.add_argument("--root", choices=["initramfs", "erofs"],
                    help="rewrite --root KIND for every app (default: bespoke's, by app)")
    ap.add_argument("--machine", choices=["pc", "microvm"], default="pc",
                    help="QEMU machine for both kernels (rewrite --machine; default pc: on microvm the generic twin "
                    "boots with acpi=on,ioapic2=off and hangs in about one boot of four under TCG, RESULTS.md)")
    ap.add_argument("--machines", help="compare QEMU machine types instead (pc,microvm): each app's image per machine, "
                    "booted alternating; no generic kernel, probe or --mem search")
    ap.add_argument("--roots", help="compare root file system formats instead (of erofs, squashfs, squashfs-gzip, "
                    "ext4): the app's root tree in each, booted by Debian's kernel alternating; no trimmed boots")
    ap.add_argument("--json", help="also write every measurement to this file")
    a = ap.parse_args()

    bespoke = os.path.abspath(a.bespoke)
    if not (os.path.isfile(bespoke) and os.access(bespoke, os.X_OK)):
        die("%s: no bespoke executable (build it: cmake -S . -B build -G Ninja && ninja -C build)" % a.bespoke)
    if not shutil.which("qemu-system-x86_64"):
        die("qemu-system-x86_64 not found in PATH (install qemu-system-x86)")
    build = os.path.dirname(os.path.dirname(bespoke))
    table = apps(build)
    names = [n for n in a.apps.split(",") if n]
    for n in names:
        if n not in table:
            die("unknown app '%s' (%s)" % (n, ", ".join(table)))
        if "serve" not in table[n] and not a.machines:
            die("app %s has no port to serve on: only for --machines" % n)
        if table[n]["binary"] and not os.path.isfile(table[n]["binary"]):
            die("%s: missing (app %s)" % (table[n]["binary"], n))
    machines = [m for m in (a.machines or "").split(",") if m]
    if a.machines is not None and (len(machines) < 2 or any(m not in ("pc", "microvm") for m in machines)):
        die("--machines: expected two or more of pc, microvm, not '%s'" % a.machines)
    cache = os.path.abspath(a.cache_dir) if a.cache_dir else cache_root()
    ksrc = a.kernel_source
    if not ksrc and os.path.isfile(os.path.join(cache_root(), "linux-source-6.1", ".bespoke-unpacked")):
        ksrc = os.path.join(cache_root(), "linux-source-6.1")
    if a.mem_search != "no":
        try:
            mem_lo, mem_hi = (int(x) for x in a.mem_search.split(":"))
        except ValueError:
            die("--mem-search: expected LO:HI in MiB, or no")

    given = {}
    for m in a.manifest:
        app_name, _, path = m.partition("=")
        if app_name not in table or not os.path.isfile(path):
            die("--manifest %s: expected APP=PATH with APP one of %s and PATH a manifest" % (m, ", ".join(table)))
        given[app_name] = path
    if machines:
        return compare_machines(bespoke, a, table, names, machines, cache, ksrc)
    if a.roots:
        kinds = [k for k in a.roots.split(",") if k]
        if len(kinds) < 2 or any(k not in ROOT_KINDS for k in kinds):
            die("--roots: expected two or more of %s, not '%s'" % (", ".join(ROOT_KINDS), a.roots))
        for tool in ("fsck.erofs", "mksquashfs", "mkfs.ext4", "resize2fs"):
            if not shutil.which(tool):
                die("%s not found in PATH (scripts/bootstrap installs erofs-utils, squashfs-tools, e2fsprogs)" % tool)
        return compare_roots(bespoke, a, table, names, kinds, cache, ksrc, given)
    kernel = debian_kernel(a.debian_package, a.machine)
    results = {"debian": {k: kernel[k] for k in ("package", "version", "config")},
               "modules": [m for m, _ in kernel["modules"]], "disk_modules": [m for m, _ in kernel["disk_modules"]],
               "runs": a.runs, "root": a.root or "bespoke's default", "machine": a.machine, "apps": {}}
    failed = False
    with work_dir(a) as work:
        for name in names:
            app = table[name]
            res = results["apps"][name] = {"binary": app["binary"], "args": app["args"]}
            manifest = app_manifest(bespoke, work, name, app, given)
            if name in given:
                res["manifest"] = given[name]
            img = os.path.join(work, name + "-img")
            # Rewrite: cold (fresh cache) when asked, then warm runs on the same cache.
            # The first run fills whatever the cache lacks (cold: the kernel build; else perhaps the config
            # proof); warm = the same command again, every later run, each a kernel cache hit.
            rw = res["rewrite"] = {"first_s": None, "first_kernel_cache_hit": None, "warm_s": []}
            rcache = os.path.join(work, "cold-cache") if a.cold else cache
            if a.cold:
                shutil.rmtree(rcache, ignore_errors=True)
                note("%s: cold rewrite (fresh cache %s: a kernel build)" % (name, rcache))
            for i in range(a.warm_runs + 1):
                hit, secs, err = rewrite(bespoke, manifest, app, img, rcache, ksrc, a.root, a.machine,
                                         app["adds"](work) if "adds" in app else [])
                if err:
                    res["skipped"] = "bespoke rewrite: " + err
                    break
                if i == 0:
                    rw["first_s"], rw["first_kernel_cache_hit"] = secs, hit
                    note("%s: first rewrite %.1f s (kernel cache %s)" % (name, secs, "hit" if hit else "miss"))
                elif hit:
                    rw["warm_s"].append(secs)
                else:
                    die("%s: rewrite %d missed the kernel cache" % (name, i + 1))
            if a.cold:
                shutil.rmtree(rcache, ignore_errors=True)
            if "skipped" in res:
                note("%s: skipped: %s" % (name, res["skipped"]))
                continue
            with open(os.path.join(img, "image.json")) as f:
                meta = json.load(f)
            gen = os.path.join(work, name + "-generic")
            g = make_generic(img, gen, kernel)
            root = meta.get("root") or {"kind": "initramfs", "file": "initramfs.cpio.gz"}
            res["root"] = root["kind"]
            res["sizes"] = {"trimmed": {"kernel": os.path.getsize(os.path.join(img, "bzImage")),
                                        "root": os.path.getsize(os.path.join(img, root["file"])),
                                        "initramfs": 0 if root.get("fstype") else
                                        os.path.getsize(os.path.join(img, "initramfs.cpio.gz"))},
                            "generic": {"kernel": os.path.getsize(os.path.join(gen, "bzImage")),
                                        "root": os.path.getsize(os.path.join(img, root["file"])),
                                        "initramfs": g["initramfs_bytes"]}}
            res["generic_init_conf"] = g["init_conf"]
            res["accel_network"] = meta.get("network")
            # Timed boots, the two kernels alternating (order flipped every run).
            boots = res["boots"] = {"trimmed": [], "generic": []}
            for i in range(a.runs):
                for kind in (("trimmed", "generic") if i % 2 == 0 else ("generic", "trimmed")):
                    d = img if kind == "trimmed" else gen
                    b = boot_once(bespoke, d, app, a.mem, a.timeout, os.path.join(work, "%s-%s.log" % (name, kind)))
                    boots[kind].append(b)
                    note("%s %s run %d: %s" % (name, kind, i + 1, "serves in %.0f ms, wall %s ms" % (
                        b["serve_ms"], b.get("wall_ms")) if b["ok"] else failed_text(b)))
                    failed |= not b["ok"]
            # The syscall probe: which syscall numbers each booted kernel implements (not ENOSYS).
            res["probe"] = {}
            for kind, d in (("trimmed", img), ("generic", gen)):
                b = boot_once(bespoke, d, app, a.mem, a.timeout + 60, os.path.join(work, "%s-%s-probe.log" % (name, kind)),
                              probe=True)
                res["probe"][kind] = {"implemented": b.get("implemented"), "names": b.get("implemented_names", []),
                                      "ok": b["ok"]}
                note("%s %s: syscall probe: %s implemented" % (name, kind, b.get("implemented")))
                failed |= not b["ok"] or b.get("implemented") is None
            if a.mem_search != "no":
                res["mem"] = {}
                for kind, d in (("trimmed", img), ("generic", gen)):
                    m, tried = smallest_mem(bespoke, d, app, mem_lo, mem_hi, a.timeout,
                                            os.path.join(work, "%s-%s-mem.log" % (name, kind)))
                    res["mem"][kind] = {"smallest_mib": m, "tried": tried}
        print_and_save(results, a, report)
    return 1 if failed else 0


def print_and_save(results, a, report_fn):
    """The plain-text table on standard output; with --json, every measurement to that file."""
    report_fn(results, a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


ROOT_KINDS = {"erofs": "erofs", "squashfs": "squashfs", "squashfs-gzip": "squashfs", "ext4": "ext4"}


def root_images(img, work, kinds):
    """{kind: path}: the trimmed image's root.erofs, and the same tree (read back with fsck.erofs) written as each
    other KIND: squashfs uncompressed like bespoke's EROFS (-noI -noD -noF -noX) or gzip'd (squashfs-gzip), ext4
    without a journal (read-only root), shrunk to its smallest size (resize2fs -M). Owner root, times 0."""
    tree = os.path.join(work, "root-tree")
    shutil.rmtree(tree, ignore_errors=True)
    r = subprocess.run(["fsck.erofs", "--extract=" + tree, os.path.join(img, "root.erofs")], capture_output=True, text=True)
    if r.returncode != 0:
        die("fsck.erofs --extract %s/root.erofs failed: %s" % (img, r.stderr.strip()[-200:]))
    out = {}
    for kind in kinds:
        path = os.path.join(work, "root." + kind)
        if os.path.exists(path):
            os.remove(path)
        if kind == "erofs":
            out[kind] = os.path.join(img, "root.erofs")
            continue
        if kind.startswith("squashfs"):
            cmds = [["mksquashfs", tree, path, "-noappend", "-all-root", "-all-time", "0", "-mkfs-time", "0",
                     "-no-xattrs", "-quiet", "-no-progress"] + (["-noI", "-noD", "-noF", "-noX"] if kind == "squashfs" else [])]
        else:
            used = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(tree) for f in fs)
            mib = used * 13 // 10 // (1 << 20) + 16
            cmds = [["mkfs.ext4", "-q", "-F", "-d", tree, "-O", "^has_journal", "-m", "0", "-b", "4096",
                     "-E", "root_owner=0:0", path, "%dM" % mib],
                    ["e2fsck", "-f", "-y", path], ["resize2fs", "-M", path]]
        for cmd in cmds:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode not in (0, 1) or (r.returncode and cmd[0] != "e2fsck"):
                die("%s failed: %s" % (" ".join(cmd[:2]), (r.stderr or r.stdout).strip()[-200:]))
        out[kind] = path
    shutil.rmtree(tree, ignore_errors=True)
    return out


@contextlib.contextmanager
def work_dir(a):
    """--work, kept; or a temporary directory, removed afterwards."""
    work = a.work or tempfile.mkdtemp(prefix="images-bench.")
    os.makedirs(work, exist_ok=True)
    try:
        yield work
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


def app_manifest(bespoke, work, name, app, given):
    """WORK/NAME.yaml: the --manifest given for the app (e.g. the images test's, whose kernel the cache already
    holds), else `bespoke analyze` of its binary."""
    manifest = os.path.join(work, name + ".yaml")
    if name in given:
        shutil.copyfile(given[name], manifest)
        return manifest
    r = subprocess.run([bespoke, "analyze", app["binary"], "-o", manifest, "-q"] + app.get("analyze", []),
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("bespoke analyze %s failed: %s" % (app["binary"], r.stderr.strip()[-200:]))
    return manifest


def failed_text(b):
    return "FAILED exit %d (%s): %s" % (b["exit"], b["serve"], " | ".join(b.get("last_lines", [])))


def compare_roots(bespoke, a, table, names, kinds, cache, ksrc, given):
    """--roots: the app's root tree in each file system format, each booted by Debian's kernel (which has them all
    as modules) on the same machine, alternating: time to serving, smallest --mem, image bytes, and the bytes the
    format's modules would add to a kernel. The trimmed kernel is one format's only, so the comparison of
    formats runs on the generic kernel: same kernel, same tree, only the file system differs."""
    kernel = debian_kernel(a.debian_package, a.machine)
    results = {"debian": {k: kernel[k] for k in ("package", "version")}, "machine": a.machine, "runs": a.runs,
               "mem": a.mem, "kinds": kinds, "apps": {}}
    failed = False
    with work_dir(a) as work:
        for name in names:
            app = table[name]
            res = results["apps"][name] = {"binary": app["binary"], "args": app["args"], "kinds": {}}
            manifest = app_manifest(bespoke, work, name, app, given)
            img = os.path.join(work, name + "-img")
            hit, secs, err = rewrite(bespoke, manifest, app, img, cache, ksrc, "erofs", a.machine,
                                     app["adds"](work) if "adds" in app else [])
            if err:
                die("%s: bespoke rewrite: %s" % (name, err))
            with open(os.path.join(img, "image.json")) as f:
                meta = json.load(f)
            disks = root_images(img, work, kinds)
            common = {m for m, _ in kernel["modules"]} | set()
            dirs = {}
            for kind in kinds:
                dirs[kind] = os.path.join(work, "%s-%s" % (name, kind))
                if os.path.isdir(dirs[kind]):
                    shutil.rmtree(dirs[kind])
                make_generic_disk(img, dirs[kind], kernel, meta, (disks[kind], ROOT_KINDS[kind]))
                fs_only = [(m, p) for m, p in kernel["fs_modules"][ROOT_KINDS[kind]]
                           if m not in common and m not in ("virtio_blk", "overlay")]
                res["kinds"][kind] = {"image_bytes": os.path.getsize(disks[kind]),
                                      "image_blocks_bytes": os.stat(disks[kind]).st_blocks * 512,
                                      "fs_modules": [m for m, _ in fs_only],
                                      "fs_module_alloc_bytes": sum(elf_alloc_bytes(read_module(p)) for _, p in fs_only)}
                note("%s %s: image %d bytes; modules %s" % (name, kind, res["kinds"][kind]["image_bytes"],
                                                             ", ".join(res["kinds"][kind]["fs_modules"])))
            boots = res["boots"] = {k: [] for k in kinds}
            for i in range(a.runs):
                order = kinds[i % len(kinds):] + kinds[:i % len(kinds)]  # each kind first in turn
                for kind in order:
                    b = boot_once(bespoke, dirs[kind], app, a.mem, a.timeout, os.path.join(work, "%s-%s.log" % (name, kind)))
                    boots[kind].append(b)
                    note("%s %s run %d: %s" % (name, kind, i + 1, "serves in %.0f ms" % b["serve_ms"] if b["ok"] else
                                               failed_text(b)))
                    failed |= not b["ok"]
            if a.mem_search != "no":
                lo, hi = (int(x) for x in a.mem_search.split(":"))
                for kind in kinds:
                    m, tried = smallest_mem(bespoke, dirs[kind], app, lo, hi, a.timeout,
                                            os.path.join(work, "%s-%s-mem.log" % (name, kind)))
                    res["kinds"][kind]["smallest_mib"] = m
                    res["kinds"][kind]["mem_tried"] = tried
        print_and_save(results, a, report_roots)
    return 1 if failed else 0


def report_roots(results, a):
    d = results["debian"]
    print("root formats: %s %s on QEMU -M %s%s, %s, %d boots per format, alternating; --mem %dM for timed boots" % (
        d["package"], d["version"], results["machine"], " (acpi=on,ioapic2=off)" if results["machine"] == "microvm" else "",
        accel_of(results, "erofs"), results["runs"], results["mem"]))
    for name, res in results["apps"].items():
        kinds = list(res["kinds"])
        fmt = "%-44s" + " %22s" * len(kinds)
        print("\n" + name)
        print(fmt % (("metric",) + tuple(kinds)))
        print(fmt % (("image bytes",) + tuple(str(res["kinds"][k]["image_bytes"]) for k in kinds)))
        print(fmt % (("file system modules' loaded bytes",) + tuple(
            "%d (%s)" % (res["kinds"][k]["fs_module_alloc_bytes"], "+".join(res["kinds"][k]["fs_modules"]))
            for k in kinds)))
        print(fmt % (("host time to serving, ms: median (min-max)",) + tuple(
            spread([b["serve_ms"] for b in res["boots"][k] if b["ok"]]) for k in kinds)))
        print(fmt % (("boots that served",) + tuple(
            "%d/%d" % (sum(b["ok"] for b in res["boots"][k]), len(res["boots"][k])) for k in kinds)))
        if all("smallest_mib" in res["kinds"][k] for k in kinds):
            print(fmt % (("smallest --mem that serves, MiB",) + tuple(
                str(res["kinds"][k]["smallest_mib"]) for k in kinds)))


def compare_machines(bespoke, a, table, names, machines, cache, ksrc):
    """--machines: each app's image once per machine, booted alternating; boot.json's times side by side."""
    results = {"machines": machines, "runs": a.runs, "mem": a.mem, "apps": {}}
    failed = False
    with work_dir(a) as work:
        for name in names:
            app = dict(table[name])
            if app.get("source"):
                src, app["binary"] = os.path.join(work, name + ".c"), os.path.join(work, name)
                with open(src, "wb") as f:
                    f.write(app["source"])
                r = subprocess.run(["musl-gcc", "-static", "-O2", "-o", app["binary"], src], capture_output=True, text=True)
                if r.returncode != 0:
                    die("musl-gcc %s failed: %s" % (src, r.stderr.strip()[-200:]))
            res = results["apps"][name] = {"binary": app["binary"], "args": app["args"], "images": {}}
            manifest = os.path.join(work, name + ".yaml")
            r = subprocess.run([bespoke, "analyze", app["binary"], "-o", manifest, "-q"], capture_output=True, text=True)
            if r.returncode != 0:
                die("bespoke analyze %s failed: %s" % (app["binary"], r.stderr.strip()[-200:]))
            imgs = {}
            for m in machines:
                imgs[m] = os.path.join(work, "%s-%s" % (name, m))
                hit, secs, err = rewrite(bespoke, manifest, app, imgs[m], cache, ksrc, a.root, m)
                if err:
                    die("%s: bespoke rewrite --machine %s: %s" % (name, m, err))
                with open(os.path.join(imgs[m], "image.json")) as f:
                    meta = json.load(f)
                res["images"][m] = {"build_key": meta["kernel"]["build_key"], "bus": meta["machine"]["bus"],
                                    "root": meta["root"]["kind"], "network": meta["network"],
                                    "kernel_bytes": os.path.getsize(os.path.join(imgs[m], "bzImage")),
                                    "rewrite_s": secs, "kernel_cache_hit": hit}
                note("%s --machine %s: rewrite %.1f s (kernel %s, bus %s)" % (
                    name, m, secs, "cached" if hit else "built", meta["machine"]["bus"] or "none"))
            boots = res["boots"] = {m: [] for m in machines}
            for i in range(a.runs):
                for m in (machines if i % 2 == 0 else machines[::-1]):
                    log = os.path.join(work, "%s-%s.log" % (name, m))
                    b = boot_once(bespoke, imgs[m], app, a.mem, a.timeout, log) if "serve" in app else \
                        boot_to_exit(bespoke, imgs[m], app, a.mem, a.timeout, log)
                    boots[m].append(b)
                    note("%s %s run %d: %s" % (name, m, i + 1, "init at %s ms host, wall %s ms" % (
                        b.get("host_init_ms"), b.get("wall_ms")) if b["ok"] else failed_text(b)))
                    failed |= not b["ok"]
        print_and_save(results, a, report_machines)
    return 1 if failed else 0


def report_machines(results, a):
    machines = results["machines"]
    print("machine comparison: %d boots per machine and app, alternating; %s, %d cores; --mem %dM" % (
        a.runs, accel_of(results, machines[0]), os.cpu_count(), a.mem))
    for name, res in results["apps"].items():
        print()
        imgs = res["images"]
        same = len({i["build_key"] for i in imgs.values()}) == 1
        first = imgs[machines[0]]
        print("app %s: %s %s (root %s, %s; %s)" % (
            name, os.path.basename(res["binary"]), " ".join(res["args"]), first["root"],
            "network" if first["network"] else "no network",
            "one kernel for all machines (no virtio device)" if same else
            "a kernel per machine: " + ", ".join("%s %s" % (m, imgs[m]["bus"]) for m in machines)))
        fmt = "  %-34s" + " %22s" * len(machines) + " %10s"
        print(fmt % (("metric (ms: median (min-max))",) + tuple(machines) + ("%s/%s" % (machines[1], machines[0]),)))
        print(fmt % (("kernel bzImage bytes",) + tuple(imgs[m]["kernel_bytes"] for m in machines) + (
            "%.3f" % (imgs[machines[1]]["kernel_bytes"] / imgs[machines[0]]["kernel_bytes"]),)))
        keys = [("guest_init_ms", "guest uptime at init"), ("host_init_ms", "host time to init"),
                ("host_first_output_ms", "host time to first app output"), ("wall_ms", "wall time (boot.json)"),
                ("script_wall_ms", "wall time (script)")]
        if any(b.get("serve_ms") for bs in res["boots"].values() for b in bs):
            keys.insert(3, ("serve_ms", "host time to serves (script)"))
        for key, label in keys:
            vals = {m: [b.get(key) for b in res["boots"][m] if b["ok"]] for m in machines}
            m0, m1 = med(vals[machines[0]]), med(vals[machines[1]])
            print(fmt % ((label,) + tuple(spread(vals[m]) for m in machines) + (
                "%.3f" % (m1 / m0) if m0 and m1 is not None else "-",)))
        print(fmt % (("boots that ran",) + tuple("%d/%d" % (sum(b["ok"] for b in res["boots"][m]),
                                                           len(res["boots"][m])) for m in machines) + ("",)))


def report(results, a):
    d = results["debian"]
    print("images bench: %d boots per kernel and app, alternating; QEMU -M %s%s, %s, %d cores; --mem %dM for timed boots"
          % (a.runs, a.machine, " (the generic twin with acpi=on,ioapic2=off)" if a.machine == "microvm" else "",
             accel_of(results), os.cpu_count(), a.mem))
    print("generic kernel: %s %s; NIC modules loaded by insmod: %s; for a disk root also: %s" % (
        d["package"], d["version"], ", ".join(results["modules"]) or "none",
        ", ".join(m for m in results["disk_modules"] if m not in results["modules"]) or "none"))
    print("  Debian config: " + " ".join("%s=%s" % kv for kv in d["config"].items()))
    goals = []
    for name, res in results["apps"].items():
        print()
        print("app %s: %s %s (root: %s)" % (name, res["binary"], " ".join(res["args"]), res.get("root", "?")))
        if "skipped" in res:
            print("  skipped: " + res["skipped"])
            continue
        s, boots = res["sizes"], res["boots"]
        rows = [("kernel bzImage bytes", s["trimmed"]["kernel"], s["generic"]["kernel"]),
                ("initramfs.cpio.gz bytes", s["trimmed"]["initramfs"], s["generic"]["initramfs"])]
        if res.get("root", "initramfs") != "initramfs":
            rows.append(("root %s bytes (one disk, shared)" % res["root"], s["trimmed"]["root"], s["generic"]["root"]))
        fmt = "  %-34s %22s %22s %10s"
        print(fmt % ("metric (ms: median (min-max))", "trimmed", "generic", "ratio"))
        for label, t, g in rows:
            print(fmt % (label, t, g, "%.3f" % (t / g) if g else "-"))
        ratios = {}
        for key, label in (("guest_init_ms", "guest uptime at init"), ("host_init_ms", "host time to init"),
                           ("host_first_output_ms", "host time to first app output"),
                           ("serve_ms", "host time to serves (script)"), ("wall_ms", "wall time (boot.json)"),
                           ("script_wall_ms", "wall time (script)")):
            t = [b.get(key) for b in boots["trimmed"] if b["ok"]]
            g = [b.get(key) for b in boots["generic"] if b["ok"]]
            mt, mg = med(t), med(g)
            ratio = mt / mg if mt is not None and mg else None
            ratios[key] = ratio
            print(fmt % (label, spread(t), spread(g), "-" if ratio is None else "%.3f" % ratio))
        pt, pg = res["probe"]["trimmed"], res["probe"]["generic"]
        if pt["implemented"] is not None and pg["implemented"] is not None:
            print(fmt % ("syscalls implemented (ENOSYS probe)", pt["implemented"], pg["implemented"],
                         "%.3f" % (pt["implemented"] / pg["implemented"])))
            missing = sorted(set(pg["names"]) - set(pt["names"]))
            print("  %d syscalls the generic kernel implements and the trimmed one does not" % len(missing))
        ok_t = sum(b["ok"] for b in boots["trimmed"])
        ok_g = sum(b["ok"] for b in boots["generic"])
        print(fmt % ("boots that served", "%d/%d" % (ok_t, len(boots["trimmed"])),
                     "%d/%d" % (ok_g, len(boots["generic"])), ""))
        if "mem" in res:
            mt, mg = res["mem"]["trimmed"]["smallest_mib"], res["mem"]["generic"]["smallest_mib"]
            show = lambda m: "> %d MiB" % max(res["mem"]["trimmed"]["tried"]) if m is None else "%d MiB" % m
            print(fmt % ("smallest --mem that boots+serves", show(mt), show(mg),
                         "%.3f" % (mt / mg) if mt and mg else "-"))
        rw = res["rewrite"]
        first = "%.1f s (%s)" % (rw["first_s"], "kernel cache hit" if rw["first_kernel_cache_hit"] else
                                  "cold: kernel built" + (" in a fresh cache" if a.cold else ""))
        print("  rewrite: first %s; warm (the same command again) %s" % (
            first, "median %.2f s (runs: %s)" % (med(rw["warm_s"]), " ".join("%.2f" % x for x in rw["warm_s"]))
            if rw["warm_s"] else "-"))
        # Goals, each only from a measured number.
        k = s["trimmed"]["kernel"]
        goals.append("%s kernel <= 1.5 MB: %d bytes (%.2f MB) -> %s" % (name, k, k / 1e6, yes(k <= GOAL_KERNEL_BYTES)))
        if ratios.get("serve_ms") is not None:
            goals.append("%s: time to serves <= %.1fx generic on the same root: %.3f -> %s" % (
                name, GOAL_BOOT_RATIO, ratios["serve_ms"], yes(ratios["serve_ms"] <= GOAL_BOOT_RATIO)))
        goal_mem = GOAL_MEM_MIB.get(name)
        if "mem" in res and res["mem"]["trimmed"]["smallest_mib"] is not None and goal_mem:
            m = res["mem"]["trimmed"]["smallest_mib"]
            goals.append("%s: smallest memory <= %d MiB: %d MiB -> %s" % (name, goal_mem, m, yes(m <= goal_mem)))
        if rw["warm_s"]:
            w = med(rw["warm_s"])
            goals.append("%s: warm rewrite < %.0f s: %.2f s -> %s" % (name, GOAL_WARM_REWRITE_S, w,
                                                                    yes(w < GOAL_WARM_REWRITE_S)))
    print()
    print("goals:")
    for g in goals:
        print("  " + g)


def accel_of(results, kind="trimmed"):
    for res in results["apps"].values():
        for b in res.get("boots", {}).get(kind, []):
            if b.get("accel"):
                return b["accel"].upper()
    return "accel unknown"


def yes(b):
    return "holds" if b else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
