#!/usr/bin/env bash
# CLI contract tests for `bespoke analyze --compile-commands` (source analysis): a good run with
# argument facts, file:line evidence and the --binary cross-check; bad compile databases; a translation
# unit that does not compile; an entry whose file does not exist.
#
# usage: source_test.sh BESPOKE [CC]
# Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
set -u

BESPOKE=${1:?usage: source_test.sh BESPOKE [CC]}
CC=${2:-cc}
[ -x "$BESPOKE" ] || { echo "source_test: $BESPOKE is not executable" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-source-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CACHE=$TMP/cache
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }
run() {
  "$BESPOKE" "$@" --cache-dir "$CACHE" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
  RC=$?
}
show() { sed 's/^/stderr: /' "$TMP/stderr" | head -5; }
check() { local desc=$1; shift; if "$@"; then pass "$desc"; else fail "$desc" "exit $RC" "$(show)"; fi; }
rc_is() { [ "$RC" -eq "$1" ]; }
err_has() { grep -qF -- "$1" "$TMP/stderr"; }
one_line_error() { [ "$RC" -eq 2 ] && [ "$(wc -l <"$TMP/stderr")" -eq 1 ] && grep -q '^bespoke' "$TMP/stderr" && grep -qF -- "$1" "$TMP/stderr"; }

# A two-file program and its compile database (written by hand: the format is what matters).
P=$TMP/prog
mkdir -p "$P"
cat >"$P/main.c" <<'C'
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
int helper(int flags);
int main(int argc, char **argv) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  int sv[2];
  int p = socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  long t = syscall(SYS_gettid);
  return helper(argc > 1 ? O_RDWR : O_RDONLY) + s + p + (int)t;
}
C
cat >"$P/helper.c" <<'C'
#include <fcntl.h>
#include <unistd.h>
int helper(int flags) {
  int fd = open("/dev/null", flags | O_CLOEXEC);
  return close(fd);
}
C
db() { # db DIR FILE... : a compile database for FILEs in DIR
  local dir=$1 first=1 f; shift
  { echo "["
    for f in "$@"; do
      [ $first -eq 1 ] || echo ","
      first=0
      printf '{"directory": "%s", "file": "%s", "arguments": ["%s", "-O1", "-c", "%s", "-o", "%s.o"]}\n' "$dir" "$f" "$CC" "$f" "${f%.c}"
    done
    echo "]"; } >"$dir/compile_commands.json"
}
db "$P" main.c helper.c
"$CC" -O1 -o "$P/prog" "$P/main.c" "$P/helper.c" || fail "cannot build the test program with $CC"

run analyze --compile-commands "$P/compile_commands.json" -o "$P/src.yaml"
check "analyze --compile-commands writes a manifest (exit 0)" eval 'rc_is 0 && [ -s "$P/src.yaml" ]'
check "the syscall(SYS_gettid) site is evidence with file:line" grep -qF "main@$P/main.c:10" "$P/src.yaml"
check "socketpair's domain is AF_UNIX (1) and type SOCK_DGRAM (0x2)" \
  eval 'grep -A4 "name: socketpair$" "$P/src.yaml" | grep -q "domain: \[\"1\"\]" && grep -A6 "name: socketpair$" "$P/src.yaml" | grep -q "type: \[\"0x2\"\]"'
# glibc makes socket calls of its own (sunrpc, NSS, syslog): the source's AF_UNIX is not the whole story.
check "socket's domain is any: libc's own code creates sockets too" \
  eval 'grep -A4 "name: socket$" "$P/src.yaml" | grep -q "domain: any"'
check "open's flags through a parameter are 'any'" eval 'grep -A3 "name: openat$" "$P/src.yaml" | grep -q "flags: any"'
check "/dev/null is a kernel path" eval 'sed -n "/^kernel:/,/features/p" "$P/src.yaml" | grep -q "/dev/null"'
run analyze --compile-commands "$P/compile_commands.json" -o "$P/src2.yaml" -q
check "source analysis is deterministic (byte-identical manifests)" cmp -s "$P/src.yaml" "$P/src2.yaml"
run analyze --compile-commands "$P/compile_commands.json" --binary "$P/prog" -o "$P/both.yaml"
check "--binary cross-checks and reports on stderr" eval 'rc_is 0 && err_has "cross-check with" && grep -q "^crosscheck:" "$P/both.yaml"'
run analyze "$P/prog" -o "$P/bin.yaml" -q
n_src=$(sed -n '/^syscalls:/,/^kernel:/p' "$P/src.yaml" | grep -c "^  - name:"); n_bin=$(sed -n '/^syscalls:/,/^kernel:/p' "$P/bin.yaml" | grep -c "^  - name:")
check "the source footprint ($n_src) is no larger than the binary one ($n_bin)" eval '[ "$n_src" -le "$n_bin" ]'

# Bad compile databases: one line, exit 2, naming the file; nothing written.
run analyze --compile-commands "$TMP/none.json" -o "$TMP/x.yaml"
check "a missing compile database" eval 'one_line_error none.json && [ ! -e "$TMP/x.yaml" ]'
printf '{' >"$TMP/malformed.json"
run analyze --compile-commands "$TMP/malformed.json" -o "$TMP/x.yaml"
check "a malformed compile database" eval 'one_line_error malformed.json && [ ! -e "$TMP/x.yaml" ]'
printf '[]' >"$TMP/empty.json"
run analyze --compile-commands "$TMP/empty.json" -o "$TMP/x.yaml"
check "an empty compile database" eval 'one_line_error empty.json && [ ! -e "$TMP/x.yaml" ]'
run analyze --compile-commands "$P/compile_commands.json" /bin/true
check "BINARY and --compile-commands together is a usage error" rc_is 2
run analyze /bin/true --binary /bin/true
check "--binary without --compile-commands is a usage error" rc_is 2

# A translation unit that does not compile: reported, the others analysed, manifest marked, exit 2.
B=$TMP/broken
mkdir -p "$B"
cp "$P/main.c" "$P/helper.c" "$B/"
printf 'int broken(void) { return 1 +; }\n' >"$B/broken.c"
db "$B" main.c helper.c broken.c
run analyze --compile-commands "$B/compile_commands.json" -o "$B/m.yaml"
check "a TU that does not compile: exit 2, named on stderr" eval 'rc_is 2 && err_has broken.c'
check "... and the manifest is still written, with the TU under unresolved" \
  eval 'grep -q "kind: source-file" "$B/m.yaml" && grep -q "socket" "$B/m.yaml"'
# An entry whose file does not exist.
M=$TMP/missing
mkdir -p "$M"
cp "$P/main.c" "$P/helper.c" "$M/"
db "$M" main.c helper.c gone.c
run analyze --compile-commands "$M/compile_commands.json" -o "$M/m.yaml"
check "an entry whose file does not exist: exit 2, named, manifest marked" \
  eval 'rc_is 2 && err_has gone.c && grep -q "kind: source-file" "$M/m.yaml"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
