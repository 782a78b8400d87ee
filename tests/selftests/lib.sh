# shellcheck shell=bash
# Shared by scripts/selftests-fetch and scripts/selftests-check. Sourced, never run.
#
# selftests_programs FILE   prints every program of FILE (tests/selftests/programs.txt) as one line of
#                           7 fields separated by the ASCII unit separator \037 (not TAB: `read` would
#                           merge empty fields), whitespace-trimmed, in file order:
#                           name folder sources cflags ldflags args expect
#                           Read them with: IFS=$'\037' read -r name folder sources cflags ldflags args expect
#                           Fails (status 2, message on stderr) on a malformed line or a duplicate name.

SELFTESTS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034  # used by the scripts that source this file
SELFTESTS_PROGRAMS="$SELFTESTS_LIB_DIR/programs.txt"

selftests_programs() {
  awk -F'|' -v file="$1" '
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); gsub(/[ \t]+/, " ", s); return s }
    /^[ \t]*(#|$)/ { next }
    {
      if (NF != 7) { printf("%s:%d: expected 7 |-separated fields, found %d\n", file, FNR, NF) > "/dev/stderr"; bad = 1; next }
      for (i = 1; i <= 7; i++) f[i] = trim($i)
      if (f[1] !~ /^[A-Za-z0-9_.+-]+$/) { printf("%s:%d: bad program name \"%s\"\n", file, FNR, f[1]) > "/dev/stderr"; bad = 1; next }
      if (f[2] == "" || f[2] ~ /(^|\/)\.\.(\/|$)/ || f[3] == "") { printf("%s:%d: missing folder or sources\n", file, FNR) > "/dev/stderr"; bad = 1; next }
      if (f[1] in seen) { printf("%s:%d: duplicate program \"%s\"\n", file, FNR, f[1]) > "/dev/stderr"; bad = 1; next }
      seen[f[1]] = 1
      printf("%s\037%s\037%s\037%s\037%s\037%s\037%s\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7])
    }
    END { exit bad ? 2 : 0 }' "$1"
}
