#!/usr/bin/env bash
# Corpus workload: coreutils id (dynamic glibc) with the machine's stock /etc/nsswitch.conf: `passwd:`
# and `group:` name `files systemd`, so glibc loads libnss_files and libnss_systemd (dlopen) for each
# lookup. `id root`, `id -u root`, `id -gn root`, `id -G root` and `id` of the caller, each checked
# against /etc/passwd and /etc/group.
source "$(dirname "$0")/lib.sh"
corpus_init id /usr/bin/id "$@"
grep -q '^passwd:.*systemd' /etc/nsswitch.conf ||
  say "WARNING: /etc/nsswitch.conf is not Debian's stock one (passwd: files systemd); NSS modules differ"

root_gid="$(awk -F: '$1 == "root" { print $4 }' /etc/passwd)"
root_group="$(awk -F: -v g="$root_gid" '$3 == g { print $1; exit }' /etc/group)"
groups="$(awk -F: -v g="$root_gid" '$3 == g { print $3 "(" $1 ")" } $4 ~ /(^|,)root(,|$)/ && $3 != g { print $3 "(" $1 ")" }' /etc/group | paste -sd,)"
trace root "$BIN" root >root.txt
expect_eq "id root" "uid=0(root) gid=$root_gid($root_group) groups=$groups" "$(cat root.txt)"
trace uid "$BIN" -u root >uid.txt
expect_eq "id -u root" 0 "$(cat uid.txt)"
trace gname "$BIN" -gn root >gname.txt
expect_eq "id -gn root" "$root_group" "$(cat gname.txt)"
trace groups "$BIN" -G root >groups.txt
expect_eq "id -G root" "$(sed 's/([^)]*)//g; s/,/ /g' <<<"$groups")" "$(cat groups.txt)"
trace self "$BIN" >self.txt
grep -q "^uid=$EUID(" self.txt || die "id: '$(cat self.txt)'"
say "ok"
