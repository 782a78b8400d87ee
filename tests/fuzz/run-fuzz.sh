#!/usr/bin/env bash
# Bounded libFuzzer run of tests/fuzz/elf_fuzzer.cpp (ELF reader + module model builder) under ASan.
#
# usage: run-fuzz.sh [--fuzzer BIN] [--source DIR --build DIR] [--work DIR] [--seconds N]
#   --fuzzer BIN   an already built elf_fuzzer (a tree configured with clang and -DBESPOKE_FUZZ=ON)
#   --source DIR   otherwise: the bespoke source tree, and
#   --build DIR    the second build tree to configure with clang-19, -DBESPOKE_FUZZ=ON and
#                  CMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address -g -O1"; only elf_fuzzer is built there
#   --work DIR     seeds, corpus, crash artifacts and the log (default: a temporary directory, kept on failure)
#   --seconds N    fuzzing time (default: $ELF_FUZZ_SECONDS or 60)
#
# Fails when the fuzzer finds a crash, leak, timeout or out-of-memory input (the reproducer is left in
# WORK/artifacts), or when it did not run for the time asked. Prints the executions per second.
set -euo pipefail

FUZZER="" SRC="" BUILD="" WORK="" SECONDS_TO_RUN=${ELF_FUZZ_SECONDS:-60}
while [ $# -gt 0 ]; do
  case "$1" in
    --fuzzer) FUZZER=$2; shift 2 ;;
    --source) SRC=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --seconds) SECONDS_TO_RUN=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run-fuzz: unknown argument $1" >&2; exit 2 ;;
  esac
done
say() { echo "run-fuzz: $*" >&2; }
die() { echo "run-fuzz: FAIL: $*" >&2; exit 1; }

CLANG=${CLANG:-clang-19}
CLANGXX=${CLANGXX:-clang++-19}

if [ -z "$FUZZER" ]; then
  [ -n "$SRC" ] && [ -n "$BUILD" ] || die "give --fuzzer BIN, or --source DIR and --build DIR"
  command -v "$CLANGXX" >/dev/null || die "$CLANGXX not found (libFuzzer needs clang; apt-get install clang-19)"
  flags="-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer -g -O1"
  # No -Werror here: the warning gate is the project build (GCC); clang-19 with libstdc++ 12 warns inside
  # the standard headers (std::stable_sort's get_temporary_buffer is deprecated).
  configure() { # configure SOURCE_DIR
    CC=$CLANG CXX=$CLANGXX cmake -S "$1" -B "$BUILD" -G Ninja -DBESPOKE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER="$CLANG" -DCMAKE_CXX_COMPILER="$CLANGXX" -DBESPOKE_WERROR=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g"
  }
  say "configuring $BUILD with $CLANGXX, BESPOKE_FUZZ=ON"
  mini="$BUILD-src"
  mkdir -p "$(dirname "$BUILD")"
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
  if [ -n "$home" ] && [ "$home" != "$SRC" ] && [ "$home" != "$mini" ]; then rm -rf "$BUILD"; home=""; fi
  if [ "$home" = "$mini" ] || ! configure "$SRC" >"$BUILD.configure.log" 2>&1; then
    # The full project may be mid-change elsewhere (a subdirectory without its CMakeLists.txt, say). The
    # fuzzer needs only analyzer/ and tests/fuzz/: configure those through a minimal top level instead.
    say "the full project did not configure (see $BUILD.configure.log); using a minimal top level"
    mkdir -p "$mini"
    cat >"$mini/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(bespoke_fuzz LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(LLVM 19.1 REQUIRED CONFIG HINTS /usr/lib/llvm-19/lib/cmake/llvm)
