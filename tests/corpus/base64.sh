#!/usr/bin/env bash
# Corpus workload: coreutils base64 (dynamic glibc). Encode a file (wrapped at 76 columns) and stdin
# with -w 0, decode back to the same bytes, and decoding with -i of input with garbage characters.
source "$(dirname "$0")/lib.sh"
corpus_init base64 /usr/bin/base64 "$@"

python3 -c 'import random; r = random.Random(11); open("data.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(300000)))'
trace encode "$BIN" data.bin >data.b64
expect_eq "base64 encoding" "$(python3 -c 'import base64; print(base64.encodebytes(open("data.bin", "rb").read()).decode(), end="")')" "$(cat data.b64)"
trace decode "$BIN" -d data.b64 >data.out
expect_file_eq "base64 -d" data.bin data.out
printf 'bespoke corpus' >small.txt
trace stdin "$BIN" -w 0 <small.txt >small.b64
expect_eq "base64 -w 0" "YmVzcG9rZSBjb3JwdXM=" "$(cat small.b64)"
printf 'YmVz*cG9r!ZSBj\nb3JwdXM=\n' >garbage.b64
trace garbage "$BIN" -d -i garbage.b64 >garbage.out
expect_eq "base64 -d -i" "bespoke corpus" "$(cat garbage.out)"
say "ok"
