#!/usr/bin/env bash
# The whole-filter part of `make bench`: each scenario of internal/filterbench (floor, warm and
# cold sessions, callback, refresh, bearer tokens, pass-through) natively through the SDK's
# proxytest (filter/bench_test.go) and in wasm through the e2e host on wazero's compiler
# (e2e/bench), alternating row by row, BENCH_COUNT times; then host calls per request, VM
# start-up and memory after 10k sessions once; then tools/filterbench prints the table (also
# saved to .cache/bench-filter/report.md; raw outputs beside it, ready for benchstat).
#
# Environment: BENCH_COUNT (5), BENCHTIME (200ms), FILTER_ROWS (egrep on scenario names, .),
# PLUGIN_WASM (./plugin.wasm, for its size; built by `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${BENCH_COUNT:-5}
benchtime=${BENCHTIME:-200ms}
rows_filter=${FILTER_ROWS:-.}
plugin=${PLUGIN_WASM:-$root/plugin.wasm}
out=$root/.cache/bench-filter
mkdir -p "$out/bin"
host=(GOOS="$(go env GOHOSTOS)" GOARCH="$(go env GOHOSTARCH)")
wasm=(GOOS=wasip1 GOARCH=wasm)
start=$SECONDS

echo "bench-filter: building (native filter tests, wasm host benchmarks, benchmark plugins)" >&2
env "${host[@]}" go build -o "$out/bin/filterbench" ./tools/filterbench
env "${host[@]}" go test -c -o "$out/bin/filter.test" ./filter
env "${host[@]}" go test -c -o "$out/bin/e2ebench.test" ./e2e/bench
env "${wasm[@]}" go build -buildmode=c-shared -o "$out/plugin-bench.wasm" ./e2e/bench/plugin
env "${wasm[@]}" go build -buildmode=c-shared -o "$out/noop-bench.wasm" ./e2e/bench/noop
if [ ! -f "$plugin" ]; then
  plugin=$out/plugin.wasm
  env "${wasm[@]}" go build -buildmode=c-shared -o "$plugin" .
fi
export FILTERBENCH_PLUGIN=$out/plugin-bench.wasm FILTERBENCH_NOOP=$out/noop-bench.wasm FILTERBENCH_CACHE=$root/.cache/wazero-filterbench
mkdir -p "$FILTERBENCH_CACHE"
mapfile -t rows < <("$out/bin/filterbench" -list | grep -E -- "$rows_filter")

notes=() failed=0
# run SIDE BENCH PATTERN DST [args...]: one run of the pattern, appended to DST.
run() {
  local side=$1 pattern=$2 dst=$3 log=$out/last.txt rc=0
  shift 3
  local args=(-test.run '^$' -test.bench "$pattern" -test.benchtime "$benchtime" -test.cpu 1 -test.count 1 "$@")
  if [ "$side" = native ]; then
    (cd filter && "$out/bin/filter.test" "${args[@]}") >"$log" 2>&1 || rc=$?
  else
    (cd e2e/bench && "$out/bin/e2ebench.test" "${args[@]}") >"$log" 2>&1 || rc=$?
  fi
  cat "$log" >>"$dst"
  if [ $rc != 0 ]; then
    printf '\nbench-filter: %s %s failed (exit %s):\n' "$side" "$pattern" $rc >&2; tail -20 "$log" >&2
    notes+=("FAILED: $side $pattern exited $rc"); failed=1
  fi
}

for f in native wasm calls start-native start-wasm mem-wasm; do : >"$out/$f.txt"; done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$count"); do
  t0=$SECONDS
  for r in "${rows[@]}"; do
    run native "^BenchmarkFilter\$/^$r\$" "$out/native.txt"
    run wasm "^BenchmarkFilter\$/^$r\$" "$out/wasm.txt"
  done
  echo "bench-filter: run $i/$count: ${#rows[@]} rows, native and wasm, $((SECONDS - t0))s" >&2
done
echo "bench-filter: host calls, VM start, memory after 10k sessions" >&2
run wasm '^BenchmarkHostCalls$' "$out/calls.txt" -test.benchtime 200x
run native '^BenchmarkVMStart$' "$out/start-native.txt" -test.benchtime 20x -test.count "$count"
run wasm '^BenchmarkVMStart$' "$out/start-wasm.txt" -test.benchtime 10x -test.count "$count"
run wasm '^BenchmarkMemory10k$' "$out/mem-wasm.txt" -test.benchtime 1x

load1=$(cut -d' ' -f1-3 /proc/loadavg) ncpu=$(nproc)
notes+=("machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $ncpu CPUs; load average (1, 5, 15 min) at start $load0, at end $load1")
if awk -v a="${load0%% *}" -v b="${load1%% *}" -v n="$ncpu" 'BEGIN { exit !(a > n || b > n) }'; then
  notes+=("WARNING: the load average exceeded the $ncpu CPUs: absolute times are inflated and noisy (thread CPU time excludes time descheduled, not cache and frequency effects); the paired ratios and floor differences hold up better")
fi
note_args=()
for n in ${notes[@]+"${notes[@]}"}; do note_args+=(-note "$n"); done
"$out/bin/filterbench" -native "$out/native.txt" -wasm "$out/wasm.txt" -calls "$out/calls.txt" \
  -start-native "$out/start-native.txt" -start-wasm "$out/start-wasm.txt" -mem-wasm "$out/mem-wasm.txt" \
  -plugin-wasm "$plugin" -count "$count" -benchtime "$benchtime" \
  -wazero "$(go list -m -f '{{.Version}}' github.com/tetratelabs/wazero)" \
  ${note_args[@]+"${note_args[@]}"} | tee "$out/report.md"
echo "bench-filter: $((SECONDS - start))s; report in .cache/bench-filter/report.md" >&2
exit $failed
