#!/usr/bin/env bash
# CLI contract tests for bespoke extend / verify / run: the gate, exit codes, one-line input errors,
# determinism, a libseccomp-made filter proven through the CLI, and real programs under real filters.
#
# usage: filter_test.sh BESPOKE SECCOMP_EXPORT
#   BESPOKE         path of the bespoke executable
#   SECCOMP_EXPORT  the tests/cli/seccomp_export helper (libseccomp's filter for a list of syscalls)
# Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
set -u

BESPOKE=${1:?usage: filter_test.sh BESPOKE SECCOMP_EXPORT}
EXPORT=${2:?usage: filter_test.sh BESPOKE SECCOMP_EXPORT}
[ -x "$BESPOKE" ] || { echo "filter_test: $BESPOKE is not executable" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-filter-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CACHE=$TMP/cache
mkdir -p "$TMP/out"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }
run() {
  "$BESPOKE" "$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
  RC=$?
}
show() { sed 's/^/stderr: /' "$TMP/stderr" | head -5; sed 's/^/stdout: /' "$TMP/stdout" | head -5; }
check() { # check DESC CONDITION...
  local desc=$1; shift
  if "$@"; then pass "$desc"; else fail "$desc" "exit $RC" "$(show)"; fi
}
rc_is() { [ "$RC" -eq "$1" ]; }
out_has() { grep -qF -- "$1" "$TMP/stdout"; }
err_has() { grep -qF -- "$1" "$TMP/stderr"; }
one_line_error() { # exit 2, one line on stderr starting with "bespoke", naming $1, nothing on stdout
  [ "$RC" -eq 2 ] && [ "$(wc -l <"$TMP/stderr")" -eq 1 ] && grep -q '^bespoke' "$TMP/stderr" &&
    grep -qF -- "$1" "$TMP/stderr" && [ ! -s "$TMP/stdout" ]
}
out_dir_empty() { [ -z "$(ls -A "$TMP/out")" ]; }

# --- manifests ------------------------------------------------------------------------------------
M=$TMP/true.yaml
"$BESPOKE" analyze /bin/true -o "$M" --cache-dir "$CACHE" -q || { echo "FAIL: cannot analyze /bin/true"; exit 1; }
ML=$TMP/ls.yaml
"$BESPOKE" analyze /bin/ls -o "$ML" --cache-dir "$CACHE" -q || { echo "FAIL: cannot analyze /bin/ls"; exit 1; }
# The syscall names of a manifest, in order.
names() { sed -n '/^syscalls:/,/^[a-z]/s/^  - name: \([a-z0-9_]*\)$/\1/p' "$1"; }
[ "$(names "$M" | wc -l)" -gt 5 ] && pass "manifest of /bin/true lists syscalls" || fail "cannot read syscall names from $M"

# --- extend ---------------------------------------------------------------------------------------
for fmt in bpf c oci systemd spo; do
  run extend "$M" --format $fmt -o "$TMP/out/true.$fmt"
  check "extend --format $fmt writes a file (exit 0)" eval 'rc_is 0 && [ -s "$TMP/out/true.$fmt" ]'
done
check "extend prints a one-line summary with the proof" eval 'tail -n 1 "$TMP/stderr" | grep -q "proven equivalent"'
if grep -q '^unresolved: \[\]' "$M"; then
  check "extend prints only the summary when nothing is unresolved" eval '[ "$(wc -l <"$TMP/stderr")" -eq 1 ]'
else
  check "extend notes the manifest's unresolved sites" eval '[ "$(wc -l <"$TMP/stderr")" -eq 2 ] && err_has "unresolved site"'
fi
B=$TMP/true.bpf
cp "$TMP/out/true.bpf" "$B"
check "raw BPF is a whole number of 8-byte instructions" eval '[ $(( $(stat -c %s "$B") % 8 )) -eq 0 ]'
run extend "$M" --format bpf -o "$TMP/true-again.bpf" -q
check "extend is deterministic (byte-identical BPF)" cmp -s "$B" "$TMP/true-again.bpf"
run extend "$M" --format oci -o - -q
check "extend -o - writes to stdout" eval 'rc_is 0 && out_has "SCMP_ACT_ALLOW" && out_has "SCMP_ARCH_X86_64"'
check "the OCI profile is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/out/true.oci"
run extend "$M" --format c -o "$TMP/out/true.h" -q
check "the C header compiles" eval 'printf "#include \"%s\"\nint main(void){return 0;}\n" "$TMP/out/true.h" >"$TMP/h.c" && cc -c -o "$TMP/h.o" "$TMP/h.c"'
rm -f "$TMP/out/true.h" "$TMP/h.c" "$TMP/h.o"

