#!/usr/bin/env bash
# Corpus workload: coreutils cat (dynamic glibc). Files and stdin to a file; numbered lines to a pipe.
source "$(dirname "$0")/lib.sh"
corpus_init cat /usr/bin/cat "$@"

printf 'one\ntwo\n' >a.txt
seq 1 100000 >b.txt
printf 'from stdin\n' >c.txt
trace files "$BIN" a.txt - b.txt <c.txt >out.txt
expect_file_eq "cat a - b" out.txt <(cat a.txt c.txt b.txt)
trace pipe "$BIN" -n a.txt b.txt | tail -n 1 >n.out
expect_eq "cat -n | tail" "100002	100000" "$(sed 's/^ *//' n.out)"
say "ok"
