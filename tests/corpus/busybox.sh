#!/usr/bin/env bash
# Corpus workload: busybox (static glibc, /bin/busybox). One traced `busybox sh` script runs many
# applets (busybox re-executes itself through /proc/self/exe for non-builtin applets), plus a few
# direct applet runs. Every output is checked against coreutils/python afterwards.
source "$(dirname "$0")/lib.sh"
corpus_init busybox /bin/busybox "$@"

mkdir -p in/sub
printf 'alpha\nbeta\ngamma\n' >in/a.txt
printf 'delta\nepsilon\n' >in/b.txt
seq 1 500 | sed 's/$/ line of text/' >in/sub/c.txt
ln -s a.txt in/link
for i in 5 3 10 1 200 42 7; do echo "$i"; done >nums.txt

cat >script.sh <<'SH'
set -e
ls -l in >ls.out
cat in/a.txt in/b.txt >cat.out
sort -n nums.txt >sorted.out
cp -r in copy
wc -l <nums.txt >wc.out
sha256sum in/sub/c.txt >sha.out
tar -cf arch.tar in
mkdir untar
tar -xf arch.tar -C untar
gzip -c in/sub/c.txt >c.gz
gunzip -c c.gz >c.out
date +%Y >date.out
echo hello >echo.out
find in -type f | sort >find.out
grep -c line in/sub/c.txt >grep.out
sed -n '2p' in/a.txt >sed.out
awk '{ s += $1 } END { print s }' nums.txt >awk.out
mkdir -p m/n && mv echo.out m/n/moved.out && rm -r copy/sub
SH
trace sh "$BIN" sh script.sh
trace md5sum "$BIN" md5sum in/a.txt in/b.txt >md5.out
trace stat "$BIN" stat -c '%s %n' in/a.txt >stat.out

grep -q ' a.txt$' ls.out || die "ls -l output lacks a.txt"
expect_file_eq "cat" cat.out <(cat in/a.txt in/b.txt)
expect_file_eq "sort -n" sorted.out <(sort -n nums.txt)
expect_eq "wc -l" 7 "$(tr -d ' ' <wc.out)"
expect_eq "sha256sum" "$(sha256sum in/sub/c.txt)" "$(cat sha.out)"
diff -r in untar/in >/dev/null || die "tar round trip differs"
expect_file_eq "gzip round trip" c.out in/sub/c.txt
expect_eq "date" "$(date +%Y)" "$(cat date.out)"
expect_eq "echo" hello "$(cat m/n/moved.out)"
expect_eq "find" "$(printf 'in/a.txt\nin/b.txt\nin/sub/c.txt')" "$(cat find.out)"
expect_eq "grep -c" 500 "$(cat grep.out)"
expect_eq "sed" beta "$(cat sed.out)"
expect_eq "awk" 268 "$(cat awk.out)"
[ -f copy/a.txt ] && [ ! -e copy/sub ] || die "cp -r / rm -r did not do their work"
expect_eq "md5sum" "$(md5sum in/a.txt in/b.txt)" "$(cat md5.out)"
expect_eq "stat" "17 in/a.txt" "$(cat stat.out)"
say "ok"