find_package(Threads REQUIRED)
include_directories("$SRC")
include_directories(SYSTEM \${LLVM_INCLUDE_DIRS})
add_definitions(\${LLVM_DEFINITIONS})
option(BESPOKE_FUZZ "" ON)
enable_testing()
add_subdirectory("$SRC/analyzer" analyzer)
add_subdirectory("$SRC/tests/fuzz" tests/fuzz)
EOF
    [ "$home" = "$mini" ] || rm -rf "$BUILD"
    configure "$mini" >"$BUILD.configure.log" 2>&1 || { tail -30 "$BUILD.configure.log" >&2; die "cannot configure the fuzz tree"; }
  fi
  say "building elf_fuzzer"
  cmake --build "$BUILD" --target elf_fuzzer >"$BUILD.build.log" 2>&1 || { tail -40 "$BUILD.build.log" >&2; die "cannot build elf_fuzzer"; }
  FUZZER=$(find "$BUILD" -name elf_fuzzer -type f -perm -u+x | head -n 1)
  [ -n "$FUZZER" ] || die "elf_fuzzer not found in $BUILD"
fi
[ -x "$FUZZER" ] || die "$FUZZER is not executable"

keep=1
if [ -z "$WORK" ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-fuzz.XXXXXX")
  keep=0
fi
mkdir -p "$WORK"
rm -rf "$WORK/seeds" "$WORK/artifacts"
mkdir -p "$WORK/seeds" "$WORK/corpus" "$WORK/artifacts"

# Seeds: real executables and libraries, small hand-built ones, and broken ones.
cp /bin/true "$WORK/seeds/true"
head -c 2000 /bin/true >"$WORK/seeds/true.truncated-2000"
head -c 64 /bin/true >"$WORK/seeds/true.header-only"
if [ -e /bin/busybox ]; then head -c 65536 /bin/busybox >"$WORK/seeds/busybox.head-64k"; fi
CC_SEED=$(command -v cc || command -v gcc || command -v "$CLANG" || true)
if [ -n "$CC_SEED" ]; then
  printf 'void _start(void){__asm__ volatile("mov $39,%%eax\\nsyscall\\nmov $60,%%eax\\nsyscall");}\n' >"$WORK/tiny.c"
  "$CC_SEED" -O1 -static -nostdlib -fno-stack-protector -o "$WORK/seeds/tiny-static" "$WORK/tiny.c" 2>/dev/null || true
  printf 'int f(int x){return x+1;} int (*g)(int)=f;\n' >"$WORK/lib.c"
  "$CC_SEED" -O1 -shared -fPIC -nostdlib -o "$WORK/seeds/tiny-lib.so" "$WORK/lib.c" 2>/dev/null || true
  printf 'int main(void){return 0;}\n' >"$WORK/main.c"
  "$CC_SEED" -O1 -s -o "$WORK/seeds/tiny-dynamic-stripped" "$WORK/main.c" 2>/dev/null || true
fi
say "seeds: $(ls "$WORK/seeds" | tr '\n' ' ')"

LOG=$WORK/fuzz.log
say "fuzzing for ${SECONDS_TO_RUN}s: $FUZZER"
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1} \
  "$FUZZER" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=4096 -timeout=30 -max_len=70000 \
  -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" "$WORK/seeds" >"$LOG" 2>&1
rc=$?
set -e

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n 1)
secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$LOG" | tail -n 1)
peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$LOG" | tail -n 1)
if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$WORK/artifacts")" ]; then
  grep -E 'ERROR|SUMMARY|elf_fuzzer:|==[0-9]+==' "$LOG" | head -20 >&2 || true
  tail -30 "$LOG" >&2
  die "elf_fuzzer exited $rc; reproducers in $WORK/artifacts: $(ls "$WORK/artifacts" | tr '\n' ' ') (log: $LOG)"
fi
[ -n "$runs" ] && [ -n "$secs" ] || { tail -20 "$LOG" >&2; die "no final stats in $LOG"; }
min=$((SECONDS_TO_RUN * 9 / 10))
[ "$secs" -ge "$min" ] || die "the fuzzer ran ${secs}s, expected about ${SECONDS_TO_RUN}s"
[ "$runs" -gt 0 ] || die "no executions"
say "ok: $runs executions in ${secs}s = $((runs / (secs > 0 ? secs : 1))) exec/s, peak RSS ${peak:-?} MB, corpus $(ls "$WORK/corpus" | wc -l) inputs, no crash"
[ "$keep" -eq 1 ] || rm -rf "$WORK"
