#!/usr/bin/env bash
# Corpus workload: ssh-keygen (openssh-client; dynamic, libcrypto). An Ed25519 and an ECDSA P-256 key
# without passphrase, the fingerprint of the public key (checked against python3's SHA-256 of the key
# blob), the public key derived again from the private one (-y), a passphrase added (-p), and a file
# signed and verified with SSH signatures (-Y sign, -Y check-novalidate).
source "$(dirname "$0")/lib.sh"
corpus_init ssh-keygen /usr/bin/ssh-keygen "$@"

trace ed25519 "$BIN" -q -t ed25519 -N '' -C corpus@bespoke -f "$WORK/id_ed25519"
read -r type blob comment <id_ed25519.pub
expect_eq "ed25519 public key" "ssh-ed25519 corpus@bespoke" "$type $comment"
trace ecdsa "$BIN" -q -t ecdsa -b 256 -N '' -C ecdsa@bespoke -f "$WORK/id_ecdsa"
grep -q '^ecdsa-sha2-nistp256 ' id_ecdsa.pub || die "ecdsa public key: $(cat id_ecdsa.pub)"
trace fingerprint "$BIN" -l -E sha256 -f "$WORK/id_ed25519.pub" >fp.txt
fp="$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(base64.b64decode(sys.argv[1])).digest()).decode().rstrip("="))' "$blob")"
expect_eq "fingerprint" "256 SHA256:$fp corpus@bespoke (ED25519)" "$(cat fp.txt)"
trace derive "$BIN" -y -f "$WORK/id_ecdsa" >derived.pub
expect_eq "ssh-keygen -y" "$(cut -d' ' -f1,2 id_ecdsa.pub)" "$(cut -d' ' -f1,2 derived.pub)"
trace passphrase "$BIN" -q -p -P '' -N 'corpus pass' -f "$WORK/id_ecdsa" >pass.txt
expect_eq "ssh-keygen -p" "$(printf '%s\n' "Key has comment 'ecdsa@bespoke'" 'Your identification has been saved with the new passphrase.')" "$(cat pass.txt)"
grep -q 'BEGIN OPENSSH PRIVATE KEY' id_ecdsa || die "id_ecdsa after -p is no OpenSSH key"
seq 1 1000 >data.txt
trace sign "$BIN" -q -Y sign -n file -f "$WORK/id_ed25519" data.txt
grep -q 'BEGIN SSH SIGNATURE' data.txt.sig || die "-Y sign wrote no signature"
trace verify "$BIN" -Y check-novalidate -n file -f "$WORK/id_ed25519.pub" -s "$WORK/data.txt.sig" <data.txt >verify.txt
expect_eq "-Y check-novalidate" "Good \"file\" signature with ED25519 key SHA256:$fp" "$(cat verify.txt)"
say "ok"
