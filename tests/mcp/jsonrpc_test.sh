#!/usr/bin/env bash
# Raw protocol tests of `bespoke mcp` (no SDK): newline-delimited JSON-RPC 2.0 on stdin/stdout, the
# JSON-RPC error codes, notifications without replies, a server that survives every bad message, exit 0
# when stdin closes; and the command line (--help, bad arguments).
#
# usage: jsonrpc_test.sh BESPOKE
# Needs jq. Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
set -u

BESPOKE=${1:?usage: jsonrpc_test.sh BESPOKE}
[ -x "$BESPOKE" ] || { echo "jsonrpc_test: $BESPOKE is not executable" >&2; exit 2; }
command -v jq >/dev/null || { echo "jsonrpc_test: jq not found (run scripts/bootstrap)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-mcp-jsonrpc.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; shift; for l in "$@"; do echo "      $l"; done; }

# serve FILE: runs `bespoke mcp` with FILE as stdin; replies in REPLIES (one per line), exit status in RC.
serve() {
  timeout 120 "$BESPOKE" mcp <"$1" >"$TMP/stdout" 2>"$TMP/stderr"
  RC=$?
  mapfile -t REPLIES <"$TMP/stdout"
}

# expect_reply N DESC JQ-EXPRESSION: reply number N (from 0) must satisfy the expression.
expect_reply() {
  local n=$1 desc=$2 expr=$3
  local reply=${REPLIES[$n]-}
  if [ -n "$reply" ] && jq -e "$expr" >/dev/null 2>&1 <<<"$reply"; then
    pass "$desc"
  else
    fail "$desc" "reply $n: ${reply:-<none>}" "expected: $expr"
  fi
}

# --- command line --------------------------------------------------------------------------------------

"$BESPOKE" mcp --help >"$TMP/stdout" 2>"$TMP/stderr"
RC=$?
if [ "$RC" -eq 0 ] && grep -q '^usage: bespoke mcp' "$TMP/stdout" && grep -q '"args": \["mcp"\]' "$TMP/stdout" &&
  [ ! -s "$TMP/stderr" ]; then
  pass "bespoke mcp --help: usage with a client config snippet on stdout, exit 0"
else
  fail "bespoke mcp --help: exit $RC" "$(head -3 "$TMP/stdout")"
fi

for bad in --bogus extra; do
  "$BESPOKE" mcp "$bad" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
  RC=$?
  first=$(head -n 1 "$TMP/stderr")
  lines=$(grep -vc '^Try ' "$TMP/stderr")
  if [ "$RC" -eq 2 ] && [ ! -s "$TMP/stdout" ] && [ "$lines" -eq 1 ] && [[ "$first" == "bespoke mcp: "*"$bad"* ]]; then
    pass "bespoke mcp $bad: exit 2, one line 'bespoke mcp: ...' naming it"
  else
    fail "bespoke mcp $bad: exit $RC, expected 2 and one error line" "$(cat "$TMP/stderr")"
  fi
done

# --- one session: every kind of message, in order ----------------------------------------------------

{
  echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"jsonrpc_test","version":"0"}}}'
  echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  echo '{"jsonrpc":"2.0","id":2,"method":"ping"'                       # truncated JSON
  echo '{"jsonrpc":"2.0","id":3,"method":"ping"}'
  echo '[{"jsonrpc":"2.0","id":4,"method":"ping"}]'                     # a batch
  echo '"just a string"'
  echo '{"id":5,"method":"ping"}'                                       # no jsonrpc member
  echo '{"jsonrpc":"2.0","id":{"n":6},"method":"ping"}'                 # id neither string nor number
  echo '{"jsonrpc":"2.0","id":7,"method":42}'
  echo '{"jsonrpc":"2.0","id":8,"method":"no/such/method"}'
  echo '{"jsonrpc":"2.0","method":"no/such/notification","params":{}}'  # notifications never get a reply
  echo '{"jsonrpc":"2.0","method":"tools/call","params":"not an object"}'
  echo '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'
  echo '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":"not an object"}'
  echo '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"no-such-tool","arguments":{}}}'
  echo '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"verify","arguments":[]}}'
  echo '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"verify","arguments":{"manifest":"m.yaml"}}}'
  echo '{"jsonrpc":"2.0","id":"thirteen","method":"tools/list"}'
  echo ''
  echo '   '
  printf '%s\r\n' '{"jsonrpc":"2.0","id":14,"method":"ping"}'      # CRLF framing
  printf '{"jsonrpc":"2.0","id":15,"method":"ping","params":{"x":"\xff\xfe"}}\n' # not UTF-8
  echo '{"jsonrpc":"2.0","id":16,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}'
  echo '{"jsonrpc":"2.0","id":17,"method":"initialize","params":{}}'
  echo '{"jsonrpc":"2.0","id":18,"result":{}}'                           # a response: ignored
  printf '%s' '{"jsonrpc":"2.0","id":19,"method":"ping"}'               # last line without newline
} >"$TMP/session.in"
serve "$TMP/session.in"

