#!/usr/bin/env bash
# Corpus workload: redis-cli (dynamic; hiredis, linenoise). An untraced redis-server on 127.0.0.1;
# traced redis-cli runs: single commands, a pipe of commands on stdin, --raw and --csv output, INFO.
source "$(dirname "$0")/lib.sh"
corpus_init redis-cli /usr/bin/redis-cli "$@"
command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"

port="$(free_port)"
mkdir data
timeout "$CORPUS_TIMEOUT" redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --daemonize no --dir "$WORK/data" --logfile "$WORK/redis.log" &
server=$!
on_exit 'kill -TERM '"$server"' 2>/dev/null; wait '"$server"' 2>/dev/null'
wait_for 20 "redis-server on port $port" sh -c "[ \"\$(timeout 5 redis-cli -h 127.0.0.1 -p $port PING)\" = PONG ]"

c=(-h 127.0.0.1 -p "$port")
trace ping "$BIN" "${c[@]}" PING >ping.out
expect_eq "PING" PONG "$(cat ping.out)"
trace set "$BIN" "${c[@]}" SET k v >set.out
expect_eq "SET" OK "$(cat set.out)"
trace get "$BIN" "${c[@]}" --raw GET k >get.out
expect_eq "GET" v "$(cat get.out)"
printf 'RPUSH l x y z\nLRANGE l 0 -1\nHSET h f1 1 f2 2\nHGETALL h\n' >cmds.txt
trace stdin "$BIN" "${c[@]}" <cmds.txt >stdin.out
expect_eq "commands on stdin" "$(printf '3\nx\ny\nz\n2\nf1\n1\nf2\n2')" "$(cat stdin.out)"
trace csv "$BIN" "${c[@]}" --csv LRANGE l 0 -1 >csv.out
expect_eq "--csv" '"x","y","z"' "$(cat csv.out)"
trace info "$BIN" "${c[@]}" INFO keyspace >info.out
grep -q '^db0:keys=3' info.out || die "INFO keyspace does not show 3 keys"
timeout 10 redis-cli "${c[@]}" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
say "ok"
