#!/usr/bin/env bash
# make bench-envoy: what a request costs in Envoy 1.40 with plugin.wasm, side by side with
# Envoy's native oauth2 and jwt_authn filters and oauth2-proxy (tools/benchenvoy; the table
# and how each peer is configured: BENCHMARKS.md, "In Envoy").
#
# It makes sure of Envoy (scripts/ensure-envoy.sh), builds the floor plugin (e2e/bench/noop)
# for wasip1, and oauth2-proxy at OAUTH2_PROXY_VERSION with `go install` from the Go module
# proxy into .cache/bin (outside this module: nothing of it reaches go.mod). If oauth2-proxy
# cannot be built (no network), its row is skipped and the report says so. Then it runs the
# benchmark: about 5 minutes on 2 cores with the defaults.
#
#   PLUGIN_WASM            the plugin (default ./plugin.wasm; `make bench-envoy` builds it)
#   BENCH_ENVOY_ARGS       more flags for tools/benchenvoy, e.g. "-runs 3 -n 2000" or "-rows warm|oauth2"
#                          (split on spaces, no shell quoting inside)
#   OAUTH2_PROXY_VERSION   v7.15.6
#   BENCH_ENVOY_PROFILE    1: when Linux perf can sample the CPU clock (perf stat -e cpu-clock),
#                          also profile each row with perf afterwards (about 2 minutes); 0: not
# The report: .cache/bench-envoy/report.md (raw samples: report.tsv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
plugin=${PLUGIN_WASM:-$root/plugin.wasm}
o2p_version=${OAUTH2_PROXY_VERSION:-v7.15.6}
out=$root/.cache/bench-envoy
if [ ! -f "$plugin" ]; then
  echo "bench-envoy: $plugin not found (make build)" >&2
  exit 1
fi
bash scripts/ensure-envoy.sh >/dev/null
mkdir -p "$out/bin" "$root/.cache/bin"
host=(GOOS="$(go env GOHOSTOS)" GOARCH="$(go env GOHOSTARCH)")

echo "bench-envoy: building the floor plugin (e2e/bench/noop) and tools/benchenvoy" >&2
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$out/noop.wasm" ./e2e/bench/noop
env "${host[@]}" go build -o "$out/bin/benchenvoy" ./tools/benchenvoy

o2p=$root/.cache/bin/oauth2-proxy
(
  flock 9
  if ! go version -m "$o2p" 2>/dev/null | grep -q "mod[[:space:]]*github.com/oauth2-proxy/oauth2-proxy/v7[[:space:]]*$o2p_version[[:space:]]"; then
    echo "bench-envoy: building oauth2-proxy $o2p_version (go install, Go module proxy) into .cache/bin" >&2
    tmp=$(mktemp -d)
    # From an empty folder, so that go install does not see (or touch) this module.
    if ! (cd "$tmp" && env "${host[@]}" GOBIN="$root/.cache/bin" GOFLAGS=-buildvcs=false \
      go install "github.com/oauth2-proxy/oauth2-proxy/v7@$o2p_version"); then
      echo "bench-envoy: could not build oauth2-proxy: its row is skipped" >&2
      rm -f "$o2p"
    fi
    rm -rf "$tmp"
  fi
) 9>"$root/.cache/bin/.oauth2-proxy.lock"

profile=()
if [ "${BENCH_ENVOY_PROFILE:-1}" = 0 ]; then
  echo "bench-envoy: no perf profile (BENCH_ENVOY_PROFILE=0)" >&2
elif perf stat -e cpu-clock true >/dev/null 2>&1; then
  profile=(-profile none,noop,shim,shim-get,shim-read,pass,warm,cold,oauth2,bearer-hit,jwt-cached,bearer-miss,jwt-uncached -profile-n 3000)
else
  echo "bench-envoy: no perf profile (perf missing or not allowed to sample: apt-get install linux-perf)" >&2
fi

echo "== plugin.wasm in Envoy, side by side (tools/benchenvoy; load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
# shellcheck disable=SC2086 # BENCH_ENVOY_ARGS is a list of flags
"$out/bin/benchenvoy" -wasm "$plugin" -noop-wasm "$out/noop.wasm" -oauth2-proxy "$o2p" \
  -out "$out/report.md" ${profile[@]+"${profile[@]}"} ${BENCH_ENVOY_ARGS:-}
