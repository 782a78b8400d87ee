#!/usr/bin/env bash
# CLI contract tests for bespoke: exit codes, help, and error reporting of `bespoke analyze`.
#
# usage: cli_test.sh BESPOKE [CC]
#   BESPOKE  path of the bespoke executable
#   CC       C compiler used to build a program that needs a missing shared library (default: cc)
#
# Bad input must give exit status 2, exactly one line on standard error starting with "bespoke: error: "
# and naming the input (or the missing library), nothing on standard output, and no output file.
# Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
set -u

BESPOKE=${1:?usage: cli_test.sh BESPOKE [CC]}
CC=${2:-cc}
[ -x "$BESPOKE" ] || { echo "cli_test: $BESPOKE is not executable" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-cli-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CACHE=$TMP/cache
mkdir -p "$TMP/in" "$TMP/out"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }

# run ARGS... : runs bespoke with stdout/stderr captured in $TMP/stdout, $TMP/stderr; sets RC.
run() {
  "$BESPOKE" "$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
  RC=$?
}
stderr_lines() { wc -l <"$TMP/stderr" | tr -d ' '; }
show_stderr() { sed 's/^/stderr: /' "$TMP/stderr" | head -5; }

# expect_exit DESC CODE ARGS...
expect_exit() {
  local desc=$1 code=$2
  shift 2
  run "$@"
  if [ "$RC" -eq "$code" ]; then pass "$desc (exit $code)"; else fail "$desc: exit $RC, expected $code" "$(show_stderr)"; fi
}

