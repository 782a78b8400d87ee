#!/usr/bin/env bash
# Corpus workload: GNU bash (dynamic, libtinfo) running a script: arrays and associative arrays,
# arithmetic, functions, [[ =~ ]] regexps, printf -v, here-documents and here-strings, `read` loops over
# a file, redirections to files, a pipeline and a subshell (fork), command and process substitution,
# a background job with `wait`, a trap on EXIT and `mapfile`. The script runs builtins only (it
# executes no other program); its output is checked.
source "$(dirname "$0")/lib.sh"
corpus_init bash /usr/bin/bash "$@"

seq 1 500 >numbers.txt
cat >script.sh <<'SH'
set -euo pipefail
trap 'echo "trap: exit"' EXIT
declare -A count=()
total=0
while read -r n; do
  total=$((total + n))
  count[$((n % 3))]=$(( ${count[$((n % 3))]:-0} + 1 ))
done <numbers.txt
echo "sum $total mod3 ${count[0]} ${count[1]} ${count[2]}"
fib() { local a=0 b=1 i; for ((i = 0; i < $1; i++)); do ((b = a + b, a = b - a)); done; echo "$a"; }
echo "fib $(fib 40)"
words=(delta alpha charlie bravo)
mapfile -t reversed < <(for w in "${words[@]}"; do echo "$w"; done | { mapfile -t l; for ((i=${#l[@]}-1; i>=0; i--)); do echo "${l[i]}"; done; })
echo "reversed ${reversed[*]}"
if [[ "version 5.2.15" =~ ([0-9]+)\.([0-9]+) ]]; then echo "regex ${BASH_REMATCH[1]}-${BASH_REMATCH[2]}"; fi
printf -v padded '%05d|%-6s|%x' 42 ab 255
echo "printf $padded"
cat_builtin() { local line; while IFS= read -r line; do echo "$line"; done; }
cat_builtin <<EOF2 >heredoc.out
here $((6 * 7))
EOF2
read -r here <heredoc.out; echo "heredoc $here"
read -r a b <<<"two words"; echo "herestring $b $a"
mapfile -t first < <(for i in 1 2 3; do echo "p$i"; done)
echo "procsub ${first[*]}"
( cd /; echo "subshell $PWD" )
{ for ((i = 0; i < 20000; i++)); do :; done; echo "bg done" >bg.out; } &
wait $!
read -r bg <bg.out; echo "background $bg"
echo "upper ${words[1]^^} len ${#words[@]} slice ${words[*]:1:2}"
SH
trace script "$BIN" script.sh >out.txt
expect_eq "bash script output" "$(cat <<'OUT'
sum 125250 mod3 166 167 167
fib 102334155
reversed bravo charlie alpha delta
regex 5-2
printf 00042|ab    |ff
heredoc here 42
herestring words two
procsub p1 p2 p3
subshell /
background bg done
upper ALPHA len 4 slice alpha charlie
trap: exit
OUT
)" "$(cat out.txt)"
say "ok"
