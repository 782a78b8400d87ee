#!/usr/bin/env bash
# Corpus workload: GNU tar with xz (dynamic, libacl/libselinux). `tar -cJf` of a tree (files, a
# subdirectory, a symlink, an empty file, a 400 KB file), `tar -tJf` and `tar -xJf` into another
# directory, compared with the source. tar compresses through `/bin/sh -c xz` (and `xz -d`): the shell
# and xz run under tar's seccomp filter, so both are declared with allow_exec and their system calls
# are part of tar's ground truth.
# Analysed with one observed run on another archive (it shows tar running sh and xz).
ANALYZE_ARGS=(--observe -- -cJf /dev/null /etc/hostname)
source "$(dirname "$0")/lib.sh"
corpus_init tar /usr/bin/tar "$@"
allow_exec sh xz

mkdir -p src/sub out
printf 'alpha\nbeta\n' >src/a.txt
: >src/empty
seq 1 60000 >src/sub/numbers.txt
ln -s a.txt src/link
chmod 640 src/a.txt
trace create "$BIN" -cJf "$WORK/src.tar.xz" src
[ "$(head -c 6 src.tar.xz | od -An -tx1 | tr -d ' ')" = fd377a585a00 ] || die "src.tar.xz is not an xz stream"
trace list "$BIN" -tJf "$WORK/src.tar.xz" >list.txt
expect_eq "tar -tJf" "$(printf 'src/\nsrc/a.txt\nsrc/empty\nsrc/link\nsrc/sub/\nsrc/sub/numbers.txt')" "$(sort list.txt)"
trace extract "$BIN" -xJf "$WORK/src.tar.xz" -C "$WORK/out"
diff -r src out/src >/dev/null || die "extracted tree differs from the source"
expect_eq "symlink" a.txt "$(readlink out/src/link)"
expect_eq "mode" 640 "$(stat -c %a out/src/a.txt)"
say "ok"
