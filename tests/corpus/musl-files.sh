#!/usr/bin/env bash
# Corpus workload: examples/musl-files (static musl: directory walk, lstat, reads in a pthread worker,
# getrandom, clock_gettime, writes a summary). The summary's counts and order-independent hash are
# checked against python3. Needs CORPUS_BUILD (the CMake build dir, where the binary is built).
CORPUS_BUILD="${CORPUS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}"
source "$(dirname "$0")/lib.sh"
corpus_init musl-files "$CORPUS_BUILD/examples/musl-files/musl-files" "$@"

mkdir -p tree/a/b/c tree/d tree/empty
printf 'one\n' >tree/one.txt
seq 1 20000 >tree/a/numbers.txt
head -c 100000 /dev/urandom >tree/a/b/random.bin
: >tree/a/b/c/empty.txt
echo deep >tree/a/b/c/deep.txt
for i in $(seq 1 30); do echo "file $i" >"tree/d/f$i"; done
ln -s ../one.txt tree/d/link   # not followed, not counted
trace walk "$BIN" tree summary.txt
cat summary.txt >&2
python3 - <<'PY' || die "summary does not match the tree"
import os
files = bytes_ = 0
h = 0
def fnv(h, data):
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h
for root, dirs, names in os.walk("tree"):
    for n in names:
        p = os.path.join(root, n)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        data = open(p, "rb").read()
        files += 1; bytes_ += len(data)
        h ^= fnv(fnv(14695981039346656037, p.encode() + b"\0"), data)
got = dict(line.split() for line in open("summary.txt"))
assert int(got["files"]) == files, (got, files)
assert int(got["bytes"]) == bytes_, (got, bytes_)
assert int(got["fnv"], 16) == h, (got["fnv"], "%016x" % h)
assert len(got["nonce"]) == 16 and int(got["elapsed_ns"]) > 0
PY
say "ok"
