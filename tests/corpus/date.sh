#!/usr/bin/env bash
# Corpus workload: coreutils date (dynamic glibc) with time zones from tzdata (/usr/share/zoneinfo,
# read by glibc's tzset): fixed instants formatted in TZ=America/New_York (winter and summer time),
# Asia/Kolkata, UTC (-u, --iso-8601, -R), date arithmetic with -d, and a file's time (-r).
source "$(dirname "$0")/lib.sh"
corpus_init date /usr/bin/date "$@"
[ -f /usr/share/zoneinfo/America/New_York ] || die "tzdata missing (apt-get install tzdata)"

TZ=America/New_York trace ny-winter "$BIN" -d @1700000000 '+%F %T %Z %z' >ny1.txt
expect_eq "New York, November" "2023-11-14 17:13:20 EST -0500" "$(cat ny1.txt)"
TZ=America/New_York trace ny-summer "$BIN" -d @1690000000 '+%F %T %Z %z' >ny2.txt
expect_eq "New York, July" "2023-07-22 00:26:40 EDT -0400" "$(cat ny2.txt)"
TZ=Asia/Kolkata trace kolkata "$BIN" -d '2024-02-29 12:00 UTC' '+%F %R %Z' >in.txt
expect_eq "Kolkata" "2024-02-29 17:30 IST" "$(cat in.txt)"
trace utc "$BIN" -u -d @0 --iso-8601=seconds >utc.txt
expect_eq "UTC --iso-8601" "1970-01-01T00:00:00+00:00" "$(cat utc.txt)"
TZ=Europe/Berlin trace rfc "$BIN" -R -d '2024-03-31 01:30 UTC + 1 hour' >rfc.txt
expect_eq "Berlin -R after the change to summer time" "Sun, 31 Mar 2024 04:30:00 +0200" "$(cat rfc.txt)"
touch -d '2001-09-09 01:46:40 UTC' stamp
TZ=UTC trace file "$BIN" -r stamp +%s >file.txt
expect_eq "date -r" 1000000000 "$(cat file.txt)"
TZ=America/New_York trace now "$BIN" '+%Y %Z' >now.txt
[[ "$(cat now.txt)" =~ ^[0-9]{4}\ E[SD]T$ ]] || die "date now: '$(cat now.txt)'"
say "ok"
