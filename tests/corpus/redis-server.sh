#!/usr/bin/env bash
# Corpus workload: redis-server (dynamic; threads, epoll). The server runs traced on 127.0.0.1 with a
# free port, no persistence, not daemonized; an untraced redis-cli does PING, SET, GET, INCR, LPUSH,
# LRANGE, EXPIRE, INFO and finally `SHUTDOWN NOSAVE`, so the traced server exits by itself and the
# trace is complete. The static side analyzes /usr/bin/redis-server.
source "$(dirname "$0")/lib.sh"
corpus_init redis-server /usr/bin/redis-server "$@"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-tools)"

port="$(free_port)"
cli() { timeout 10 redis-cli -h 127.0.0.1 -p "$port" "$@"; }
mkdir data
trace_bg server "$BIN" --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize no \
  --dir "$WORK/data" --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" --protected-mode yes
on_exit '[ -f "$WORK/redis.pid" ] && kill -TERM "$(cat "$WORK/redis.pid")" 2>/dev/null'
wait_for 20 "redis-server on port $port" sh -c "[ \"\$(timeout 5 redis-cli -h 127.0.0.1 -p $port PING)\" = PONG ]"

expect_eq "PING" PONG "$(cli PING)"
expect_eq "SET" OK "$(cli SET k v)"
expect_eq "GET" v "$(cli GET k)"
expect_eq "INCR" 2 "$(cli INCR n >/dev/null; cli INCR n)"
expect_eq "LPUSH" 3 "$(cli LPUSH l a b c)"
expect_eq "LRANGE" "$(printf 'c\nb\na')" "$(cli LRANGE l 0 -1)"
expect_eq "EXPIRE" 1 "$(cli EXPIRE k 100)"
cli INFO server | grep -q '^redis_version:' || die "INFO server lacks redis_version"
expect_eq "DBSIZE" 3 "$(cli DBSIZE)"
cli SHUTDOWN NOSAVE >/dev/null 2>&1 || true   # the connection closes under redis-cli
trace_wait 20
grep -q 'ready to exit' "$WORK/redis.log" || die "redis did not log a clean shutdown"
say "ok"
