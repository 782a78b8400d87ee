#!/usr/bin/env bash
# Corpus workload: gzip (dynamic glibc). Compress a file in place (-9, keeping it with -k), test and
# list the archive, decompress to stdout and in place (-d -f), and a stdin-to-stdout round trip.
source "$(dirname "$0")/lib.sh"
corpus_init gzip /usr/bin/gzip "$@"

seq 1 100000 | sed 's/$/ gzip corpus line/' >data.txt
cp data.txt orig.txt
trace compress "$BIN" -9 -k data.txt
[ -f data.txt.gz ] && [ -f data.txt ] || die "gzip -k did not keep data.txt next to data.txt.gz"
trace test "$BIN" -t data.txt.gz
trace list "$BIN" -l data.txt.gz >list.txt
expect_eq "gzip -l uncompressed size" "$(stat -c %s orig.txt)" "$(awk 'NR == 2 { print $2 }' list.txt)"
trace stdout "$BIN" -dc data.txt.gz >stdout.txt
expect_file_eq "gzip -dc" orig.txt stdout.txt
rm data.txt
trace decompress "$BIN" -d -f data.txt.gz
[ ! -e data.txt.gz ] || die "gzip -d left data.txt.gz"
expect_file_eq "gzip -d" orig.txt data.txt
trace pipe "$BIN" -c <orig.txt >pipe.gz
expect_file_eq "stdin round trip" orig.txt <(gzip -dc pipe.gz)
say "ok"
