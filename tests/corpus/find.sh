#!/usr/bin/env bash
# Corpus workload: GNU find (dynamic glibc; fts, openat/fstatat/getdents64). Name, type, size and
# depth tests with -printf over a tree, -newer, -empty, a symlink followed with -L, -exec ... {} +
# (find executes /usr/bin/wc: declared with allow_exec), and -delete.
# The workload runs `find -exec wc`: the program find executes is named to the analysis.
ANALYZE_ARGS=(--exec wc)
source "$(dirname "$0")/lib.sh"
corpus_init find /usr/bin/find "$@"
allow_exec wc

mkdir -p tree/a/b/c tree/d other
for i in 1 2 3; do seq 1 $((i * 1000)) >"tree/a/f$i.txt"; done
printf 'x\n' >tree/a/b/c/deep.log
: >tree/d/empty.txt
printf 'target\n' >other/t.txt
ln -s ../other tree/link
touch -d '2001-01-01' tree/a/f1.txt ref
touch -d '2002-01-01' tree/a/f2.txt
trace names "$BIN" tree -name '*.txt' -type f -printf '%d %s %P\n' >names.txt
expect_eq "find -name -printf" "$(printf '2 3893 a/f1.txt\n2 8893 a/f2.txt\n2 13893 a/f3.txt\n2 0 d/empty.txt')" "$(LC_ALL=C sort -k3 names.txt)"
trace newer "$BIN" tree -type f -newer ref ! -name '*.log' -size +5k >newer.txt
expect_eq "find -newer -size" "$(printf 'tree/a/f2.txt\ntree/a/f3.txt')" "$(LC_ALL=C sort newer.txt)"
trace empty "$BIN" tree -empty -o -type l >empty.txt
expect_eq "find -empty / -type l" "$(printf 'tree/d/empty.txt\ntree/link')" "$(LC_ALL=C sort empty.txt)"
trace follow "$BIN" -L tree -name 't.txt' >follow.txt
expect_eq "find -L" tree/link/t.txt "$(cat follow.txt)"
trace exec "$BIN" tree/a -maxdepth 1 -name 'f*.txt' -exec wc -l {} + >exec.txt
expect_eq "find -exec wc -l {} +" "6000 total" "$(tail -n 1 exec.txt | sed 's/^ *//')"
trace delete "$BIN" tree -name '*.log' -delete
[ ! -e tree/a/b/c/deep.log ] || die "find -delete left deep.log"
say "ok"
