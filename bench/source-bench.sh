#!/usr/bin/env bash
# Source analysis time vs `clang -fsyntax-only` over the same translation units, side by side.
#
# usage: bench/source-bench.sh BUILD ROUNDS COMPILE_COMMANDS.json...
#   For each round and each compile database, in alternating order: (a) `bespoke analyze
#   --compile-commands DB -q` (warm library-model cache: the cost measured is the source side), and
#   (b) clang-19 -fsyntax-only on every entry of DB with the entry's own arguments, as many in parallel
#   as bespoke uses threads (nproc). Prints per-database medians and the ratio a/b, as Markdown.
#   BASELINE=path/to/another/bespoke adds (c): that build, timed in the same rounds (before/after columns).
set -euo pipefail
build=${1:?usage: bench/source-bench.sh BUILD ROUNDS COMPILE_COMMANDS.json...}
rounds=${2:?usage: bench/source-bench.sh BUILD ROUNDS COMPILE_COMMANDS.json...}
shift 2
bespoke=$build/cli/bespoke
[ -x "$bespoke" ] || { echo "source-bench: $bespoke not built" >&2; exit 2; }
baseline=${BASELINE:-}
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "source-bench: BASELINE $baseline is not executable" >&2; exit 2; }
command -v clang-19 >/dev/null || { echo "source-bench: clang-19 not found" >&2; exit 2; }
[ $# -gt 0 ] || { echo "source-bench: no compile databases given" >&2; exit 2; }
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT

# The clang commands of one database: one line per entry, "DIR<TAB>ARGS..." with -c/-o dropped.
syntax_commands() {
  python3 - "$1" <<'PY'
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    args = e.get("arguments") or shlex.split(e["command"])
    out, skip = [], False
    for a in args[1:]:
        if skip: skip = False; continue
        if a == "-o": skip = True; continue
        if a == "-c": continue
        out.append(a)
    print(e["directory"] + "\t" + " ".join(shlex.quote(a) for a in out))
PY
}
now() { date +%s.%N; }
declare -A CMDS
run_syntax() { # the commands are prepared before timing: only the clang processes are timed
  xargs -P "$(nproc)" -d '\n' -I{} bash -c 'IFS=$'"'"'\t'"'"' read -r d a <<<"$1"; cd "$d" && eval clang-19 -fsyntax-only -w $a' _ {} <"${CMDS[$1]}" >/dev/null 2>&1 || true
}
run_bespoke() { "${2:-$bespoke}" analyze --compile-commands "$1" -q --cache-dir "$cache" -o /dev/null >/dev/null 2>&1 || [ $? -eq 2 ]; }

declare -A A B C
for db in "$@"; do
  run_bespoke "$db" # warm the library-model cache
  [ -z "$baseline" ] || run_bespoke "$db" "$baseline"
  CMDS[$db]=$(mktemp -p "$cache")
  syntax_commands "$db" >"${CMDS[$db]}"
done
for ((r = 0; r < rounds; r++)); do
  for db in "$@"; do
    if (( r % 2 )); then order="b a"; else order="a b"; fi
    [ -z "$baseline" ] || { if (( r % 2 )); then order="c $order"; else order="$order c"; fi; }
    for which in $order; do
      t0=$(now)
      case $which in a) run_bespoke "$db" ;; b) run_syntax "$db" ;; c) run_bespoke "$db" "$baseline" ;; esac
      t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }')
      case $which in a) A[$db]+="$t " ;; b) B[$db]+="$t " ;; c) C[$db]+="$t " ;; esac
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
add() { awk -v x="$1" -v y="$2" 'BEGIN { print x + y }'; }
if [ -z "$baseline" ]; then
  echo "| compile database | TUs | bespoke analyze (s) | clang -fsyntax-only (s) | ratio |"
  echo "|---|---|---|---|---|"
else
  echo "| compile database | TUs | bespoke analyze (s) | clang -fsyntax-only (s) | ratio | baseline (s) | baseline ratio |"
  echo "|---|---|---|---|---|---|---|"
fi
ta=0 tb=0 tc=0
for db in "$@"; do
  ma=$(median <<<"${A[$db]}"); mb=$(median <<<"${B[$db]}")
  n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$db")
  ta=$(add "$ta" "$ma"); tb=$(add "$tb" "$mb")
  row=$(printf '| %s | %s | %.3f | %.3f | %s |' "$db" "$n" "$ma" "$mb" "$(ratio "$ma" "$mb")")
  if [ -n "$baseline" ]; then
    mc=$(median <<<"${C[$db]}"); tc=$(add "$tc" "$mc")
    row+=$(printf ' %.3f | %s |' "$mc" "$(ratio "$mc" "$mb")")
  fi
  echo "$row"
done
row=$(printf '| **all** | | %.3f | %.3f | **%s** |' "$ta" "$tb" "$(ratio "$ta" "$tb")")
[ -z "$baseline" ] || row+=$(printf ' %.3f | **%s** |' "$tc" "$(ratio "$tc" "$tb")")
echo "$row"