rm -rf "$TMP/out" && mkdir -p "$TMP/out"
run extend "$M" --format yaml -o "$TMP/out/x"
check "extend: unknown format is a usage error" eval 'rc_is 2 && err_has "yaml" && out_dir_empty'
run extend "$M" --format bpf -o "$TMP/out/x" --default-action frobnicate
check "extend: unknown default action, exit 2, names it" eval 'rc_is 2 && err_has "frobnicate" && out_dir_empty'
run extend "$M" --format bpf -o "$TMP/out/x" --default-action allow
check "extend: default action allow is refused" eval 'rc_is 2 && out_dir_empty'
run extend "$M" --format bpf -o "$TMP/out/x" --default-action errno:4096
check "extend: errno above 4095 is refused" eval 'rc_is 2 && out_dir_empty'
run extend "$M" --format bpf
check "extend: missing -o is a usage error" rc_is 2
sed 's/^  - name: exit_group$/  - name: exit_grope/' "$M" >"$TMP/unknown.yaml"
run extend "$TMP/unknown.yaml" --format bpf -o "$TMP/out/x"
check "extend: unknown syscall name in the manifest, one-line error naming it" eval 'one_line_error exit_grope && out_dir_empty'
printf 'bespoke: 1\napp: [\n' >"$TMP/broken.yaml"
run extend "$TMP/broken.yaml" --format bpf -o "$TMP/out/x"
check "extend: malformed manifest, one-line error naming the file" eval 'one_line_error broken.yaml && out_dir_empty'
run extend "$TMP/no-such.yaml" --format bpf -o "$TMP/out/x"
check "extend: missing manifest, one-line error" eval 'one_line_error no-such.yaml && out_dir_empty'
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/fifo.out" &
reader=$!
run extend "$M" --format bpf -o "$TMP/fifo" -q
wait "$reader"
check "extend -o FIFO writes through it and leaves it a FIFO" eval 'rc_is 0 && [ -p "$TMP/fifo" ] && cmp -s "$TMP/fifo.out" "$B"'
run extend "$M" --format bpf -o "$TMP/no-such-dir/x.bpf"
check "extend: unwritable output, exit 2" eval 'rc_is 2 && [ ! -e "$TMP/no-such-dir" ]'

# --- argument facts -------------------------------------------------------------------------------
# /bin/true's manifest with every fact made `any` (M0), and an edited copy listing ioctl requests only.
# (A value list with sites is written one value per line, 8 spaces in: those lines go.)
M0=$TMP/true-any.yaml
sed -E -e '/^        - /d' -e 's/^      ([a-z_]+):.*$/      \1: any/' "$M" >"$M0"
facts() { sed "/^  - name: ioctl$/,/^  - name:/s/^      request: any$/      request: $1/" "$M0" >"$2"; }
MA=$TMP/true-args.yaml
facts '["0x5401"]' "$MA"
grep -q 'request: \["0x5401"\]' "$MA" && pass "the edited manifest lists ioctl requests" || fail "cannot edit $MA"
run extend "$MA" --format bpf -o "$TMP/args.bpf"
check "extend: a syscall with value facts gets argument checks (summary counts them)" \
  eval 'rc_is 0 && err_has "(1 with argument checks)"'
run extend "$M0" --format bpf -o "$TMP/any.bpf" -q
run extend "$MA" --format bpf -o "$TMP/noargs.bpf" -q --no-args
check "extend --no-args: the filter of the same manifest without facts (byte-identical)" cmp -s "$TMP/any.bpf" "$TMP/noargs.bpf"
check "extend: facts change the filter" eval '! cmp -s "$TMP/args.bpf" "$TMP/any.bpf"'
run verify --manifest "$MA" --filter "$TMP/args.bpf"
check "verify proves the argument-checked filter (exit 0)" eval 'rc_is 0 && out_has PROVEN'
run verify --manifest "$MA" --filter "$TMP/args.bpf" --no-args
check "verify --no-args: the checked filter is not the unconditional policy (exit 1), counterexample on ioctl" \
  eval 'rc_is 1 && out_has "NOT EQUIVALENT" && out_has "ioctl"'
run extend "$MA" --format oci -o - -q
check "extend --format oci: ioctl's requests as SCMP_CMP_MASKED_EQ on the low 32 bits" \
  eval 'rc_is 0 && out_has "\"value\": 4294967295, \"valueTwo\": 21505, \"op\": \"SCMP_CMP_MASKED_EQ\""'
run extend "$MA" --format systemd -o - -q
check "extend --format systemd: says ioctl is unconditional there" eval 'rc_is 0 && out_has "# WARNING: ioctl"'
run run --manifest "$MA" -- /bin/true
check "run: /bin/true under the argument-checked filter (exit 0)" rc_is 0
facts '["TIOCSTY"]' "$TMP/bad-value.yaml"
run extend "$TMP/bad-value.yaml" --format bpf -o "$TMP/out/x"
check "extend: a fact naming an unknown constant, one-line error naming manifest, syscall, argument, value" \
  eval 'one_line_error "bad-value.yaml: manifest syscall '"'ioctl'"', argument '"'request'"': value '"'TIOCSTY'"'" && out_dir_empty'
