#!/usr/bin/env bash
# Analysis time of `bespoke analyze` for a binary and its shared-library closure, cold cache (every
# module disassembled) and warm cache (models read from disk), measured alternately in one run.
# Usage: bench/analyze-time.sh BESPOKE [BINARY=/usr/bin/redis-server] [RUNS=5] [-- ANALYZE-ARGS...]
#   e.g. bench/analyze-time.sh build/cli/bespoke /usr/sbin/nginx 5 -- --dlopen /usr/lib/nginx/modules
set -euo pipefail
bespoke=${1:?usage: bench/analyze-time.sh BESPOKE [BINARY] [RUNS] [-- ANALYZE-ARGS...]}
binary=${2:-/usr/bin/redis-server}
runs=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
extra=()
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
cold=() warm=()
for i in $(seq "$runs"); do
  rm -rf "$work/cache"
  t0=$(now); "$bespoke" analyze "$binary" "${extra[@]}" -q --cache-dir "$work/cache" -o "$work/cold.yaml"; t1=$(now)
  "$bespoke" analyze "$binary" "${extra[@]}" -q --cache-dir "$work/cache" -o "$work/warm.yaml"; t2=$(now)
  cold+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')") warm+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.3f", b-a}')")
  cmp -s "$work/cold.yaml" "$work/warm.yaml" || { echo "cold and warm manifests differ" >&2; exit 1; }
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
modules=$(grep -c '^  - name:' <(sed -n '/^modules:/,/^syscalls:/p' "$work/cold.yaml"))
syscalls=$(sed -n '/^syscalls:/,/^kernel:/p' "$work/cold.yaml" | grep -c '^  - name:')
echo "binary: $binary ${extra[*]} ($modules modules, $syscalls syscalls), $runs runs each, $(nproc) cores"
echo "cold cache: median $(median "${cold[@]}") s  (runs: ${cold[*]})"
echo "warm cache: median $(median "${warm[@]}") s  (runs: ${warm[*]})"
