#!/usr/bin/env bash
# The cost of `bespoke observe` (issue 14; goal: at most 5 % throughput lost): redis-benchmark -t get,set
# over loopback against redis-server run plainly, with an empty program on raw_syscalls:sys_enter
# (BUILD/bench/sys-enter-hook: the hook's own cost, which any sys_enter observer pays), under
# `bespoke observe --via ebpf` and under `bespoke observe` (--via seccomp, the default), both with its full
# manifest; the four take turns round by round, in a rotating order, so that a noisy, shared machine hits
# all alike. The benchmark client runs outside the observed cgroup: under ebpf it pays the system-wide hook
# (every task's syscalls take the tracepoint path and run the program's cgroup test) but is never
# recorded; under seccomp only the server runs the filter. Needs root. Prints Markdown on standard output,
# progress on standard error.
# Usage: bench/observe-bench.sh BUILD [ROUNDS [REQUESTS]]    (defaults: 5 rounds, 200000 requests per test)
set -euo pipefail
build=${1:?usage: bench/observe-bench.sh BUILD [ROUNDS [REQUESTS]]}
rounds=${2:-5}
requests=${3:-200000}
bespoke=$build/cli/bespoke
hook=$build/bench/sys-enter-hook
for f in "$bespoke" "$hook"; do
  [[ -x $f ]] || { echo "observe-bench.sh: $f: not built" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "observe-bench.sh: needs root (eBPF)" >&2; exit 2; }
for t in redis-server redis-benchmark redis-cli; do
  command -v $t >/dev/null || { echo "observe-bench.sh: $t not found (scripts/bootstrap installs it)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'redis-cli -p "${port:-1}" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$bespoke" analyze /usr/bin/redis-server -q -o "$work/redis.yaml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis=(/usr/bin/redis-server --save "" --appendonly no --port "$port")

# run MODE: one server, one redis-benchmark; appends "MODE SET_RPS GET_RPS" to $work/results.
run() {
  local mode=$1 pid hookpid=""
  if [[ $mode == hook ]]; then
    "$hook" >"$work/hook.out" &
    hookpid=$!
    for _ in $(seq 1 100); do grep -q attached "$work/hook.out" 2>/dev/null && break; sleep 0.05; done
  fi
  if [[ $mode == ebpf || $mode == seccomp ]]; then
    "$bespoke" observe --via "$mode" -m "$work/redis.yaml" --json -o "$work/report.json" -q -- "${redis[@]}" \
      >"$work/server.log" 2>&1 &
  else
    "${redis[@]}" >"$work/server.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 200); do
    [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
    sleep 0.05
  done
  redis-benchmark -p "$port" -t set,get -n "$requests" -q --csv >"$work/bench.csv"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
  if [[ -n $hookpid ]]; then kill -TERM "$hookpid"; wait "$hookpid" || true; fi
  python3 - "$mode" "$work/bench.csv" >>"$work/results" <<'PY'
import csv, sys
rps = {row[0]: float(row[1]) for row in csv.reader(open(sys.argv[2])) if row and row[0] in ("SET", "GET")}
print(sys.argv[1], rps["SET"], rps["GET"])
PY
  if [[ $mode == ebpf || $mode == seccomp ]]; then
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["mechanism"], "violations", len(r["violations"]), "recorded", r["recorded_calls"])' \
      "$work/report.json" >>"$work/reports"
  fi
}

modes=(plain hook ebpf seccomp)
for r in $(seq 1 "$rounds"); do
  for k in 0 1 2 3; do run "${modes[$(( (r + k) % 4 ))]}"; done
  echo "observe-bench.sh: round $r of $rounds: $(tail -4 "$work/results" | tr '\n' ' ')" >&2
done

python3 - "$work/results" "$work/reports" "$rounds" "$requests" "$(nproc)" "$(uname -r)" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
reports = [l.split() for l in open(sys.argv[2])]
modes = ("plain", "hook", "ebpf", "seccomp")
by = {m: {"SET": [], "GET": []} for m in modes}
for mode, s, g in rows:
    by[mode]["SET"].append(float(s)); by[mode]["GET"].append(float(g))
print(f"redis-benchmark -t set,get -n {sys.argv[4]} (50 clients, loopback), {sys.argv[3]} alternating rounds, "
      f"{sys.argv[5]} cores, Linux {sys.argv[6]}; requests per second, median of the rounds:\n")
print("| test | plain | empty sys_enter program | observe --via ebpf | observe (seccomp) | lost to the hook | lost to --via ebpf | lost to observe (seccomp) |")
print("|---|---|---|---|---|---|---|---|")
for t in ("SET", "GET"):
    p, h, e, s = (statistics.median(by[m][t]) for m in modes)
    print(f"| {t} | {p:,.0f} | {h:,.0f} | {e:,.0f} | {s:,.0f} | {100 * (1 - h / p):.1f} % | {100 * (1 - e / p):.1f} % | {100 * (1 - s / p):.1f} % |")
print()
print("per round (SET/GET) plain | hook | ebpf | seccomp: " + "; ".join(
    " | ".join(f"{by[m]['SET'][i]:,.0f}/{by[m]['GET'][i]:,.0f}" for m in modes)
    for i in range(len(by["plain"]["SET"]))))
print()
print("observe reports: " + "; ".join(" ".join(r) for r in reports))
PY
