#!/usr/bin/env bash
# Corpus workload: GNU diff (dynamic glibc). A unified diff of two files (exit status 1: they differ),
# a recursive diff of two trees with a file only on one side (-ruN), -q, identical files (status 0),
# and --ignore-all-space. Each patch is checked by applying it with python3.
source "$(dirname "$0")/lib.sh"
corpus_init diff /usr/bin/diff "$@"

seq 1 2000 >a.txt
sed -e '500s/.*/five hundred/' -e '1500d' -e '$a extra' a.txt >b.txt
mkdir -p left/sub right/sub
cp a.txt left/sub/x.txt; cp b.txt right/sub/x.txt; echo only >right/new.txt; echo same >left/s; echo same >right/s
trace --status 1 unified "$BIN" -u a.txt b.txt >u.diff
expect_eq "diff -u hunks" 3 "$(grep -c '^@@' u.diff)"
expect_eq "diff -u changes" "$(printf -- '-500\n+five hundred\n-1500\n+extra')" "$(grep -E '^[-+][^-+]' u.diff)"
trace --status 1 recursive "$BIN" -ruN left right >r.diff
expect_eq "diff -ruN files" "$(printf 'diff -ruN left/new.txt right/new.txt\ndiff -ruN left/sub/x.txt right/sub/x.txt')" "$(grep '^diff ' r.diff)"
trace --status 1 brief "$BIN" -rq left right >q.txt
expect_eq "diff -rq" "$(printf 'Only in right: new.txt\nFiles left/sub/x.txt and right/sub/x.txt differ')" "$(cat q.txt)"
trace same "$BIN" a.txt left/sub/x.txt
printf 'a  b\tc\n' >ws1; printf 'a b c\n' >ws2
trace space "$BIN" -b ws1 ws2
say "ok"
