# shellcheck shell=bash
# Shared helpers for the corpus workloads (tests/corpus/<app>.sh). Sourced, never run.
#
# A workload script is called in one of four ways:
#   <app>.sh --binary      print the absolute path of the binary bespoke analyzes for this app
#   <app>.sh --analyze-args  print the extra `bespoke analyze` arguments (NUL-separated) the workload sets in
#                          ANALYZE_ARGS before corpus_init: what a user tells bespoke about code the program
#                          chooses at run time (--dlopen DIR, --exec PROG, --observe -- ARGS on other input)
#   <app>.sh TRACE_DIR     run the workload; every traced run leaves TRACE_DIR/<run>.txt (syscall names,
#                          see scripts/strace-syscalls), <run>.log (raw strace) and <run>.execs
#   <app>.sh --help
# It must verify the program's output and exit non-zero (with a message on stderr) when anything is off:
# a workload that silently does nothing would make the ground truth meaningless.
#
# Executed programs: a traced run may execute only BIN (busybox re-execs itself), unless the workload
# declares, with `allow_exec PROG...` after corpus_init, the other programs the app executes (tar runs
# `sh -c xz`, git runs a hook script, make runs `sh -c`). A seccomp filter is inherited across execve,
# so their system calls belong to the app's footprint: strace follows them (-f) and they count in the
# ground truth; each run's report line names the programs it executed. Any other exec fails the run,
# and so does a declared program that no run executed (the declaration would be stale).
#
# Filter mode (soundness): when CORPUS_FILTER_MANIFEST is set, every `trace`/`trace_bg` run executes
#   $CORPUS_BESPOKE run -q --manifest $CORPUS_FILTER_MANIFEST --default-action kill-process -- CMD...
# instead of strace: the workload's output checks are the same, nothing is written to TRACE_DIR and the
# trace checks are skipped. A run fails if it dies of a signal (SIGSYS = a system call outside the
# manifest) and, since a killed child or worker may not fail the workload by itself (a master respawns
# it), after every run and at exit the kernel log (`dmesg`) is searched for new seccomp audit records
# (type=1326) of the app's binary or of a program it executes (`allow_exec`): each one fails the
# workload, naming the process and the system call. Records are
# told apart by their audit serial number (newer than those present at start) and, when this process
# may set its audit login uid (root), by a fresh audit session id that only this workload's processes
# carry, so concurrent tests killing the same binary on purpose do not interfere. If dmesg cannot be
# read, a warning is printed and only exit statuses are checked.
#
# Environment:
#   STRACE_SYSCALLS  path of scripts/strace-syscalls (default: found relative to this file)
#   CORPUS_BUILD     the CMake build directory (needed by the musl-* apps, whose binaries are built there)
#   CORPUS_TIMEOUT   seconds one traced run may take (default 120)
#   CORPUS_FILTER_MANIFEST  the app's manifest: selects filter mode (see above)
#   CORPUS_BESPOKE   the bespoke binary (filter mode only; required there)
#
# Helpers (after `corpus_init APP BINARY "$@"`):
#   allow_exec PROG...     the app executes PROG (a name looked up in PATH, or a path; a script's
#                          `#!` interpreter is allowed with it), see "Executed programs" above
#   trace [--status N] RUN CMD...  run CMD (normally "$BIN" ...) traced (or filtered), in the
#                          foreground; fails unless it exits 0 (or N: diff's 1 for "files differ")
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

die() {
  # Filter mode: a seccomp kill is the likely cause of any failure; name it first.
  if [ "${CORPUS_FILTER:-0}" -eq 1 ] && [ -z "${_IN_AUDIT_CHECK:-}" ]; then _audit_report || true; fi
  echo "corpus[$APP]: FAIL: $*" >&2
  exit 1
}
say() { echo "corpus[$APP]: $*" >&2; }

