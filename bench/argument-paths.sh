#!/usr/bin/env bash
# argument-paths.sh: analyze the servers of issue 13's acceptance (and a few corpus programs) and print,
# for the filter `bespoke extend` builds from each manifest, the syscalls allowed, how many are
# argument-checked, the instructions executed per allowed syscall with and without the checks, and which
# dangerous kernel paths stay open. Results go into bench/RESULTS.md by hand, with this command.
#   bench/argument-paths.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: bench/argument-paths.sh BUILD_DIR}
bespoke=$build/cli/bespoke
tool=$build/bench/argument-paths
[ -x "$bespoke" ] && [ -x "$tool" ] || { echo "argument-paths.sh: build bespoke and argument-paths first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
manifests=()
for app in /usr/bin/redis-server /usr/sbin/nginx /usr/bin/sqlite3 /usr/bin/curl /usr/bin/memcached /bin/cat /bin/tar \
           "$build/examples/musl-echo/musl-echo"; do
  [ -x "$app" ] || { echo "argument-paths.sh: $app missing (scripts/bootstrap installs it)" >&2; exit 2; }
  "$bespoke" analyze "$app" -o "$tmp/$(basename "$app").yaml" -q
  manifests+=("$tmp/$(basename "$app").yaml")
done
"$tool" "${manifests[@]}"
