#!/usr/bin/env bash
# Where a whole-filter benchmark row spends its time in wasm: runs one scenario of e2e/bench
# under `perf record` with wazero's perf map (build tag perfmap, so the compiled wasm functions
# have names) and prints the hottest functions, wasm ones by their Go names, host ones marked
# "host". Not part of `make bench`: it needs Linux perf.
#
# Usage: scripts/profile-filter.sh ROW [ITERATIONS]    e.g. scripts/profile-filter.sh session-warm 200000
# ROW is a name from `go run ./tools/filterbench -list`. The wasm compilation cache is off (perf
# maps are written only when wazero compiles), and the first 5 s (compilation and setup) are
# not recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
row=${1:?usage: $0 ROW [ITERATIONS]}
n=${2:-100000}
out=.cache/bench-filter/profile
mkdir -p "$out"
command -v perf >/dev/null || { echo "profile-filter: perf is not installed" >&2; exit 1; }
go test -c -tags perfmap -o "$out/e2ebench-perfmap.test" ./e2e/bench
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$out/plugin-bench.wasm" ./e2e/bench/plugin
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$out/noop-bench.wasm" ./e2e/bench/noop
(cd e2e/bench && FILTERBENCH_PLUGIN="$OLDPWD/$out/plugin-bench.wasm" FILTERBENCH_NOOP="$OLDPWD/$out/noop-bench.wasm" FILTERBENCH_CACHE=off \
  perf record -q -D 5000 -F 2999 -o "$OLDPWD/$out/$row.data" -- "$OLDPWD/$out/e2ebench-perfmap.test" \
  -test.run '^$' -test.bench "^BenchmarkFilter\$/^$row\$" -test.benchtime "${n}x" -test.cpu 1) | grep Benchmark || true
perf report -i "$out/$row.data" --no-children --sort symbol --stdio 2>/dev/null |
  awk '
    /^#/ || !/%/ { next }
    {
      pct = $1; sub(/%/, "", pct); kind = $2; $1 = ""; $2 = ""; sym = $0
      sub(/^ +/, "", sym); sub(/ +- +- *$/, "", sym)
      if (sym ~ /^\[[0-9]+\/[0-9]+\]\./) { sub(/^\[[0-9]+\/[0-9]+\]\./, "", sym); sub(/:::::L[0-9]+$/, "", sym); wasm += pct }
      else if (kind == "[k]") { sym = "(kernel)" }
      else { sym = "host " sym }
      sum[sym] += pct; total += pct
    }
    END {
      printf "%.1f%% of samples in wasm code\n", wasm
      for (s in sum) printf "%6.2f%%  %s\n", sum[s], s | "sort -rn | head -30"
    }'
