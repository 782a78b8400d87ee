#!/usr/bin/env bash
# Corpus workload: bzip2 (dynamic, libbz2). Compress keeping the input (-k, -9), test (-t),
# decompress to stdout and in place, and a stdin-to-stdout round trip.
source "$(dirname "$0")/lib.sh"
corpus_init bzip2 /usr/bin/bzip2 "$@"

seq 1 80000 | sed 's/$/ bzip2 corpus line/' >data.txt
cp data.txt orig.txt
trace compress "$BIN" -9 -k data.txt
trace test "$BIN" -t data.txt.bz2
trace stdout "$BIN" -dc data.txt.bz2 >stdout.txt
expect_file_eq "bzip2 -dc" orig.txt stdout.txt
rm data.txt
trace decompress "$BIN" -d data.txt.bz2
expect_file_eq "bzip2 -d" orig.txt data.txt
trace pipe "$BIN" -c <orig.txt >pipe.bz2
expect_file_eq "stdin round trip" orig.txt <(bzip2 -dc pipe.bz2)
say "ok"
