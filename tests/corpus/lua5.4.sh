#!/usr/bin/env bash
# Corpus workload: the lua5.4 interpreter (dynamic). A script doing string and table work, file I/O
# with io.open/write/read/lines, os.time/os.date/os.clock, os.getenv, os.rename/os.remove, io.popen-free.
source "$(dirname "$0")/lib.sh"
corpus_init lua5.4 /usr/bin/lua5.4 "$@"

cat >work.lua <<'LUA'
local dir = assert(arg[1])
local words = {}
for w in ("the quick brown fox jumps over the lazy dog the end"):gmatch("%a+") do
  words[w] = (words[w] or 0) + 1
end
local keys = {}
for k in pairs(words) do keys[#keys + 1] = k end
table.sort(keys)
local f = assert(io.open(dir .. "/words.txt", "w"))
for _, k in ipairs(keys) do f:write(string.format("%s=%d\n", k, words[k])) end
f:close()
local n, total = 0, 0
for line in io.lines(dir .. "/words.txt") do
  n = n + 1
  total = total + tonumber(line:match("=(%d+)$"))
end
local g = assert(io.open(dir .. "/words.txt", "r"))
local all = g:read("a"); g:close()
assert(os.rename(dir .. "/words.txt", dir .. "/renamed.txt"))
local t = os.time()
assert(t > 1600000000, "os.time")
assert(os.date("!%Y", 0) == "1970")
assert(os.clock() >= 0)
local s = {}
for i = 1, 1000 do s[#s + 1] = tostring(i * i) end
local joined = table.concat(s, ",")
print(string.format("keys=%d total=%d bytes=%d home=%s len=%d upper=%s",
  n, total, #all, os.getenv("CORPUS_HOME") or "nil", #joined, ("lua"):upper()))
assert(os.remove(dir .. "/renamed.txt"))
LUA
CORPUS_HOME=/corpus/home trace script "$BIN" work.lua "$WORK" >out.txt
expect_eq "lua output" "keys=9 total=11 bytes=62 home=/corpus/home len=6542 upper=LUA" "$(cat out.txt)"
[ ! -e renamed.txt ] || die "os.remove did not remove the file"
say "ok"
