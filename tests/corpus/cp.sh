#!/usr/bin/env bash
# Corpus workload: coreutils cp (dynamic glibc). A plain file copy, then `cp -a` of a directory tree
# with a symlink, a subdirectory, modes and timestamps to preserve.
source "$(dirname "$0")/lib.sh"
corpus_init cp /usr/bin/cp "$@"

seq 1 50000 >file.txt
mkdir -p tree/sub/deeper
echo hello >tree/a.txt && chmod 640 tree/a.txt
seq 1 1000 >tree/sub/b.txt
echo deep >tree/sub/deeper/c.txt && chmod 600 tree/sub/deeper/c.txt
ln -s sub/b.txt tree/link
touch -d '2001-02-03 04:05:06' tree/a.txt tree/sub

trace file "$BIN" file.txt copy.txt
expect_file_eq "cp file" file.txt copy.txt
trace tree "$BIN" -a tree tree2
diff -r --no-dereference tree tree2 >/dev/null || die "cp -a: trees differ"
meta() { (cd "$1" && find . -printf '%p %y %m %T@ %l\n' | sort); }
expect_eq "cp -a metadata" "$(meta tree)" "$(meta tree2)"
say "ok"
