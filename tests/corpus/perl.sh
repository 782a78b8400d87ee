#!/usr/bin/env bash
# Corpus workload: perl (dynamic, libperl) loading XS modules (shared objects under
# /usr/lib/x86_64-linux-gnu/perl*): POSIX, Digest::MD5, Digest::SHA, Data::Dumper, Storable (to a
# file and back), List::Util, Fcntl (flock), Time::HiRes, Socket (a socketpair), Encode. The output
# is checked against known answers.
# XS modules are loaded by DynaLoader with a path chosen at run time: analysed from one observed run that
# loads the same modules (other code than the workload's script).
ANALYZE_ARGS=(--observe -- -MPOSIX -MDigest::MD5 -MDigest::SHA -MData::Dumper -MStorable -MList::Util -MFcntl -e 1)
source "$(dirname "$0")/lib.sh"
corpus_init perl /usr/bin/perl "$@"

cat >script.pl <<'PL'
use strict; use warnings;
use POSIX qw(floor strftime);
use Digest::MD5 qw(md5_hex);
use Digest::SHA qw(sha256_hex);
use Data::Dumper;
use Storable qw(nstore retrieve);
use List::Util qw(sum max first shuffle);
use Fcntl qw(:flock O_RDWR O_CREAT);
use Time::HiRes qw(time sleep);
use Socket;
use Encode qw(encode decode);
$Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 0;
print "posix ", floor(-2.5), " ", strftime("%Y-%m-%d", gmtime(86400 * 365)), "\n";
print "md5 ", md5_hex("bespoke corpus"), "\n";
print "sha256 ", sha256_hex("bespoke corpus"), "\n";
my $data = { list => [3, 1, 2], name => "bespoke" };
print "dumper ", Dumper($data), "\n";
nstore($data, "data.sto");
my $back = retrieve("data.sto");
print "storable ", join(",", @{$back->{list}}), " $back->{name}\n";
print "listutil ", sum(1 .. 10), " ", max(4, 9, 2), " ", first { $_ > 3 } (1, 5, 7); print "\n";
sysopen(my $fh, "lock.txt", O_RDWR | O_CREAT) or die "sysopen: $!";
flock($fh, LOCK_EX) or die "flock: $!";
print "flock ok\n";
close $fh;
my $t0 = time; sleep(0.01); print "hires ", (time - $t0 >= 0.01 ? "ok" : "short"), "\n";
socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
syswrite($a, "ping"); sysread($b, my $buf, 4); print "socket $buf\n";
my $bytes = encode("UTF-8", "caf\x{e9}");
print "encode ", length($bytes), " ", decode("UTF-8", $bytes) eq "caf\x{e9}" ? "round" : "bad", "\n";
PL
trace script "$BIN" script.pl >out.txt
expect_eq "perl output" "$(cat <<'OUT'
posix -3 1971-01-01
md5 429d7681f8c838ea6da004af816f54f9
sha256 7d246c42f97ee660f52f7529e4fd809ffe650fd642c10d928677bf686034e352
dumper $VAR1 = {'list' => [3,1,2],'name' => 'bespoke'};
storable 3,1,2 bespoke
listutil 55 9 5
flock ok
hires ok
socket ping
encode 5 round
OUT
)" "$(cat out.txt)"
say "ok"