facts '["TCGETS"]' "$TMP/named.yaml"
run extend "$TMP/named.yaml" --format bpf -o "$TMP/named.bpf" -q
check "extend: a constant's name is its value (TCGETS is 0x5401: the same filter)" \
  eval 'rc_is 0 && cmp -s "$TMP/named.bpf" "$TMP/args.bpf"'
facts '["0x100005401"]' "$TMP/big-value.yaml"
run extend "$TMP/big-value.yaml" --format bpf -o "$TMP/out/x"
check "extend: a fact value beyond 32 bits, exit 2" eval 'one_line_error "out of range for a 32-bit argument" && out_dir_empty'
sed "/^  - name: ioctl$/,/^  - name:/s/^      request: any$/      cmd: [\"1\"]/" "$M0" >"$TMP/bad-arg.yaml"
run run --manifest "$TMP/bad-arg.yaml" -- /bin/true
check "run: a fact naming an argument ioctl does not record, exit 2, names it" \
  eval 'one_line_error "argument '"'cmd'"': not a recorded argument" && [ ! -s "$TMP/stdout" ]'
run extend "$TMP/bad-value.yaml" --format bpf -o "$TMP/out/x" --no-args -q
check "extend --no-args does not read the facts (exit 0)" eval 'rc_is 0 && [ -s "$TMP/out/x" ]'
rm -f "$TMP/out/x"

# --- verify ---------------------------------------------------------------------------------------
run verify --manifest "$M" --filter "$B"
check "verify proves bespoke's own filter (exit 0)" eval 'rc_is 0 && out_has PROVEN && out_has "constant-action cache"'
run verify --manifest "$M" --filter "$B" --default-action errno:1
check "verify with another default action: not equivalent (exit 1) with a counterexample" \
  eval 'rc_is 1 && out_has "NOT EQUIVALENT" && out_has "nr=0x" && out_has "errno:1"'
run verify --manifest "$ML" --filter "$B"
check "verify /bin/true's filter against /bin/ls's manifest: not equivalent (exit 1)" eval 'rc_is 1 && out_has "NOT EQUIVALENT"'

# Cross-check: libseccomp's filters for the same policies, through `bespoke verify`: five real manifests x
# SCMP_FLTATR_CTL_OPTIMIZE 0/1/2 x default kill-process / errno:38 = 30 policies, each proven; and for each
# manifest a filter lacking one syscall, refused with a counterexample naming it.
mapfile -t SYS < <(names "$M")
xmanifests=("$M" "$ML")
for bin in /usr/bin/cat /usr/bin/sort /usr/bin/cp; do
  x=$TMP/$(basename "$bin").yaml
  "$BESPOKE" analyze "$bin" -o "$x" --cache-dir "$CACHE" -q && xmanifests+=("$x") || fail "cannot analyze $bin"
