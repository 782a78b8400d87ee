#!/usr/bin/env bash
# Corpus workload: coreutils sort (dynamic glibc). Lexical, numeric (-n), keyed unique sort, and a
# large input with a tiny buffer (temporary files, merge passes), and the same input in one big buffer
# with two threads (coreutils sort only starts threads for >= 2*128K lines in memory).
source "$(dirname "$0")/lib.sh"
corpus_init sort /usr/bin/sort "$@"

python3 - <<'PY'
import random
r = random.Random(42)
with open("small.txt", "w") as f:
    for i in range(2000):
        f.write("%d,%s\n" % (r.randint(-5000, 5000), r.choice(["pear", "apple", "fig", "kiwi", "plum"])))
with open("big.txt", "w") as f:
    for i in range(300000):
        f.write("%d\n" % r.randint(0, 10**9))
PY
trace lex "$BIN" -o lex.out small.txt
trace num "$BIN" -n small.txt >num.out
trace key "$BIN" -t, -k2,2 -u small.txt >key.out
mkdir tmp
trace big "$BIN" -n -S 256K --parallel=2 -T tmp big.txt >big.out
trace threads "$BIN" -n -S 100M --parallel=2 big.txt >threads.out
python3 - <<'PY' || die "sort output is not what python computes"
import sys
lines = open("small.txt").read().splitlines()
ok = open("lex.out").read().splitlines() == sorted(lines, key=lambda s: s.encode())
num = [int(l.split(",")[0]) for l in open("num.out").read().splitlines()]
ok &= len(num) == len(lines) and num == sorted(num)
ok &= [l.split(",")[1] for l in open("key.out").read().splitlines()] == ["apple", "fig", "kiwi", "pear", "plum"]
big = [int(l) for l in open("big.out")]
ok &= big == sorted(int(l) for l in open("big.txt"))
ok &= [int(l) for l in open("threads.out")] == big
sys.exit(0 if ok else 1)
PY
say "ok"
