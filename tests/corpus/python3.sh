#!/usr/bin/env bash
# Corpus workload: Debian's python3 (/usr/bin/python3 -> python3.11, dynamic) importing C extension
# modules from lib-dynload at run time: _json, _hashlib (OpenSSL's libcrypto), _ssl, _sqlite3, _ctypes
# (libffi: a libc call and a Python callback through qsort), _decimal, _lzma, _bz2, mmap, plus the
# built-in zlib, _socket (a socketpair) and threading. The script prints values checked against
# known answers.
# C extension modules: every one Debian ships with the interpreter.
ANALYZE_ARGS=(--dlopen /usr/lib/python3.11/lib-dynload)
source "$(dirname "$0")/lib.sh"
corpus_init python3 /usr/bin/python3 "$@"

cat >script.py <<'PY'
import bz2, ctypes, decimal, hashlib, json, lzma, mmap, socket, sqlite3, ssl, sys, threading, zlib
doc = {"name": "bespoke", "calls": [3, 1, 2], "nested": {"ok": True}}
text = json.dumps(doc, sort_keys=True)
assert json.loads(text) == doc and json.scanner.c_make_scanner is not None
print("json", text)
print("sha256", hashlib.sha256(b"bespoke corpus").hexdigest())
print("md5", hashlib.md5(b"bespoke corpus").hexdigest())
print("blake2b", hashlib.blake2b(b"bespoke corpus", digest_size=16).hexdigest())
ctx = ssl.create_default_context()
print("ssl", ctx.verify_mode == ssl.CERT_REQUIRED, ssl.OPENSSL_VERSION.split()[0])
db = sqlite3.connect("py.db")
db.execute("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)")
db.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 39)])
db.commit()
print("sqlite", db.execute("SELECT sum(v), group_concat(k, '') FROM t").fetchone())
db.close()
blob = b"corpus " * 5000
assert zlib.decompress(zlib.compress(blob, 9)) == blob
assert lzma.decompress(lzma.compress(blob)) == blob and bz2.decompress(bz2.compress(blob)) == blob
print("zlib", zlib.crc32(blob), len(zlib.compress(blob, 9)) < 200)
libc = ctypes.CDLL("libc.so.6")
print("ctypes strlen", libc.strlen(b"bespoke"))
arr = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
libc.qsort(arr, 5, ctypes.sizeof(ctypes.c_int), CMP(lambda a, b: a[0] - b[0]))
print("ctypes qsort", list(arr))
decimal.getcontext().prec = 30
print("decimal", decimal.Decimal(1) / decimal.Decimal(7))
with open("map.bin", "wb") as f:
    f.write(b"\0" * 4096)
with open("map.bin", "r+b") as f, mmap.mmap(f.fileno(), 4096) as m:
    m[0:5] = b"hello"
    m.flush()
print("mmap", open("map.bin", "rb").read(5).decode())
a, b = socket.socketpair()
results = []
t = threading.Thread(target=lambda: results.append(b.recv(100)))
t.start()
a.sendall(b"ping over a socketpair")
t.join()
print("socket", results[0].decode())
PY
trace script "$BIN" script.py >out.txt
expect_eq "python3 output" "$(cat <<'OUT'
json {"calls": [3, 1, 2], "name": "bespoke", "nested": {"ok": true}}
sha256 7d246c42f97ee660f52f7529e4fd809ffe650fd642c10d928677bf686034e352
md5 429d7681f8c838ea6da004af816f54f9
blake2b d75e65f5db83560c39f83ae93b8f440c
ssl True OpenSSL
sqlite (42, 'abc')
zlib 2699397967 True
ctypes strlen 7
ctypes qsort [1, 2, 3, 4, 5]
decimal 0.142857142857142857142857142857
mmap hello
socket ping over a socketpair
OUT
)" "$(cat out.txt)"
say "ok"
