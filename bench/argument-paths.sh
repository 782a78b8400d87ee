#!/usr/bin/env bash
# argument-paths.sh: analyze the servers of issue 13's acceptance (and a few corpus programs) and print, for
# the filter `bespoke extend` builds from each manifest, beside libseccomp's program for the same policy
# and Docker's default seccomp profile: the syscalls allowed and argument-checked, the instructions
# executed per allowed syscall, the kernel-cached fraction, the proof time, and which dangerous kernel
# paths stay open. Results go into bench/RESULTS.md by hand, with this command.
#   bench/argument-paths.sh BUILD_DIR
# Docker's profile is the one Debian 12 ships (golang-github-docker-docker-dev, Docker 20.10.24): the
# package is downloaded with apt-get and unpacked into a temporary directory, never installed.
set -euo pipefail
build=${1:?usage: bench/argument-paths.sh BUILD_DIR}
bespoke=$build/cli/bespoke
tool=$build/bench/argument-paths
[ -x "$bespoke" ] && [ -x "$tool" ] || { echo "argument-paths.sh: build bespoke and argument-paths first" >&2; exit 2; }
tool=$(realpath "$tool")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

docker_pkg=golang-github-docker-docker-dev
profile=$tmp/docker/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
# apt-get download writes into the current directory; _apt cannot write to a mktemp directory, so it may
# warn that it downloads unsandboxed.
(cd "$tmp" && apt-get download -q "$docker_pkg" >"$tmp/apt.log" 2>&1) ||
  { echo "argument-paths.sh: cannot fetch Docker's seccomp profile ($docker_pkg): $(tail -n 1 "$tmp/apt.log")" >&2; exit 2; }
dpkg-deb -x "$tmp"/${docker_pkg}_*.deb "$tmp/docker" 2>"$tmp/dpkg.log" ||
  { echo "argument-paths.sh: cannot unpack $docker_pkg: $(tail -n 1 "$tmp/dpkg.log")" >&2; exit 2; }
[ -f "$profile" ] || { echo "argument-paths.sh: $docker_pkg has no profiles/seccomp/default.json" >&2; exit 2; }
deb=$(basename "$tmp"/${docker_pkg}_*.deb)

manifests=()
for app in /usr/bin/redis-server /usr/sbin/nginx /usr/bin/sqlite3 /usr/bin/curl /usr/bin/memcached /bin/cat /bin/tar \
           "$build/examples/musl-echo/musl-echo"; do
  [ -x "$app" ] || { echo "argument-paths.sh: $app missing (scripts/bootstrap installs it)" >&2; exit 2; }
  "$bespoke" analyze "$app" -o "$tmp/$(basename "$app").yaml" -q
  manifests+=("$tmp/$(basename "$app").yaml")
done
echo "Docker's profile: $deb"
echo
# From the unpacked package's root, so that the tables name the profile by its path in the package.
cd "$tmp/docker" && "$tool" --docker "${profile#"$tmp/docker/"}" "${manifests[@]}"
