#!/usr/bin/env bash
# Corpus workload: coreutils sha256sum (dynamic glibc). Digests of files and of stdin, a 4 MB file,
# --tag output, and `-c` verification of a checksum list (one entry corrupted: exit status 1).
source "$(dirname "$0")/lib.sh"
corpus_init sha256sum /usr/bin/sha256sum "$@"

printf 'abc' >abc.txt
: >empty.txt
python3 -c 'import random; r = random.Random(9); open("big.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(4000000)))'
trace files "$BIN" abc.txt empty.txt >sums.txt
expect_eq "sha256sum" "$(printf '%s\n' 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc.txt' 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty.txt')" "$(cat sums.txt)"
trace big "$BIN" --tag big.bin >big.txt
expect_eq "sha256sum --tag" "SHA256 (big.bin) = $(python3 -c 'import hashlib; print(hashlib.sha256(open("big.bin", "rb").read()).hexdigest())')" "$(cat big.txt)"
trace stdin "$BIN" <abc.txt >stdin.txt
expect_eq "sha256sum of stdin" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -" "$(cat stdin.txt)"
cat sums.txt >check.txt
trace check "$BIN" -c check.txt >check.out
expect_eq "sha256sum -c" "$(printf 'abc.txt: OK\nempty.txt: OK')" "$(cat check.out)"
printf 'abd' >abc.txt
trace --status 1 corrupt "$BIN" -c --quiet check.txt >corrupt.out 2>corrupt.err
expect_eq "sha256sum -c of a changed file" "abc.txt: FAILED" "$(cat corrupt.out)"
say "ok"
