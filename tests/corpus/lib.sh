# shellcheck shell=bash
# Shared helpers for the corpus workloads (tests/corpus/<app>.sh). Sourced, never run.
#
# A workload script is called in one of three ways:
#   <app>.sh --binary      print the absolute path of the binary bespoke analyzes for this app
#   <app>.sh TRACE_DIR     run the workload; every traced run leaves TRACE_DIR/<run>.txt (syscall names,
#                          see scripts/strace-syscalls), <run>.log (raw strace) and <run>.execs
#   <app>.sh --help
# It must verify the program's output and exit non-zero (with a message on stderr) when anything is off:
# a workload that silently does nothing would make the ground truth meaningless.
#
# Environment:
#   STRACE_SYSCALLS  path of scripts/strace-syscalls (default: found relative to this file)
#   CORPUS_BUILD     the CMake build directory (needed by the musl-* apps, whose binaries are built there)
#   CORPUS_TIMEOUT   seconds one traced run may take (default 120)
#
# Helpers (after `corpus_init APP BINARY "$@"`):
#   trace RUN CMD...       run CMD (normally "$BIN" ...) traced, in the foreground; fails unless it exits 0
#   trace_bg RUN CMD...    the same in the background (servers); sets TRACE_PID
#   trace_wait [SECS]      wait for the background run to exit by itself; fails unless it exits 0
#   on_exit CMD            run CMD (a string, eval'ed) when the workload exits, even on failure
#   free_port              print a free TCP port on 127.0.0.1
#   wait_for SECS DESC CMD...  retry CMD every 0.1 s until it succeeds; fail after SECS
#   expect_eq DESC EXPECTED ACTUAL, expect_file_eq DESC FILE1 FILE2, die MSG
# WORK is a private temporary directory (removed at exit); cwd is WORK.

set -euo pipefail

CORPUS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${STRACE_SYSCALLS:=$CORPUS_LIB_DIR/../../scripts/strace-syscalls}"
: "${CORPUS_TIMEOUT:=120}"

die() { echo "corpus[$APP]: FAIL: $*" >&2; exit 1; }
say() { echo "corpus[$APP]: $*" >&2; }

_on_exit_cmds=()
on_exit() { _on_exit_cmds+=("$1"); }
_corpus_cleanup() {
  local rc=$? i
  set +e
  for ((i = ${#_on_exit_cmds[@]} - 1; i >= 0; i--)); do eval "${_on_exit_cmds[$i]}"; done
  [ -n "${WORK:-}" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  exit "$rc"
}

corpus_init() {
  APP="$1"; BIN="$2"; shift 2
  case "${1:-}" in
    --binary) echo "$BIN"; exit 0 ;;
    -h|--help)
      echo "usage: $0 TRACE_DIR | --binary"
      echo "Corpus workload for '$APP' (analyzed binary: $BIN). See tests/corpus/lib.sh."
      exit 0 ;;
    ""|-*) echo "usage: $0 TRACE_DIR | --binary | --help" >&2; exit 2 ;;
  esac
  TRACE_DIR="$1"
  [ -x "$BIN" ] || die "binary $BIN not found or not executable (examples are built by cmake --build BUILD; corpus-check takes --build BUILD)"
  [ -x "$STRACE_SYSCALLS" ] || die "strace-syscalls not found at $STRACE_SYSCALLS"
  mkdir -p "$TRACE_DIR"
  TRACE_DIR="$(cd "$TRACE_DIR" && pwd)"
  BIN_REAL="$(readlink -f "$BIN")"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/corpus-$APP.XXXXXX")"
  trap _corpus_cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  cd "$WORK"
}

# Checks one finished run: the root process really ran BIN, and every later successful exec was of
# BIN too (busybox re-execs itself through /proc/self/exe), so no foreign code is in the ground truth.
_check_run() {
  local run="$1" first exe
  first="$(sed -n '1s/^[0-9 ]*execve("\([^"]*\)".*/\1/p' "$TRACE_DIR/$run.log")"
  [ -n "$first" ] || die "run '$run': no initial execve in $TRACE_DIR/$run.log"
  [ "$(readlink -f "$first")" = "$BIN_REAL" ] || die "run '$run' traced $first, not $BIN"
  while IFS= read -r exe; do
    [ "$exe" = /proc/self/exe ] && continue
    [ "$(readlink -f "$exe" 2>/dev/null || echo "$exe")" = "$BIN_REAL" ] ||
      die "run '$run' executed a foreign program ($exe): its system calls would pollute the ground truth"
  done <"$TRACE_DIR/$run.execs"
  [ -s "$TRACE_DIR/$run.txt" ] || die "run '$run' recorded no system calls"
  say "run '$run': $(wc -l <"$TRACE_DIR/$run.txt") distinct system calls"
}

trace() {
  local run="$1" rc=0; shift
  timeout -k 5 "$CORPUS_TIMEOUT" "$STRACE_SYSCALLS" --log "$TRACE_DIR/$run.log" --execs "$TRACE_DIR/$run.execs" \
    "$TRACE_DIR/$run.txt" -- "$@" || rc=$?
  [ "$rc" -ne 124 ] || die "run '$run' ($*) timed out after ${CORPUS_TIMEOUT}s"
  [ "$rc" -eq 0 ] || die "run '$run' ($*) exited with status $rc"
  _check_run "$run"
}

TRACE_PID=""
TRACE_RUN=""
trace_bg() {
  TRACE_RUN="$1"; shift
  timeout -k 5 "$CORPUS_TIMEOUT" "$STRACE_SYSCALLS" --log "$TRACE_DIR/$TRACE_RUN.log" \
    --execs "$TRACE_DIR/$TRACE_RUN.execs" "$TRACE_DIR/$TRACE_RUN.txt" -- "$@" &
  TRACE_PID=$!
  # If the workload fails before the server exits by itself: stop the timeout/strace/server group.
  on_exit '_stop_bg'
}
_stop_bg() {
  [ -n "$TRACE_PID" ] || return 0
  if kill -0 "$TRACE_PID" 2>/dev/null; then
    say "stopping background run '$TRACE_RUN' (pid $TRACE_PID)"
    kill -TERM "$TRACE_PID" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$TRACE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TRACE_PID" 2>/dev/null
  fi
  wait "$TRACE_PID" 2>/dev/null
  TRACE_PID=""
}
trace_wait() {
  local secs="${1:-30}" i rc=0
  for ((i = 0; i < secs * 10; i++)); do kill -0 "$TRACE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$TRACE_PID" 2>/dev/null && die "background run '$TRACE_RUN' did not exit within ${secs}s"
  wait "$TRACE_PID" || rc=$?
  TRACE_PID=""
  [ "$rc" -eq 0 ] || die "background run '$TRACE_RUN' exited with status $rc"
  _check_run "$TRACE_RUN"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
  local secs="$1" desc="$2" i; shift 2
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$TRACE_PID" ] && ! kill -0 "$TRACE_PID" 2>/dev/null; then die "$desc: the traced server exited early"; fi
    sleep 0.1
  done
  die "$desc: not ready after ${secs}s"
}

expect_eq() {
  [ "$2" = "$3" ] || die "$1: expected '$2', got '$3'"
}
expect_file_eq() {
  cmp -s "$2" "$3" || die "$1: $2 and $3 differ"
}