_on_exit_cmds=()
on_exit() { _on_exit_cmds+=("$1"); }
_corpus_cleanup() {
  local rc=$? i
  set +e
  for ((i = ${#_on_exit_cmds[@]} - 1; i >= 0; i--)); do eval "${_on_exit_cmds[$i]}"; done
  if [ "$rc" -eq 0 ] && [ "${CORPUS_FILTER:-0}" -eq 0 ]; then _exec_unused_check || rc=1; fi
  # Filter mode: a process killed after the last check (or while the workload was failing anyway).
  if [ "${CORPUS_FILTER:-0}" -eq 1 ] && [ -n "${_AUDIT_BASE:-}" ]; then
    sleep 0.2   # the kernel's audit thread prints asynchronously
    _audit_report && rc=1
  fi
  [ -n "${WORK:-}" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  exit "$rc"
}

corpus_init() {
  APP="$1"; BIN="$2"; shift 2
  case "${1:-}" in
    --binary) echo "$BIN"; exit 0 ;;
    --analyze-args) [ -z "${ANALYZE_ARGS+set}" ] || printf '%s\0' "${ANALYZE_ARGS[@]}"; exit 0 ;;
    -h|--help)
      echo "usage: $0 TRACE_DIR | --binary"
      echo "Corpus workload for '$APP' (analyzed binary: $BIN). See tests/corpus/lib.sh."
      exit 0 ;;
    ""|-*) echo "usage: $0 TRACE_DIR | --binary | --help" >&2; exit 2 ;;
  esac
  TRACE_DIR="$1"
  [ -x "$BIN" ] || die "binary $BIN not found or not executable (examples are built by cmake --build BUILD; corpus-check takes --build BUILD)"
  if [ -n "${CORPUS_FILTER_MANIFEST:-}" ]; then
    CORPUS_FILTER=1
    [ -f "$CORPUS_FILTER_MANIFEST" ] && [ -r "$CORPUS_FILTER_MANIFEST" ] ||
      die "CORPUS_FILTER_MANIFEST: manifest $CORPUS_FILTER_MANIFEST not found or not readable"
    [ -n "${CORPUS_BESPOKE:-}" ] && [ -f "$CORPUS_BESPOKE" ] && [ -x "$CORPUS_BESPOKE" ] ||
      die "filter mode needs CORPUS_BESPOKE, the bespoke binary (now: '${CORPUS_BESPOKE:-}')"
    CORPUS_FILTER_MANIFEST="$(cd "$(dirname "$CORPUS_FILTER_MANIFEST")" && pwd)/$(basename "$CORPUS_FILTER_MANIFEST")"
    CORPUS_BESPOKE="$(cd "$(dirname "$CORPUS_BESPOKE")" && pwd)/$(basename "$CORPUS_BESPOKE")"
  else
    CORPUS_FILTER=0
    [ -x "$STRACE_SYSCALLS" ] || die "strace-syscalls not found at $STRACE_SYSCALLS"
  fi
  mkdir -p "$TRACE_DIR"
  TRACE_DIR="$(cd "$TRACE_DIR" && pwd)"
  BIN_REAL="$(readlink -f "$BIN")"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/corpus-$APP.XXXXXX")"
  trap _corpus_cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  [ "$CORPUS_FILTER" -eq 0 ] || _audit_init
  cd "$WORK"
}

