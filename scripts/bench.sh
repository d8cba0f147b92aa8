#!/usr/bin/env bash
# make bench: the packages' benchmarks natively and in wasm (wazero, compiler engine), side by side.
#
# Each package in BENCH_PKGS that has Benchmark functions is built once as a native and as a wasip1
# test binary; then every benchmark runs BENCH_COUNT times, native and wasm alternating (run 1
# native, run 1 wasm, run 2 native, ...) so machine noise hits both sides alike, one thread each
# (-test.cpu 1: a proxy-wasm VM runs on one Envoy worker thread). Then the plugin.wasm
# compile/instantiate benchmarks run, and tools/benchtable prints a markdown report of medians and
# paired wasm/native ratios, with the ratios' 95% confidence intervals from 6 runs on (also saved
# to .cache/bench/report.md). Raw outputs are kept in
# .cache/bench/{native,wasm,plugin}.txt for benchstat. See BENCHMARKS.md.
#
# Environment (defaults in parentheses):
#   BENCH_COUNT (6)        runs per benchmark and side (6 or more give the 95% CI column)
#   BENCHTIME (200ms)      -test.benchtime of each run
#   BENCH_FILTER (.)       extended regexp on benchmark names
#   BENCH_PKGS (./state ./jwt ./pkce ./oidc ./internal/wasmexec/calib)
#   PLUGIN_WASM (./plugin.wasm), WASMEXEC_CACHE (./.cache/wazero)
#   BENCH_NICE (unset)     e.g. -10 as root: benchmark processes run ahead of everyone else's
#                          work on a shared machine, at their expense
# A package that is missing or has no benchmarks is skipped and named in the report; one that
# fails to build or run makes the script exit 1 after the report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${BENCH_COUNT:-6}
benchtime=${BENCHTIME:-200ms}
filter=${BENCH_FILTER:-.}
pkgs=${BENCH_PKGS:-./state ./jwt ./pkce ./oidc ./internal/wasmexec/calib}
plugin=${PLUGIN_WASM:-$root/plugin.wasm}
out=$root/.cache/bench
export WASMEXEC_CACHE=${WASMEXEC_CACHE:-$root/.cache/wazero}
mkdir -p "$out/bin" "$WASMEXEC_CACHE"
nice=()
if [ -n "${BENCH_NICE:-}" ]; then nice=(nice -n "$BENCH_NICE"); fi
host=(GOOS="$(go env GOHOSTOS)" GOARCH="$(go env GOHOSTARCH)")
start=$SECONDS

env "${host[@]}" go build -o bin/wasmexec ./internal/wasmexec/cmd/wasmexec
env "${host[@]}" go build -o "$out/bin/benchtable" ./tools/benchtable

notes=() failed=0 jobs=()
for pkg in $pkgs; do
  if [ ! -d "$pkg" ]; then notes+=("skipped $pkg: not in the tree"); continue; fi
  if ! grep -qs '^func Benchmark' "$pkg"/*_test.go; then notes+=("skipped $pkg: no benchmarks"); continue; fi
  name=$(echo "${pkg#./}" | tr / _)
  echo "bench: building $pkg (native, wasm)" >&2
  if env "${host[@]}" go test -c -o "$out/bin/$name.test" "$pkg" &&
    GOOS=wasip1 GOARCH=wasm go test -c -o "$out/bin/$name.wasm" "$pkg"; then
    for b in $( (cd "$pkg" && "$out/bin/$name.test" -test.list '^Benchmark') | grep -E -- "$filter" || true); do
      jobs+=("$pkg $name $b")
    done
  else
    notes+=("FAILED $pkg: does not build"); failed=1
  fi
done

# run SIDE DIR NAME BENCH OUT: one run of one benchmark (and its sub-benchmarks), appended to OUT.
run() {
  local side=$1 dir=$2 name=$3 bench=$4 dst=$5 log=$out/last.txt rc=0
  local args=(-test.run '^$' -test.bench "^$bench\$" -test.benchmem -test.count 1 -test.benchtime "$benchtime" -test.cpu 1)
  if [ "$side" = native ]; then
    (cd "$dir" && ${nice[@]+"${nice[@]}"} "$out/bin/$name.test" "${args[@]}") >"$log" 2>&1 || rc=$?
  else
    (cd "$dir" && ${nice[@]+"${nice[@]}"} "$root/bin/wasmexec" "$out/bin/$name.wasm" "${args[@]}") >"$log" 2>&1 || rc=$?
  fi
  cat "$log" >>"$dst"
  if [ $rc != 0 ]; then
    printf '\n%s %s %s failed (exit %s):\n' "$dir" "$bench" "$side" $rc >&2; tail -20 "$log" >&2
    notes+=("FAILED $dir $bench: a $side run exited $rc"); failed=1
  fi
}

# Native and wasm alternate benchmark by benchmark, so each pair of runs is seconds apart and sees
# the same machine load; the report's ratio is the median of these pairs.
: >"$out/native.txt"; : >"$out/wasm.txt"; : >"$out/plugin.txt"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$count"); do
  t0=$SECONDS
  for job in ${jobs[@]+"${jobs[@]}"}; do
    read -r dir name bench <<<"$job"
    run native "$dir" "$name" "$bench" "$out/native.txt"
    run wasm "$dir" "$name" "$bench" "$out/wasm.txt"
  done
  echo "bench: run $i/$count: ${#jobs[@]} benchmarks, native and wasm, $((SECONDS - t0))s" >&2
done

if [ -f "$plugin" ]; then
  echo "bench: plugin.wasm compile and instantiate ($count runs)" >&2
  env "${host[@]}" go test -c -o "$out/bin/wasmexec.test" ./internal/wasmexec
  (cd internal/wasmexec && PLUGIN_WASM=$plugin ${nice[@]+"${nice[@]}"} "$out/bin/wasmexec.test" -test.run '^$' -test.bench '^BenchmarkPlugin' \
    -test.benchmem -test.count "$count" -test.benchtime "$benchtime" -test.cpu 1) >"$out/plugin.txt" 2>&1 ||
    { cat "$out/plugin.txt" >&2; notes+=("FAILED plugin.wasm benchmarks"); failed=1; }
else
  notes+=("skipped plugin.wasm benchmarks: $plugin not found (make build)")
fi

load1=$(cut -d' ' -f1-3 /proc/loadavg) ncpu=$(nproc)
notes+=("load average (1, 5, 15 min) at start: $load0; at end: $load1${BENCH_NICE:+; benchmarks ran at nice $BENCH_NICE}")
if awk -v a="${load0%% *}" -v b="${load1%% *}" -v n="$ncpu" 'BEGIN { exit !(a > n || b > n) }'; then
  notes+=("WARNING: the load average exceeded the $ncpu CPUs: absolute times are inflated and noisy; the paired ratios hold up better")
fi
note_args=()
for n in ${notes[@]+"${notes[@]}"}; do note_args+=(-note "$n"); done
"$out/bin/benchtable" -native "$out/native.txt" -wasm "$out/wasm.txt" -plugin "$out/plugin.txt" \
  -plugin-wasm "$plugin" -model internal/wasmexec/calib/model.txt -module "$(go list -m)" \
  -wazero "$(bin/wasmexec -version | sed 's/.*wazero //')" -benchtime "$benchtime" \
  ${note_args[@]+"${note_args[@]}"} | tee "$out/report.md"
echo "bench: $((SECONDS - start))s; report in .cache/bench/report.md" >&2
bash scripts/bench-filter.sh || failed=1  # the whole filter, wasm vs native (BENCHMARKS.md, "Whole filter")
exit $failed