# expect_input_error DESC NEEDLE INPUT [EXTRA ARGS...]
# `bespoke analyze INPUT -o OUT --cache-dir CACHE EXTRA...` must be an input error naming NEEDLE.
expect_input_error() {
  local desc=$1 needle=$2 input=$3
  shift 3
  local out=$TMP/out/manifest.yaml
  rm -rf "$TMP/out" && mkdir -p "$TMP/out"
  run analyze "$input" -o "$out" --cache-dir "$CACHE" "$@"
  local problems=()
  [ "$RC" -eq 2 ] || problems+=("exit status $RC, expected 2")
  [ "$(stderr_lines)" -eq 1 ] || problems+=("$(stderr_lines) lines on stderr, expected exactly 1")
  local first
  first=$(head -n 1 "$TMP/stderr")
  case "$first" in
    "bespoke: error: "*) ;;
    *) problems+=("stderr does not start with 'bespoke: error: '") ;;
  esac
  grep -qF -- "$needle" "$TMP/stderr" || problems+=("stderr does not name '$needle'")
  [ ! -s "$TMP/stdout" ] || problems+=("something was written to stdout")
  [ ! -e "$out" ] || problems+=("the output file was created")
  [ -z "$(ls -A "$TMP/out")" ] || problems+=("files left in the output directory: $(ls -A "$TMP/out" | tr '\n' ' ')")
  if [ ${#problems[@]} -eq 0 ]; then pass "$desc"; else fail "$desc" "${problems[@]}" "$(show_stderr)"; fi
}

# --- help and command dispatch --------------------------------------------------------------------

for h in --help -h help; do
  run "$h"
  if [ "$RC" -eq 0 ] && grep -q '^usage: bespoke' "$TMP/stdout" && grep -q 'analyze' "$TMP/stdout"; then
    pass "bespoke $h prints usage on stdout (exit 0)"
  else
    fail "bespoke $h: exit $RC or no usage on stdout" "$(show_stderr)"
  fi
done

for cmd in analyze extend verify run decide rewrite boot diff check mcp; do
  run "$cmd" --help
  if [ "$RC" -eq 0 ] && grep -q "usage: bespoke $cmd" "$TMP/stdout"; then
    pass "bespoke $cmd --help (exit 0, usage on stdout)"
  else
    fail "bespoke $cmd --help: exit $RC, or stdout lacks 'usage: bespoke $cmd'" "$(show_stderr)"
  fi
done

expect_exit "bespoke with no command" 2
[ -s "$TMP/stderr" ] && pass "bespoke with no command explains itself on stderr" || fail "bespoke with no command: empty stderr"
expect_exit "unknown command" 2 frobnicate
grep -q "frobnicate" "$TMP/stderr" && pass "unknown command is named on stderr" || fail "unknown command not named on stderr" "$(show_stderr)"

# --- analyze: usage errors ------------------------------------------------------------------------

expect_exit "analyze with no arguments" 2 analyze
[ ! -s "$TMP/stdout" ] && [ -s "$TMP/stderr" ] && pass "analyze with no arguments: message on stderr only" ||
  fail "analyze with no arguments: expected a message on stderr and nothing on stdout"
expect_exit "analyze with an unknown option" 2 analyze /bin/true --frobnicate --cache-dir "$CACHE"
grep -q -- "--frobnicate" "$TMP/stderr" && pass "unknown option is named on stderr" || fail "unknown option not named" "$(show_stderr)"
expect_exit "analyze -o without a file" 2 analyze /bin/true -o
expect_exit "analyze --cache-dir without a directory" 2 analyze /bin/true --cache-dir
expect_exit "analyze with two binaries" 2 analyze /bin/true /bin/ls --cache-dir "$CACHE"
expect_exit "analyze -j 0" 2 analyze /bin/true -j 0 --cache-dir "$CACHE"
expect_exit "analyze -j x" 2 analyze /bin/true -j x --cache-dir "$CACHE"

# --- analyze: bad inputs --------------------------------------------------------------------------

IN=$TMP/in
: >"$IN/empty"
printf '#!/bin/sh\necho hello\n' >"$IN/script.txt"
mkdir -p "$IN/a directory"
head -c 64 /bin/true >"$IN/true.64"
head -c 2000 /bin/true >"$IN/true.2000"
# patch FILE OFFSET BYTE...: overwrite bytes of FILE in place
patch() {
  local f=$1 off=$2
  shift 2
  local b
  for b in "$@"; do
    printf "\\x$b" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
    off=$((off + 1))
  done
}
cp /bin/true "$IN/true32" && patch "$IN/true32" 4 01          # EI_CLASS = ELFCLASS32
cp /bin/true "$IN/true-aarch64" && patch "$IN/true-aarch64" 18 b7 00   # e_machine = EM_AARCH64

expect_input_error "analyze a nonexistent file" "$IN/no-such-file" "$IN/no-such-file"
expect_input_error "analyze a directory" "$IN/a directory" "$IN/a directory"
expect_input_error "analyze an empty file" "$IN/empty" "$IN/empty"
expect_input_error "analyze a text file" "$IN/script.txt" "$IN/script.txt"
expect_input_error "analyze /bin/true truncated to 64 bytes" "$IN/true.64" "$IN/true.64"
expect_input_error "analyze /bin/true truncated to 2000 bytes" "$IN/true.2000" "$IN/true.2000"
expect_input_error "analyze a 32-bit ELF" "$IN/true32" "$IN/true32"
expect_input_error "analyze an aarch64 ELF" "$IN/true-aarch64" "$IN/true-aarch64"
expect_input_error "analyze /dev/null (not a regular file)" "/dev/null" /dev/null
expect_input_error "analyze a bad input with --no-cache" "$IN/empty" "$IN/empty" --no-cache

# A program needing a shared library that no search path holds: build it against a throwaway library,
# then delete the library.
if command -v "$CC" >/dev/null 2>&1; then
  mkdir -p "$TMP/lib"
  echo 'int bespoke_cli_missing(void) { return 0; }' >"$TMP/lib/missing.c"
  echo 'int bespoke_cli_missing(void); int main(void) { return bespoke_cli_missing(); }' >"$TMP/lib/main.c"
  if "$CC" -shared -fPIC -o "$TMP/lib/libbespokeclimissing.so" "$TMP/lib/missing.c" &&
    "$CC" -o "$IN/needs-missing-lib" "$TMP/lib/main.c" -L"$TMP/lib" -lbespokeclimissing; then
    rm -f "$TMP/lib/libbespokeclimissing.so"
    expect_input_error "analyze a binary needing a missing library" "libbespokeclimissing.so" "$IN/needs-missing-lib"
    grep -qF "$IN/needs-missing-lib" "$TMP/stderr" && pass "missing-library error also names the binary" ||
      fail "missing-library error does not name the binary" "$(show_stderr)"
    # The library name comes from the file: one holding a newline must still give a one-line error.
    LC_ALL=C sed -z 's/libbespokeclimissing\.so/libbespoke\nlimissing.so/' "$IN/needs-missing-lib" >"$IN/needs-newline-lib"
    if [ "$(cmp -l "$IN/needs-missing-lib" "$IN/needs-newline-lib" | wc -l)" -eq 1 ]; then
      expect_input_error "analyze a binary needing a library whose name holds a newline" "$IN/needs-newline-lib" "$IN/needs-newline-lib"
    else
      fail "could not patch the DT_NEEDED name of the missing-library test program"
    fi
  else
    fail "could not build the missing-library test program with $CC"
  fi
else
  fail "no C compiler ($CC) to build the missing-library test program"
fi

# --- analyze: a good run --------------------------------------------------------------------------

M1=$TMP/true-1.yaml
M2=$TMP/true-2.yaml
run analyze /bin/true -o "$M1" --cache-dir "$CACHE"
if [ "$RC" -eq 0 ] && [ -s "$M1" ]; then pass "analyze /bin/true -o writes a manifest"; else fail "analyze /bin/true -o: exit $RC" "$(show_stderr)"; fi
[ "$(head -n 1 "$M1" 2>/dev/null)" = "bespoke: 2" ] && pass "manifest's first line is 'bespoke: 2'" ||
  fail "manifest's first line is '$(head -n 1 "$M1" 2>/dev/null)', expected 'bespoke: 2'"
grep -qw "exit_group" "$M1" 2>/dev/null && pass "manifest of /bin/true contains exit_group" || fail "manifest of /bin/true lacks exit_group"
[ ! -s "$TMP/stdout" ] && pass "analyze -o writes nothing on stdout" || fail "analyze -o wrote to stdout"
[ "$(stderr_lines)" -le 1 ] && pass "analyze without -q prints at most a one-line summary (not a tty)" ||
  fail "analyze printed $(stderr_lines) lines on stderr" "$(show_stderr)"
[ -n "$(ls -A "$CACHE" 2>/dev/null)" ] && pass "--cache-dir is used" || fail "--cache-dir $CACHE stayed empty"

run analyze /bin/true -o "$M2" --cache-dir "$CACHE" -q
if [ "$RC" -eq 0 ] && cmp -s "$M1" "$M2"; then pass "two runs give byte-identical manifests (cold and warm cache)"; else
  fail "second run: exit $RC, or manifests differ" "$(diff "$M1" "$M2" 2>&1 | head -5)"; fi
[ ! -s "$TMP/stderr" ] && pass "-q: nothing on stderr" || fail "-q: stderr not empty" "$(show_stderr)"

run analyze /bin/true --no-cache -q
if [ "$RC" -eq 0 ] && cmp -s "$M1" "$TMP/stdout"; then pass "manifest on stdout (--no-cache) equals the -o manifest"; else
  fail "analyze to stdout: exit $RC, or it differs from the -o manifest" "$(diff "$M1" "$TMP/stdout" 2>&1 | head -5)"; fi

run analyze /bin/true -o "$TMP/out/x.yaml" --cache-dir "$CACHE" -q
[ "$RC" -eq 0 ] && [ "$(ls -A "$TMP/out")" = "x.yaml" ] && pass "-o leaves no temporary files beside the manifest" ||
  fail "-o: exit $RC, directory holds: $(ls -A "$TMP/out" | tr '\n' ' ')"

# An existing non-regular output (a FIFO here; /dev/null in practice) is written in place, never replaced.
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/fifo.out" &
reader=$!
run analyze /bin/true -o "$TMP/fifo" --cache-dir "$CACHE" -q
wait "$reader"
[ "$RC" -eq 0 ] && [ -p "$TMP/fifo" ] && [ "$(head -n 1 "$TMP/fifo.out")" = "bespoke: 2" ] &&
  pass "-o FIFO writes through the FIFO and leaves it a FIFO" || fail "-o FIFO: exit $RC, or the FIFO was replaced"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
