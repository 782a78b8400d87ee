#!/usr/bin/env bash
# Corpus workload: coreutils ls (dynamic glibc). `ls -la /etc /tmp`, plus a colored long listing of a
# private directory with a symlink and a subdirectory.
source "$(dirname "$0")/lib.sh"
corpus_init ls /usr/bin/ls "$@"

mkdir -p d/sub && echo x >d/f && ln -s f d/link
trace la "$BIN" -la /etc /tmp >la.out
grep -q ' passwd$' la.out || die "ls -la /etc does not list passwd"
grep -q '^/tmp:$' la.out || die "ls -la output lacks the /tmp header"
trace color "$BIN" -lR --color=always --time-style=full-iso d >color.out
grep -q 'link.*->.*f' color.out || die "ls -lR does not show the symlink"
grep -q '^d/sub:' color.out || die "ls -lR does not recurse"
say "ok"
