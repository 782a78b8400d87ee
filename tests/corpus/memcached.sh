#!/usr/bin/env bash
# Corpus workload: memcached (dynamic, libevent; a listener thread, 2 workers and maintenance threads).
# The server runs traced as `memcached -u root` (it looks the user up through NSS) on 127.0.0.1 with a
# free port, UDP off and the ascii `shutdown` command enabled (-A); a python3 client on two connections
# does set/get/add/append/incr/decr/gets+cas/delete, a 200 KB value, stats and flush_all, then
# `shutdown`, so the traced server exits by itself (status 0) and the trace is complete.
source "$(dirname "$0")/lib.sh"
corpus_init memcached /usr/bin/memcached "$@"

port="$(free_port)"
trace_bg server "$BIN" -u root -l 127.0.0.1 -p "$port" -U 0 -t 2 -m 16 -c 64 -A
wait_for 20 "memcached on port $port" python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()"

cat >client.py <<'PY'
import socket, sys
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), 10)
    return s, s.makefile("rb")
def cmd(c, line, data=None):
    """One command; the reply: one line, or for get/gets/stats everything up to END (values read by length)."""
    s, f = c
    s.sendall(line + b"\r\n" + (data + b"\r\n" if data is not None else b""))
    out = b""
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("connection closed after %r" % out)
        out += l
        if l.startswith(b"VALUE "):
            out += f.read(int(l.split()[3]) + 2)
        elif l == b"END\r\n" or not line.startswith((b"get", b"stats")):
            return out
a, b = conn(), conn()
big = bytes(i % 251 for i in range(200000))
print(cmd(a, b"set k 5 0 5", b"hello"))
print(cmd(b, b"get k"))
print(cmd(a, b"add k 0 0 1", b"x"))
print(cmd(a, b"append k 0 0 6", b" world"))
print(cmd(b, b"get k"))
print(cmd(a, b"set n 0 0 2", b"40"))
print(cmd(a, b"incr n 3"), cmd(b, b"decr n 1"))
gets = cmd(a, b"gets k")
cas = gets.split(b"\r\n")[0].split()[-1]
print(cmd(b, b"cas k 0 0 3 " + cas, b"new"), cmd(a, b"cas k 0 0 3 " + cas, b"old"))
print(cmd(a, b"set big 0 0 %d" % len(big), big))
assert cmd(b, b"get big") == b"VALUE big 0 %d\r\n" % len(big) + big + b"\r\nEND\r\n"
print(cmd(a, b"delete n"), cmd(a, b"get n"))
stats = cmd(b, b"stats")
print(b"STAT curr_connections" in stats, b"STAT cmd_get" in stats)
print(cmd(a, b"flush_all"), cmd(b, b"get k"))
a[0].sendall(b"shutdown\r\n")
print(a[1].readline() == b"")
PY
timeout 30 python3 client.py "$port" >client.txt || die "memcached client failed: $(cat client.txt)"
expect_eq "memcached client" "$(cat <<'OUT'
b'STORED\r\n'
b'VALUE k 5 5\r\nhello\r\nEND\r\n'
b'NOT_STORED\r\n'
b'STORED\r\n'
b'VALUE k 5 11\r\nhello world\r\nEND\r\n'
b'STORED\r\n'
b'43\r\n' b'42\r\n'
b'STORED\r\n' b'EXISTS\r\n'
b'STORED\r\n'
b'DELETED\r\n' b'END\r\n'
True True
b'OK\r\n' b'END\r\n'
True
OUT
)" "$(cat client.txt)"
trace_wait 20
say "ok"
