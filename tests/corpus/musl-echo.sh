#!/usr/bin/env bash
# Corpus workload: examples/musl-echo (static musl TCP echo server, poll loop). The traced server binds
# 127.0.0.1 on a kernel-chosen port (written to a port file) and exits by itself after 4 connections;
# a python3 client makes them (two at once, one sending 200 KB, one connecting and closing at once)
# and checks every echoed byte. Needs CORPUS_BUILD (the CMake build dir, where the binary is built).
CORPUS_BUILD="${CORPUS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}"
source "$(dirname "$0")/lib.sh"
corpus_init musl-echo "$CORPUS_BUILD/examples/musl-echo/musl-echo" "$@"

trace_bg server "$BIN" 0 4 "$WORK/port"
wait_for 20 "musl-echo port file" test -s "$WORK/port"
timeout 30 python3 - "$(cat "$WORK/port")" <<'PY' || die "echo client failed"
import socket, sys
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=10)
def roundtrip(s, data):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    assert got == data, "echo mismatch: sent %d bytes, got %d" % (len(data), len(got))
a, b = conn(), conn()                      # two concurrent clients
roundtrip(a, b"hello\n"); roundtrip(b, b"world\n"); roundtrip(a, b"again\n")
a.close(); b.close()
c = conn()
roundtrip(c, bytes(range(256)) * 800)      # 200 KB in several reads/writes
c.shutdown(socket.SHUT_WR)
assert c.recv(1) == b"", "server did not close after EOF"
c.close()
conn().close()                             # connect and close at once
PY
trace_wait 20
say "ok"
