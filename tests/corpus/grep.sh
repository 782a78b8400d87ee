#!/usr/bin/env bash
# Corpus workload: GNU grep (dynamic, libpcre2). Extended regexps with counts and line numbers, -i
# and -w, a recursive search with --include, a Perl regexp (-P, PCRE2 with its JIT), fixed strings
# from a file (-F -f), -o, and no match (exit status 1).
source "$(dirname "$0")/lib.sh"
corpus_init grep /usr/bin/grep "$@"

mkdir -p tree/sub
seq 1 3000 | sed 's/^/line /' >tree/numbers.txt
printf 'Alpha beta\ngamma Delta\nalphabet soup\nBETA max\n' >tree/words.txt
printf 'needle in sub\nno match here\n' >tree/sub/c.log
printf 'needle in text\n' >tree/sub/d.txt
printf 'beta\nsoup\n' >patterns.txt
trace count "$BIN" -cE 'line [0-9]*7$' tree/numbers.txt >count.txt
expect_eq "grep -cE" 300 "$(cat count.txt)"
trace word "$BIN" -niw alpha tree/words.txt >word.txt
expect_eq "grep -niw" "1:Alpha beta" "$(cat word.txt)"
trace recursive "$BIN" -r --include='*.txt' needle tree >rec.txt
expect_eq "grep -r --include" "tree/sub/d.txt:needle in text" "$(cat rec.txt)"
trace perl "$BIN" -oP '(?<=line )\d{4}(?=\s*$)' tree/numbers.txt >perl.txt
expect_eq "grep -oP" "2001 3000" "$(sed -n '1002p;2001p' perl.txt | paste -sd' ')"
expect_eq "grep -oP count" 2001 "$(wc -l <perl.txt)"
trace fixed "$BIN" -F -f patterns.txt tree/words.txt >fixed.txt
expect_eq "grep -F -f" "$(printf 'Alpha beta\nalphabet soup')" "$(cat fixed.txt)"
trace --status 1 nomatch "$BIN" -q 'no such text' tree/numbers.txt
say "ok"