# --- programs the app executes ---------------------------------------------------------------------
_EXEC_ALLOWED=()   # real paths of the declared programs (and of their scripts' interpreters)
_EXEC_DECLARED=()  # what the workload wrote, index-aligned with _EXEC_PATHS
_EXEC_PATHS=()     # the declared programs' real paths (a script's own path, not its interpreter)
_EXEC_USED=" "     # real paths some run executed
allow_exec() {
  local prog path interp
  for prog in "$@"; do
    if [[ "$prog" == */* ]]; then path="$prog"; else path="$(command -v -- "$prog" 2>/dev/null || true)"; fi
    [ -n "$path" ] && [ -f "$path" ] && [ -x "$path" ] ||
      die "allow_exec: '$prog' is not an executable file${path:+ ($path)}"
    path="$(readlink -f "$path")"
    _EXEC_DECLARED+=("$prog"); _EXEC_PATHS+=("$path"); _EXEC_ALLOWED+=("$path")
    # A script runs as its interpreter: that is the process the kernel (and its audit records) sees.
    if [ "$(head -c 2 "$path")" = '#!' ]; then
      interp="$(head -n 1 "$path" | sed 's/^#! *//; s/[ \t].*//')"
      [ -x "$interp" ] || die "allow_exec: the interpreter '$interp' of $path is not executable"
      _EXEC_ALLOWED+=("$(readlink -f "$interp")")
    fi
  done
}
# The declared program (as the workload named it) that real path P is, or nothing.
_exec_declared_as() {
  local i
  for ((i = 0; i < ${#_EXEC_PATHS[@]}; i++)); do
    [ "${_EXEC_PATHS[$i]}" != "$1" ] || { echo "${_EXEC_DECLARED[$i]}"; return 0; }
  done
  return 1
}
_exec_unused_check() {
  local i bad=0
  for ((i = 0; i < ${#_EXEC_PATHS[@]}; i++)); do
    case "$_EXEC_USED" in *" ${_EXEC_PATHS[$i]} "*) continue ;; esac
    echo "corpus[$APP]: FAIL: allow_exec ${_EXEC_DECLARED[$i]} (${_EXEC_PATHS[$i]}), but no run executed it" >&2
    bad=1
  done
  return "$bad"
}

# --- filter mode: seccomp kills in the kernel log -------------------------------------------------
_AUDIT_BASE=""   # audit serial numbers up to this one were there before (empty: dmesg not usable)
_AUDIT_SES=""    # this workload's own audit session id (empty: not available, match by exe only)
_audit_init() {
  local luid
  # A fresh audit session for this shell and everything it starts: write our login uid back.
  luid="$(cat /proc/self/loginuid 2>/dev/null || true)"
  [ "$luid" != 4294967295 ] || luid="$(id -u)"
  if [ -n "$luid" ] && { echo "$luid" >/proc/self/loginuid; } 2>/dev/null; then
    _AUDIT_SES="$(cat /proc/self/sessionid 2>/dev/null || true)"
    [ "$_AUDIT_SES" != 4294967295 ] || _AUDIT_SES=""
  fi
  if ! dmesg >/dev/null 2>&1; then
    say "WARNING: cannot read the kernel log (dmesg): seccomp kills of child processes go undetected;" \
      "only exit statuses are checked"
    return 0
  fi
  if pgrep -x auditd >/dev/null 2>&1; then
    say "WARNING: auditd is running: seccomp audit records go to its log, not to dmesg; kills of child" \
      "processes may go undetected"
  fi
  case " $(cat /proc/sys/kernel/seccomp/actions_logged 2>/dev/null) " in
    *" kill_process "*) ;;
    *) say "WARNING: /proc/sys/kernel/seccomp/actions_logged lacks kill_process: the kernel will not log kills" ;;
  esac
  _AUDIT_BASE="$(dmesg 2>/dev/null | sed -n 's/.*audit([0-9.]*:\([0-9]*\)).*/\1/p' | sort -n | tail -n 1)"
  : "${_AUDIT_BASE:=0}"
  say "filter mode: $(basename "$CORPUS_FILTER_MANIFEST") via $CORPUS_BESPOKE (audit session ${_AUDIT_SES:-none}, serial > $_AUDIT_BASE)"
}

# Prints one line per new seccomp audit record (type=1326) of BIN or of a program allowed by allow_exec
# in this workload's session, with the system call's name (from analyzer/syscalls_x86_64.inc), except
# those already printed.
# Returns 0 if there was at least one, 1 if none (or dmesg is not usable).
_AUDIT_SEEN=" "  # serials of the records already printed
_audit_report() {
  [ -n "$_AUDIT_BASE" ] || return 1
  local exes="" p lines
  for p in "$BIN_REAL" "${_EXEC_ALLOWED[@]}"; do
    # each path as audit may print it: quoted, or in hex when it has odd characters
    exes+="$p $(printf %s "$p" | od -An -tx1 | tr -d ' \n' | tr a-f A-F) "
  done
  lines="$(dmesg 2>/dev/null | awk -v base="$_AUDIT_BASE" -v seen="$_AUDIT_SEEN" -v ses="$_AUDIT_SES" \
    -v exes="$exes" -v table="$CORPUS_LIB_DIR/../../analyzer/syscalls_x86_64.inc" '
    function field(k) {  # value of key k= in the current line ("" if absent)
      if (match($0, " " k "=[^ ]*")) return substr($0, RSTART + length(k) + 2, RLENGTH - length(k) - 2)
      return ""
    }
    function call(nr) { return sprintf("system call %d (%s)", nr, nr in name ? name[nr] : "?") }
    BEGIN {
      while ((getline l < table) > 0)
        if (match(l, /^X\([a-z0-9_]+, [0-9]+\)/)) { split(substr(l, 3, RLENGTH - 3), p, ", "); name[p[2]] = p[1] }
      n = split(exes, x, " ")
      for (i = 1; i <= n; i += 2) { wanted[x[i]] = x[i]; wanted[x[i + 1]] = x[i] }
    }
    /type=1326/ {
      if (!match($0, /audit\([0-9.]+:[0-9]+\)/)) next
      s = substr($0, RSTART, RLENGTH); sub(/.*:/, "", s); sub(/\)/, "", s); s += 0
      if (s <= base || index(seen, " " s " ")) next
      e = field("exe"); gsub(/"/, "", e)
      if (!(e in wanted)) next
      exe = wanted[e]
      if (ses != "" && field("ses") != ses) next
      nr = field("syscall") + 0; arch = field("arch")
      if (arch == "c000003e" && nr >= 1073741824) what = "x32 " call(nr - 1073741824)
      else if (arch == "c000003e") what = call(nr)
      else what = sprintf("system call %d of foreign arch %s", nr, arch)
      printf("%d SECCOMP KILL: %s (pid %s, comm %s, sig %s) made %s, which is not in the manifest\n",
             s, exe, field("pid"), field("comm"), field("sig"), what)
    }')"
  [ -n "$lines" ] || return 1
  while read -r serial l; do
    _AUDIT_SEEN+="$serial "
    echo "corpus[$APP]: FAIL: $l [audit serial $serial]" >&2
  done <<<"$lines"
  return 0
}

# Fails the workload if new seccomp kills of BIN are in the kernel log. WAIT: seconds to wait for the
# first record (a run that just died of SIGSYS has one on its way).
_audit_check() {
  local desc="$1" wait="${2:-0}" i _IN_AUDIT_CHECK=1
  for ((i = 0; i <= wait * 10; i++)); do
    if _audit_report; then
      die "$desc: killed by the seccomp filter of $(basename "$CORPUS_FILTER_MANIFEST") (see above; a soundness bug: the analysis missed the call)"
    fi
    [ "$i" -lt $((wait * 10)) ] && sleep 0.1
  done
  return 0
}

# Fails unless RC (the status of `timeout ... CMD`) is WANT (default 0); names the signal if CMD died of one.
_check_status() {
  local desc="$1" rc="$2" want="${3:-0}" sig
  [ "$rc" -ne "$want" ] || return 0
  [ "$rc" -ne 124 ] || die "$desc timed out after ${CORPUS_TIMEOUT}s"
  # A run that died of SIGSYS (128 + 31) has its audit record on the way: wait up to 2 s for it.
  if [ "$CORPUS_FILTER" -eq 1 ]; then _audit_check "$desc" "$(( rc == 159 ? 2 : 0 ))"; fi
  if [ "$rc" -gt 128 ] && [ "$rc" -le 192 ]; then
    sig="$(kill -l "$((rc - 128))" 2>/dev/null || echo "$((rc - 128))")"
    if [ "$sig" = SYS ] && [ "$CORPUS_FILTER" -eq 1 ]; then
      die "$desc was killed by SIGSYS (status $rc): a system call outside the manifest $CORPUS_FILTER_MANIFEST" \
        "(seccomp kill-process); $([ -n "$_AUDIT_BASE" ] && echo "no audit record of it in dmesg" ||
          echo "dmesg is not readable") to name the call"
    fi
    die "$desc died of signal SIG$sig (status $rc)"
  fi
  die "$desc exited with status $rc$([ "$want" -eq 0 ] || echo ", not $want")"
}

# The command line of one run: under strace (ground truth) or under the manifest's seccomp filter.
_run_cmd() {
  local run="$1"; shift
  if [ "$CORPUS_FILTER" -eq 1 ]; then
    _CMD=("$CORPUS_BESPOKE" run -q --manifest "$CORPUS_FILTER_MANIFEST" --default-action kill-process -- "$@")
  else
    _CMD=("$STRACE_SYSCALLS" --log "$TRACE_DIR/$run.log" --execs "$TRACE_DIR/$run.execs" "$TRACE_DIR/$run.txt" -- "$@")
  fi
}
# After a run that exited 0: the trace checks, or (filter mode) the kernel log.
_after_run() {
  local run="$1"
  if [ "$CORPUS_FILTER" -eq 1 ]; then
    _audit_check "run '$run'"
    say "run '$run': passed under the seccomp filter"
  else
    _check_run "$run"
  fi
}

# Checks one finished run: the root process really ran BIN, and every later successful exec was of
# BIN (busybox re-execs itself through /proc/self/exe) or of a program declared with allow_exec, so no
# undeclared code is in the ground truth. A relative exec path is taken relative to the workload's
# current directory (run the app from the directory it executes relative paths in).
_check_run() {
  local run="$1" first exe real as execd=()
  first="$(sed -n '1s/^[0-9 ]*execve("\([^"]*\)".*/\1/p' "$TRACE_DIR/$run.log")"
  [ -n "$first" ] || die "run '$run': no initial execve in $TRACE_DIR/$run.log"
  [ "$(readlink -f "$first")" = "$BIN_REAL" ] || die "run '$run' traced $first, not $BIN"
  while IFS= read -r exe; do
    [ "$exe" = /proc/self/exe ] && continue
    real="$(_exec_real_path "$exe")"
    [ "$real" != "$BIN_REAL" ] || continue
    as="$(_exec_declared_as "$real")" ||
      die "run '$run' executed a program it did not declare ($exe): its system calls would pollute the" \
        "ground truth (if the app really executes it, declare it with allow_exec)"
    case " ${execd[*]} " in *" $as "*) ;; *) execd+=("$as") ;; esac
    _EXEC_USED+="$real "
  done <"$TRACE_DIR/$run.execs"
  [ -s "$TRACE_DIR/$run.txt" ] || die "run '$run' recorded no system calls"
  say "run '$run': $(wc -l <"$TRACE_DIR/$run.txt") distinct system calls${execd[0]:+ (with the programs it executed: ${execd[*]})}"
}
_exec_real_path() {
  local exe="$1"
  [[ "$exe" == /* ]] || exe="$PWD/$exe"
  readlink -f "$exe" 2>/dev/null || echo "$exe"
}

trace() {
  local want=0 run rc=0 _CMD
  if [ "$1" = --status ]; then
    [[ "${2:-}" =~ ^[0-9]+$ ]] && [ "$2" -le 125 ] || die "trace --status needs an exit status 0..125, not '${2:-}'"
    want="$2"; shift 2
  fi
  run="$1"; shift
  _run_cmd "$run" "$@"
  timeout -k 5 "$CORPUS_TIMEOUT" "${_CMD[@]}" || rc=$?
  _check_status "run '$run' ($*)" "$rc" "$want"
  _after_run "$run"
}

TRACE_PID=""
TRACE_RUN=""
trace_bg() {
  local _CMD
  TRACE_RUN="$1"; shift
  _run_cmd "$TRACE_RUN" "$@"
  timeout -k 5 "$CORPUS_TIMEOUT" "${_CMD[@]}" &
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
  _check_status "background run '$TRACE_RUN'" "$rc"
  _after_run "$TRACE_RUN"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
  local secs="$1" desc="$2" i; shift 2
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$TRACE_PID" ] && ! kill -0 "$TRACE_PID" 2>/dev/null; then
      [ "$CORPUS_FILTER" -eq 0 ] || _audit_check "$desc: the server exited early" 2
      die "$desc: the traced server exited early"
    fi
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
