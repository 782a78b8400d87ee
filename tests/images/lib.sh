# Shared by images_test.sh and images_dynamic_test.sh (sourced after W, the work directory, is set):
# pass/fail counting, the kernel source to reuse, and the one-line-error check.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# The unpacked source is shared with scripts/gen-kconfig-map; reuse it when it is there (unpacking is
# not what these tests are about), else rewrite unpacks into the test cache.
SRC=${BESPOKE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bespoke}/linux-source-6.1
KS=()
[ -f "$SRC/.bespoke-unpacked" ] && KS=(--kernel-source "$SRC")

# One-line error with exit 2: expect_error NAME PATTERN CMD...
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$@" > "$W/err.out" 2> "$W/err.txt"
  local rc=$? lines
  lines=$(wc -l < "$W/err.txt")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$W/err.txt"; then pass "$name: exit 2, $(cat "$W/err.txt")"
  else fail "$name: exit $rc, $lines lines: $(cat "$W/err.txt")"; fi
}
