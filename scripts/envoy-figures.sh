#!/usr/bin/env bash
# Envoy's figures for BENCHMARKS.md ("In Envoy"), the last part of `make bench`: the time from
# Envoy's exec to the plugin serving (median of ENVOY_FIGURES_STARTS starts, 5 by default) and
# Envoy's resident memory without the plugin, with it and no session, and after 10,000 distinct
# sessions (e2e/envoysoak TestEnvoyFigures). The soak through Envoy is `make soak`.
#
#   PLUGIN_WASM          the plugin (default ./plugin.wasm; `make bench` builds it)
#   ENVOY_FIGURES_STARTS starts to take the median of (5)
#   ENVOY_FIGURES_OUT    the report (default .cache/bench-envoy/figures.md)
set -euo pipefail
cd "$(dirname "$0")/.."
export PLUGIN_WASM="${PLUGIN_WASM:-$PWD/plugin.wasm}"
export ENVOY_FIGURES_OUT="${ENVOY_FIGURES_OUT:-$PWD/.cache/bench-envoy/figures.md}"
if [ ! -f "$PLUGIN_WASM" ]; then
  echo "envoy-figures: $PLUGIN_WASM not found (make build)" >&2
  exit 1
fi
bash scripts/ensure-envoy.sh >/dev/null
echo "== plugin.wasm in Envoy: start time and resident memory (e2e/envoysoak)"
mkdir -p "$(dirname "$ENVOY_FIGURES_OUT")"
rm -f "$ENVOY_FIGURES_OUT"
status=0
ENVOY_FIGURES=1 go test -count=1 -timeout 15m -run '^TestEnvoyFigures$' ./e2e/envoysoak/ >"${ENVOY_FIGURES_OUT%.md}.log" 2>&1 || status=$?
if [ -f "$ENVOY_FIGURES_OUT" ]; then
  cat "$ENVOY_FIGURES_OUT"
fi
if [ "$status" != 0 ]; then
  echo "envoy-figures: FAILED (go test exit $status); its output:" >&2
  tail -50 "${ENVOY_FIGURES_OUT%.md}.log" >&2
fi
exit "$status"
