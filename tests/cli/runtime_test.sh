#!/usr/bin/env bash
# bespoke analyze and code that arrives at run time, through the CLI: --dlopen, --exec and --observe as a
# user gives them, the machine's configuration as it is (and broken, in a private mount namespace), and
# each bad input: a one-line error and exit 2, or a warning and a manifest where the analysis can go on.
#
# usage: runtime_test.sh BESPOKE
set -u
BESPOKE=${1:?usage: runtime_test.sh BESPOKE}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-runtime-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CACHE=$TMP/cache
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; sed 's/^/      /' "$TMP/err" 2>/dev/null | head -5; }
analyze() { rm -f "$TMP/bad.yaml"; "$BESPOKE" analyze --cache-dir "$CACHE" "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; }
one_line_error() { # exit 2, exactly one line on stderr naming $1, no manifest
  [ "$RC" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -qF -- "$1" "$TMP/err" && grep -q '^bespoke' "$TMP/err"
}
yaml() { python3 -c 'import sys, yaml; m = yaml.safe_load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# --- the stock configuration, no flag: id loads libnss_systemd (nsswitch.conf: passwd: files systemd).
analyze /usr/bin/id -o "$TMP/id.yaml"
if [ "$RC" -eq 0 ] && [ "$(yaml "$TMP/id.yaml" '[x["config"] for x in m["modules"] if x["loaded"] == "nss"]')" != "[]" ]; then
  pass "id: NSS modules from /etc/nsswitch.conf ($(yaml "$TMP/id.yaml" '[x["name"] for x in m["modules"] if x["loaded"] == "nss"]'))"
else fail "id: no NSS module (exit $RC)"; fi
grep -q "warning" "$TMP/err" && fail "id on the stock configuration printed a warning" || pass "id: no warning on the stock configuration"

# --- --dlopen: nginx's Debian modules, every export a root.
analyze /usr/sbin/nginx --dlopen /usr/lib/nginx/modules -o "$TMP/nginx.yaml" -q
n=$(yaml "$TMP/nginx.yaml" 'len([x for x in m["modules"] if x["loaded"] == "flag"])' 2>/dev/null || echo 0)
want=$(ls /usr/lib/nginx/modules/*.so 2>/dev/null | wc -l)
[ "$RC" -eq 0 ] && [ "$n" -eq "$want" ] && [ "$want" -gt 0 ] && pass "nginx --dlopen DIR: $n modules loaded: flag" \
  || fail "nginx --dlopen: exit $RC, $n of $want modules"
yaml "$TMP/nginx.yaml" '[s["name"] for s in m["syscalls"]]' | grep -q "get_mempolicy" \
  && pass "nginx --dlopen: get_mempolicy (libnuma, needed by a module's library) is in the footprint" \
  || fail "nginx --dlopen: no get_mempolicy"

# --- --observe: tar runs sh and xz.
analyze /usr/bin/tar -o "$TMP/tar.yaml" -q --observe -- -cJf /dev/null /etc/hostname
progs=$(yaml "$TMP/tar.yaml" 'sorted(x["name"] + ":" + x["loaded"] for x in m["modules"] if x["kind"] == "program")' 2>/dev/null)
[ "$RC" -eq 0 ] && echo "$progs" | grep -q "'xz:observed'" && echo "$progs" | grep -q "'sh:" \
  && pass "tar --observe: executed programs $progs" || fail "tar --observe: exit $RC, programs $progs"
# The file it read is in files: with the observed evidence; /dev/null (written) is a kernel path, not a file.
obs=$(yaml "$TMP/tar.yaml" '[(f["path"], f["root"], f["chain"][0].split("!")[1]) for f in m["files"] if f["root"] == "observed"]' 2>/dev/null)
echo "$obs" | grep -q "('/etc/hostname', 'observed', '[a-z0-9]*@0x0')" && ! echo "$obs" | grep -q "'/dev" \
  && pass "tar --observe: the file it read is in files: ($obs)" || fail "tar --observe files: $obs"

# --- bad input: each a one-line error, exit 2, no manifest.
analyze /usr/bin/id --dlopen "$TMP/no-such.so" -o "$TMP/bad.yaml"
one_line_error "no-such.so: No such file or directory (--dlopen)" && [ ! -e "$TMP/bad.yaml" ] \
  && pass "--dlopen of a missing file: $(cat "$TMP/err")" || fail "--dlopen missing: exit $RC"
analyze /usr/bin/id --dlopen /etc/hostname -o "$TMP/bad.yaml"
one_line_error "/etc/hostname: not an ELF file (--dlopen expects x86-64 shared objects)" && [ ! -e "$TMP/bad.yaml" ] \
  && pass "--dlopen of a non-ELF file: $(cat "$TMP/err")" || fail "--dlopen non-ELF: exit $RC"
analyze /usr/bin/id --dlopen /usr/bin/id -o "$TMP/bad.yaml"
one_line_error "/usr/bin/id: a program (it has an interpreter), not a shared object" && pass "--dlopen of a program: $(cat "$TMP/err")" || fail "--dlopen program: exit $RC"
cp /usr/bin/true "$TMP/noexec" && chmod -x "$TMP/noexec"
analyze "$TMP/noexec" -o "$TMP/bad.yaml" --observe --
one_line_error "noexec: cannot start" && [ ! -e "$TMP/bad.yaml" ] \
  && pass "--observe of a command that cannot start: $(cat "$TMP/err")" || fail "--observe cannot start: exit $RC"
analyze /usr/bin/id --exec "$TMP/no-such-program" -o "$TMP/bad.yaml"
[ "$RC" -eq 0 ] && grep -q "warning: --exec $TMP/no-such-program: no such file here" "$TMP/err" \
  && pass "--exec of a missing program: a warning, manifest written" || fail "--exec missing: exit $RC"
analyze /usr/bin/id -o "$TMP/bad.yaml" --observe-typo

analyze /usr/bin/id -o "$TMP/bad.yaml" -- extra
[ "$RC" -eq 2 ] && grep -q "arguments after -- are for --observe" "$TMP/err" && pass "arguments after -- without --observe: exit 2" \
  || fail "arguments after -- without --observe: exit $RC"

# --- the observed run fails: a warning, and the analysis goes on.
analyze /usr/bin/false -o "$TMP/false.yaml" --observe --
[ "$RC" -eq 0 ] && [ -s "$TMP/false.yaml" ] && grep -q "warning: /usr/bin/false: the observed run exited with status 1" "$TMP/err" \
  && pass "--observe of a command exiting 1: warning, manifest written" || fail "--observe exit 1: exit $RC"

# --- a broken or missing /etc/nsswitch.conf, in a private mount namespace (needs root and unshare).
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
  printf 'passwd: files [NOTFOUND=whatever] systemd\ngroup: files\n' >"$TMP/bad-nsswitch.conf"
  rm -f "$TMP/bad.yaml"
  unshare -m sh -c "mount --bind '$TMP/bad-nsswitch.conf' /etc/nsswitch.conf && exec '$BESPOKE' analyze /usr/bin/id --cache-dir '$CACHE' -o '$TMP/bad.yaml'" \
    >"$TMP/out" 2>"$TMP/err"
  RC=$?
  one_line_error "/etc/nsswitch.conf:1" && [ ! -e "$TMP/bad.yaml" ] \
    && pass "malformed nsswitch.conf: $(cat "$TMP/err")" || fail "malformed nsswitch.conf: exit $RC"
  mkdir -p "$TMP/etc" && cp /etc/ld.so.cache "$TMP/etc/"
  unshare -m sh -c "mount --bind '$TMP/etc' /etc && exec '$BESPOKE' analyze /usr/bin/id --cache-dir '$CACHE' -o '$TMP/nonss.yaml'" \
    >"$TMP/out" 2>"$TMP/err"
  RC=$?
  [ "$RC" -eq 0 ] && grep -q "warning: /etc/nsswitch.conf: not found; glibc uses its built-in defaults" "$TMP/err" \
    && [ "$(yaml "$TMP/nonss.yaml" 'len([x for x in m["modules"] if x["loaded"] == "nss"])')" -eq 0 ] \
    && pass "missing nsswitch.conf: a warning, glibc's defaults (no module)" || fail "missing nsswitch.conf: exit $RC"
else
  echo "skip: nsswitch.conf cases need root and unshare -m"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
