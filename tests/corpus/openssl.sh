#!/usr/bin/env bash
# Corpus workload: the openssl command-line tool (dynamic, libssl/libcrypto 3; reads openssl.cnf and
# its default provider). A digest, an AES-256-CBC (PBKDF2) encrypt/decrypt round trip, an EC P-256 key
# (genpkey), a self-signed certificate (req -x509), its subject and verification, a signature made and
# checked with pkeyutl, and random bytes.
source "$(dirname "$0")/lib.sh"
corpus_init openssl /usr/bin/openssl "$@"

seq 1 20000 >data.txt
trace dgst "$BIN" dgst -sha256 -r data.txt >dgst.txt
expect_eq "dgst -sha256" "$(sha256sum data.txt | cut -d' ' -f1)" "$(cut -d' ' -f1 dgst.txt)"
trace enc "$BIN" enc -aes-256-cbc -pbkdf2 -iter 1000 -salt -pass pass:corpus -in data.txt -out data.enc
trace dec "$BIN" enc -d -aes-256-cbc -pbkdf2 -iter 1000 -pass pass:corpus -in data.enc -out data.dec
expect_file_eq "enc/dec round trip" data.txt data.dec
trace genpkey "$BIN" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem
grep -q 'BEGIN PRIVATE KEY' key.pem || die "genpkey wrote no private key"
trace req "$BIN" req -x509 -new -key key.pem -subj "/CN=corpus.example/O=bespoke" -days 2 -out cert.pem
trace x509 "$BIN" x509 -in cert.pem -noout -subject >subject.txt
expect_eq "x509 -subject" "subject=CN = corpus.example, O = bespoke" "$(cat subject.txt)"
trace verify "$BIN" verify -CAfile cert.pem cert.pem >verify.txt
expect_eq "verify" "cert.pem: OK" "$(cat verify.txt)"
trace sign "$BIN" pkeyutl -sign -inkey key.pem -rawin -digest sha256 -in data.txt -out data.sig
trace check "$BIN" pkeyutl -verify -inkey key.pem -rawin -digest sha256 -in data.txt -sigfile data.sig >check.txt
expect_eq "pkeyutl -verify" "Signature Verified Successfully" "$(cat check.txt)"
trace rand "$BIN" rand -hex 32 >rand.txt
[[ "$(cat rand.txt)" =~ ^[0-9a-f]{64}$ ]] || die "rand -hex 32: '$(cat rand.txt)'"
say "ok"
