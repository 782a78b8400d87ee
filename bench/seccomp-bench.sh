#!/usr/bin/env bash
# seccomp filters: bespoke vs libseccomp (optimize 2) on the corpus manifests and synthetic policies —
# (a) BPF instructions executed per syscall, (b) ns per syscall under live filters, (c) proof time.
# Builds nothing. Generates the corpus manifests with BUILD/cli/bespoke into a temporary directory, then
# runs BUILD/bench/seccomp-bench on them; extra arguments go to seccomp-bench (--sections abc,
# --rounds R, --iters N, --prove-runs K, --live NAME,...). Prints Markdown on standard output.
# Usage: bench/seccomp-bench.sh BUILD [seccomp-bench options]
set -euo pipefail
build=${1:?usage: bench/seccomp-bench.sh BUILD [seccomp-bench options]}
shift
bespoke=$build/cli/bespoke
bench=$build/bench/seccomp-bench
for f in "$bespoke" "$bench"; do
  [[ -x $f ]] || { echo "seccomp-bench.sh: $f: not built" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

binaries=(/usr/bin/cat /usr/bin/ls /usr/bin/sort /usr/bin/cp /usr/bin/sqlite3 /usr/bin/lua5.4
          /usr/bin/redis-server /usr/bin/redis-cli /usr/sbin/nginx /usr/bin/jq /usr/bin/zstd /bin/busybox
          "$build/examples/musl-echo/musl-echo" "$build/examples/musl-files/musl-files")
for bin in "${binaries[@]}"; do
  if [[ ! -x $bin ]]; then
    echo "seccomp-bench.sh: $bin not found, skipped" >&2
    continue
  fi
  "$bespoke" analyze "$bin" -q -o "$work/$(basename "$bin").yaml"
done
echo "seccomp-bench.sh: $(ls "$work" | wc -l) manifests; $(nproc) cores; $(uname -r)" >&2
"$bench" --manifests "$work" "$@"
