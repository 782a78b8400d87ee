#!/usr/bin/env bash
# Corpus workload: zstd (dynamic, libzstd). Compress a file (multi-threaded, -T2), decompress it to
# another file, and compare; also a pipe-to-pipe round trip.
source "$(dirname "$0")/lib.sh"
corpus_init zstd /usr/bin/zstd "$@"

python3 -c '
import random
r = random.Random(7)
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
with open("in.txt", "w") as f:
    for i in range(400000):
        f.write(" ".join(r.choice(words) for _ in range(6)) + "\n")
'
trace compress "$BIN" -q -T2 -3 in.txt -o in.txt.zst
[ -s in.txt.zst ] && [ "$(stat -c %s in.txt.zst)" -lt "$(stat -c %s in.txt)" ] || die "compression did not shrink the file"
trace decompress "$BIN" -q -d in.txt.zst -o out.txt
cmp in.txt out.txt || die "decompressed file differs"
trace pipe "$BIN" -q -c -19 <in.txt | zstd -q -d -c >out2.txt
cmp in.txt out2.txt || die "pipe round trip differs"
say "ok"