done
proven=0 total=0
for xm in "${xmanifests[@]}"; do
  mapfile -t XS < <(names "$xm")
  for opt in 0 1 2; do
    for def in kill-process errno:38; do
      total=$((total + 1))
      if ! "$EXPORT" "$TMP/lib.bpf" $opt $def "${XS[@]}"; then
        fail "seccomp_export could not build libseccomp's filter for $(basename "$xm") (optimize $opt, $def)"
        continue
      fi
      # seccomp_export allows each listed syscall unconditionally: the policy without argument checks.
      run verify --manifest "$xm" --filter "$TMP/lib.bpf" --default-action $def --no-args
      if rc_is 0 && out_has PROVEN; then proven=$((proven + 1)); else
        fail "libseccomp's filter for $(basename "$xm") (optimize $opt, $def) not proven" "exit $RC" "$(show)"; fi
    done
  done
  drop=${XS[$(( ${#XS[@]} / 2 ))]}
  if "$EXPORT" "$TMP/lib-wrong.bpf" 2 kill-process $(printf '%s\n' "${XS[@]}" | grep -vx "$drop"); then
    run verify --manifest "$xm" --filter "$TMP/lib-wrong.bpf" --no-args
    check "verify refuses libseccomp's filter for $(basename "$xm") without $drop (exit 1, names it)" \
      eval 'rc_is 1 && out_has "NOT EQUIVALENT" && grep -q "syscall: $drop " "$TMP/stdout"'
  else
    fail "seccomp_export could not build the wrong filter for $(basename "$xm")"
  fi
done
[ "$total" -ge 30 ] && [ "$proven" -eq "$total" ] && pass "libseccomp cross-check: $proven of $total policies proven through bespoke verify" ||
  fail "libseccomp cross-check: $proven of $total policies proven"

# Bad filters.
head -c 13 "$B" >"$TMP/cut13.bpf"
run verify --manifest "$M" --filter "$TMP/cut13.bpf"
check "verify: a length not a multiple of 8, one-line error, exit 2" eval 'one_line_error cut13.bpf && err_has "8-byte"'
head -c $(( $(stat -c %s "$B") - 8 )) "$B" >"$TMP/truncated.bpf"
run verify --manifest "$M" --filter "$TMP/truncated.bpf"
check "verify: a truncated .bpf (last instruction cut), one-line error, exit 2" eval 'one_line_error truncated.bpf && err_has "truncated"'
head -c 24 "$B" >"$TMP/truncated24.bpf"
run verify --manifest "$M" --filter "$TMP/truncated24.bpf"
check "verify: a .bpf cut to 3 instructions, one-line error, exit 2" eval 'one_line_error truncated24.bpf'
: >"$TMP/empty.bpf"
run verify --manifest "$M" --filter "$TMP/empty.bpf"
check "verify: an empty filter file, one-line error, exit 2" eval 'one_line_error empty.bpf'
run verify --manifest "$M" --filter "$TMP"
check "verify: a directory as filter, one-line error, exit 2" eval 'one_line_error "$TMP"'
run verify --manifest "$M" --filter "$TMP/no-such.bpf"
check "verify: a missing filter, one-line error, exit 2" eval 'one_line_error no-such.bpf'
head -c $((4097 * 8)) /dev/zero >"$TMP/huge.bpf"
run verify --manifest "$M" --filter "$TMP/huge.bpf"
check "verify: more than 4096 instructions, one-line error, exit 2" eval 'one_line_error huge.bpf && err_has 4096'
# A complete filter the kernel would refuse: the first load (seccomp_data.arch) made misaligned.
python3 - "$B" "$TMP/misaligned.bpf" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
assert b[0:2] == b"\x20\x00", "first instruction is not ld [k]"
b[4] = 2  # ld [2]: not 4-byte aligned
open(sys.argv[2], "wb").write(b)
PY
run verify --manifest "$M" --filter "$TMP/misaligned.bpf"
check "verify: an unsafe (misaligned load) filter, exit 1, UNSAFE" eval 'rc_is 1 && out_has UNSAFE && out_has aligned'
run verify --manifest "$TMP/unknown.yaml" --filter "$B"
check "verify: unknown syscall name in the manifest, one-line error, exit 2" eval 'one_line_error exit_grope'
run verify --manifest "$M" --filter "$B" --default-action kill
check "verify: unknown default action, exit 2, names it" eval 'rc_is 2 && err_has "kill"'
run verify --manifest "$M"
check "verify: missing --filter is a usage error" rc_is 2

# --- run ------------------------------------------------------------------------------------------
run run --manifest "$M" -- /bin/true
check "run /bin/true under its own filter (exit 0)" rc_is 0
python3 - "$M" "$TMP/noexec.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
m["syscalls"] = [s for s in m["syscalls"] if s["name"] != "execve"]
yaml.safe_dump(m, open(sys.argv[2], "w"), sort_keys=False)
PY
run run --manifest "$TMP/noexec.yaml" -- /bin/true
check "run allows execve when the manifest lacks it, and says so" eval 'rc_is 0 && err_has "lacks execve"'
run run -q --manifest "$M" -- true
check "run -q finds CMD on PATH and prints nothing" eval 'rc_is 0 && [ ! -s "$TMP/stderr" ]'
# ln makes symlinkat, which nothing /bin/true can reach makes.
run run -q --manifest "$M" -- /bin/ln -s target "$TMP/link-under-true"
check "run /bin/ln under /bin/true's filter: killed by SIGSYS (status 159)" rc_is 159
run run -q --manifest "$ML" -- /bin/ls "$TMP"
check "run /bin/ls under its own filter lists the directory" eval 'rc_is 0 && out_has true.yaml'
run run -q --manifest "$M" --default-action errno:1 -- /bin/ln -s target "$TMP/link-under-true"
check "run /bin/ln under /bin/true's filter with errno:1: fails with an error, not a signal" eval '[ "$RC" -ne 0 ] && [ "$RC" -lt 128 ]'
run run --manifest "$M" -- "$TMP/no-such-program"
check "run: a missing command, exit 127, named" eval 'rc_is 127 && err_has no-such-program'
run run --manifest "$M"
check "run: no command is a usage error" rc_is 2
run run --manifest "$TMP/unknown.yaml" -- /bin/true
check "run: unknown syscall name in the manifest, one-line error, exit 2" eval 'one_line_error exit_grope'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
