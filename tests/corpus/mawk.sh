#!/usr/bin/env bash
# Corpus workload: mawk (dynamic glibc; Debian's default awk). Field splitting and associative arrays
# (a group-by sum), printf formats and math functions, a program file with a user function and
# getline from a file, output to a pipe through `sort` (awk's `print | cmd` runs /bin/sh -c: declared
# with allow_exec), and a regexp match with a dynamic regexp.
# The awk program pipes into `sort` (through popen's /bin/sh, which the analysis finds itself).
ANALYZE_ARGS=(--exec sort)
source "$(dirname "$0")/lib.sh"
corpus_init mawk /usr/bin/mawk "$@"
allow_exec sh sort

for i in $(seq 1 3000); do echo "k$((i % 7)) $i $((i * 3 % 11))"; done >data.txt
trace groupby "$BIN" '{ s[$1] += $2; n[$1]++ } END { for (k in s) printf "%s %d %d\n", k, s[k], n[k] | "sort" }' data.txt >groupby.txt
expect_eq "group-by sum" "k0 642642 428" "$(head -n 1 groupby.txt)"
expect_eq "group-by keys" 7 "$(wc -l <groupby.txt)"
trace math "$BIN" 'BEGIN { printf "%.4f %.3e %d %x %s\n", atan2(0, -1), exp(10), int(-7.9), 255, substr("bespoke", 3, 4) }' >math.txt
expect_eq "printf and math" "3.1416 2.203e+04 -7 ff spok" "$(cat math.txt)"
cat >prog.awk <<'AWK'
function max(a, b) { return a > b ? a : b }
BEGIN { while ((getline line < "data.txt") > 0) { split(line, f, " "); m = max(m, f[3]) }; close("data.txt") }
$2 ~ re { c++ }
END { print m, c, NR }
AWK
trace prog "$BIN" -v re='^1[0-9]*0$' -f prog.awk data.txt >prog.txt
expect_eq "program file" "10 111 3000" "$(cat prog.txt)"
say "ok"
