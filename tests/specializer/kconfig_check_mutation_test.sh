#!/usr/bin/env bash
# The reproducibility check can fail: in a copy of the checked-in syscall -> Kconfig table, bpf's row is
# edited (BPF_SYSCALL -> BPF); scripts/gen-kconfig-map --check on that copy must exit 1 and print the row,
# as checked in and as regenerated. Exit 77 (skipped) when the check itself is skipped.
#
# usage: kconfig_check_mutation_test.sh REPO
set -u
REPO=${1:?usage: kconfig_check_mutation_test.sh REPO}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-kconfig-mutation.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TABLE=$TMP/syscall_kconfig.inc

sed 's/^{"bpf", {{"BPF_SYSCALL"}}, /{"bpf", {{"BPF"}}, /' "$REPO/specializer/syscall_kconfig.inc" > "$TABLE"
if cmp -s "$REPO/specializer/syscall_kconfig.inc" "$TABLE"; then
  echo 'FAIL: the edit did not apply: no row {"bpf", {{"BPF_SYSCALL"}}, ...} in the checked-in table'
  exit 1
fi

"$REPO/scripts/gen-kconfig-map" --check -o "$TABLE" > "$TMP/out.txt" 2>&1
rc=$?
cat "$TMP/out.txt"
[ "$rc" -eq 77 ] && exit 77
ok=1
[ "$rc" -eq 1 ] || { echo "FAIL: --check on the edited copy exited $rc, expected 1"; ok=0; }
for want in 'row "bpf" differs' 'checked-in:  {"bpf", {{"BPF"}}, ' 'regenerated: {"bpf", {{"BPF_SYSCALL"}}, ' \
            ': 1 of '; do
  grep -qF "$want" "$TMP/out.txt" || { echo "FAIL: the output lacks: $want"; ok=0; }
done
[ "$ok" -eq 1 ] && echo "PASS: the edited row fails the check, named"
[ "$ok" -eq 1 ]
