#!/usr/bin/env bash
# Corpus workload: GNU sed (dynamic, libacl/libselinux). Extended-regexp substitution with back
# references, -n with addresses and ranges, a script file with hold space (tac), in-place editing with
# a backup suffix (-i.bak: a temporary file, rename, copied permissions), and the `w` command.
source "$(dirname "$0")/lib.sh"
corpus_init sed /usr/bin/sed "$@"

seq 1 1000 | sed 's/.*/item &: value &/' >data.txt   # the untraced sed on PATH prepares the input
cp data.txt orig.txt
chmod 640 data.txt
trace subst "$BIN" -E 's/^item ([0-9]+): value ([0-9]+)$/\2=\1/' data.txt >subst.txt
expect_eq "sed -E back references" "1000=1000" "$(tail -n 1 subst.txt)"
trace range "$BIN" -n '10,12p;/: value 999$/p' data.txt >range.txt
expect_eq "sed -n ranges" "$(printf 'item 10: value 10\nitem 11: value 11\nitem 12: value 12\nitem 999: value 999')" "$(cat range.txt)"
printf '1!G\nh\n$!d\n' >tac.sed
trace script "$BIN" -f tac.sed data.txt >tac.txt
expect_file_eq "sed tac script" tac.txt <(tac data.txt)
trace inplace "$BIN" -i.bak -e '/^item [0-9]*5:/d' -e 's/value/v/' data.txt
expect_file_eq "sed -i backup" orig.txt data.txt.bak
expect_eq "sed -i lines" 900 "$(wc -l <data.txt)"
expect_eq "sed -i text" "item 1: v 1" "$(head -n 1 data.txt)"
expect_eq "sed -i mode" 640 "$(stat -c %a data.txt)"
trace write "$BIN" -n '/00:/w hundreds.txt' orig.txt
expect_eq "sed w" "$(printf 'item 100: value 100\nitem 200: value 200')" "$(head -n 2 hundreds.txt)"
say "ok"
