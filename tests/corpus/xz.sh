#!/usr/bin/env bash
# Corpus workload: xz (dynamic, liblzma). Multi-threaded compression (-T2, blocks small enough for two
# threads to work), test (-t), list (-l --robot), decompress to a file, and a pipe-to-pipe round trip.
source "$(dirname "$0")/lib.sh"
corpus_init xz /usr/bin/xz "$@"

python3 -c 'import random; r = random.Random(7); open("data.bin", "wb").write(bytes(r.choice(b"abcdefgh \n") for _ in range(3000000)))'
cp data.bin orig.bin
trace compress "$BIN" -T2 --block-size=1MiB -6 -k data.bin
trace test "$BIN" -t data.bin.xz
trace list "$BIN" -l --robot data.bin.xz >list.txt
expect_eq "xz -l blocks" 3 "$(awk -F'\t' '$1 == "totals" { print $3 }' list.txt)"
expect_eq "xz -l size" 3000000 "$(awk -F'\t' '$1 == "totals" { print $5 }' list.txt)"
rm data.bin
trace decompress "$BIN" -d data.bin.xz
expect_file_eq "xz -d" orig.bin data.bin
trace pipe "$BIN" -c -1 <orig.bin >pipe.xz
expect_file_eq "pipe round trip" orig.bin <(xz -dc pipe.xz)
say "ok"
