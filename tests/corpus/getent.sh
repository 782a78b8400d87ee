#!/usr/bin/env bash
# Corpus workload: glibc's getent (dynamic) with the machine's stock /etc/nsswitch.conf: passwd and
# group go through libnss_files and libnss_systemd, hosts through libnss_files (and libnss_dns when
# files has no answer), all loaded by glibc with dlopen. Four lookups, one run each: `passwd root`,
# `group root`, `hosts localhost` (gethostbyname2), `ahostsv4 localhost` (getaddrinfo), checked
# against /etc/passwd, /etc/group and /etc/hosts; and a name that does not exist (exit status 2).
source "$(dirname "$0")/lib.sh"
corpus_init getent /usr/bin/getent "$@"
grep -q '^passwd:.*systemd' /etc/nsswitch.conf ||
  say "WARNING: /etc/nsswitch.conf is not Debian's stock one (passwd: files systemd); NSS modules differ"

trace passwd "$BIN" passwd root >passwd.txt
expect_eq "getent passwd root" "$(grep -m1 '^root:' /etc/passwd)" "$(cat passwd.txt)"
trace group "$BIN" group root >group.txt
expect_eq "getent group root" "$(grep -m1 '^root:' /etc/group)" "$(cat group.txt)"
trace hosts "$BIN" hosts localhost >hosts.txt
read -r addr names <hosts.txt
case "$addr" in 127.0.0.1|::1) ;; *) die "getent hosts localhost: address '$addr'" ;; esac
[[ " $names " == *" localhost "* ]] || die "getent hosts localhost: names '$names'"
trace ahostsv4 "$BIN" ahostsv4 localhost >ahosts.txt
expect_eq "getent ahostsv4 localhost" "127.0.0.1       STREAM localhost" "$(head -n 1 ahosts.txt)"
trace --status 2 missing "$BIN" passwd no-such-user-bespoke >missing.txt
expect_eq "getent passwd no-such-user" "" "$(cat missing.txt)"
say "ok"