if [ "$RC" -eq 0 ]; then pass "stdin closed: exit 0"; else fail "stdin closed: exit $RC, expected 0" "$(head -5 "$TMP/stderr")"; fi
nonjson=0
for reply in "${REPLIES[@]}"; do
  jq -e '.jsonrpc == "2.0"' >/dev/null 2>&1 <<<"$reply" || nonjson=$((nonjson + 1))
done
if [ "$nonjson" -eq 0 ]; then pass "stdout: only JSON-RPC messages, one per line"; else fail "stdout: $nonjson lines are not JSON-RPC messages" "${REPLIES[@]}"; fi
if [ "${#REPLIES[@]}" -eq 19 ]; then
  pass "19 replies to 26 lines: none for the 4 notifications, the stray response and 2 blank lines"
else
  fail "${#REPLIES[@]} replies, expected 19" "${REPLIES[@]}"
fi

expect_reply 0 "initialize: echoes protocol 2025-06-18, serverInfo bespoke, tools capability" \
  '.id == 1 and .result.protocolVersion == "2025-06-18" and .result.serverInfo.name == "bespoke" and (.result.capabilities.tools | type) == "object"'
expect_reply 1 "malformed JSON: -32700 with id null" '.id == null and .error.code == -32700'
expect_reply 2 "the next valid request after a parse error is answered" '.id == 3 and .result == {}'
expect_reply 3 "a batch: -32600 with id null" '.id == null and .error.code == -32600'
expect_reply 4 "not an object: -32600 with id null" '.id == null and .error.code == -32600'
expect_reply 5 "no jsonrpc member: -32600 with its id" '.id == 5 and .error.code == -32600'
expect_reply 6 "an object id: -32600 with id null" '.id == null and .error.code == -32600'
expect_reply 7 "method not a string: -32600" '.id == 7 and .error.code == -32600'
expect_reply 8 "unknown method: -32601" '.id == 8 and .error.code == -32601'
expect_reply 9 "tools/call with params not an object: -32602" '.id == 9 and .error.code == -32602'
expect_reply 10 "tools/call of an unknown tool: -32602" '.id == 10 and .error.code == -32602 and (.error.message | test("no-such-tool"))'
expect_reply 11 "tools/call with arguments not an object: -32602" '.id == 11 and .error.code == -32602'
expect_reply 12 "tools/call with a missing required argument: a result with isError" \
  '.id == 12 and .result.isError == true and (.result.content[0].text | test("filter")) and .result.structuredContent.exitCode == 2'
expect_reply 13 "tools/list with a string id: eight tools, each an object schema" \
  '.id == "thirteen" and (.result.tools | length) == 8 and all(.result.tools[]; .inputSchema.type == "object")'
expect_reply 14 "CRLF-terminated request answered" '.id == 14 and .result == {}'
expect_reply 15 "invalid UTF-8: -32700" '.id == null and .error.code == -32700'
expect_reply 16 "initialize with an unknown protocol version: the server's latest" \
  '.id == 16 and .result.protocolVersion == "2025-11-25"'
expect_reply 17 "initialize without protocolVersion: -32602" '.id == 17 and .error.code == -32602'
expect_reply 18 "a last request without a newline is answered" '.id == 19 and .result == {}'

# --- edge sessions --------------------------------------------------------------------------------------

: >"$TMP/empty.in"
serve "$TMP/empty.in"
if [ "$RC" -eq 0 ] && [ ! -s "$TMP/stdout" ]; then pass "empty stdin: no output, exit 0"; else fail "empty stdin: exit $RC" "$(cat "$TMP/stdout")"; fi

{
  echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  echo '{"jsonrpc":"2.0","method":"ping"}'
} >"$TMP/notes.in"
serve "$TMP/notes.in"
if [ "$RC" -eq 0 ] && [ ! -s "$TMP/stdout" ]; then pass "notifications only: nothing on stdout, exit 0"; else fail "notifications only: exit $RC" "$(cat "$TMP/stdout")"; fi

# The server reads requests as they come: a reply arrives before stdin closes.
mkfifo "$TMP/fifo"
( timeout 60 "$BESPOKE" mcp <"$TMP/fifo" >"$TMP/live.out" 2>/dev/null; echo $? >"$TMP/live.rc" ) &
exec 7>"$TMP/fifo"
echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' >&7
for _ in $(seq 100); do [ -s "$TMP/live.out" ] && break; sleep 0.1; done
if jq -e '.id == 1 and .result == {}' "$TMP/live.out" >/dev/null 2>&1; then
  pass "a request is answered while stdin stays open"
else
  fail "no reply while stdin stays open" "$(cat "$TMP/live.out")"
fi
exec 7>&-
wait
if [ "$(cat "$TMP/live.rc")" = 0 ]; then pass "closing stdin later: exit 0"; else fail "closing stdin later: exit $(cat "$TMP/live.rc")"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
