#!/usr/bin/env bash
# The end-to-end suites (e2e/) on real Envoy: the same scenarios `go test ./e2e/` runs on
# e2e/host, with E2E_PROXY=envoy. The full -v output goes to .cache/envoy-e2e.txt; this prints
# the failures, the security suite's line and the closing line
#   envoy: Envoy <version> ran <N> end-to-end scenarios, <N> passed
# (scenarios are the top-level tests; tests that need what only e2e/host can do are skipped
# on Envoy and counted on a line of their own). Exits non-zero if any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-envoy.sh
mkdir -p .cache
out=.cache/envoy-e2e.txt
report=.cache/security-envoy.txt
rm -f "$report"
version="$(.cache/envoy/envoy --version | grep -o '/[0-9]\+\.[0-9]\+\.[0-9]\+/' | tr -d /)"
echo "== the end-to-end suites on Envoy $version (output: $out)"
E2E_PROXY=envoy PLUGIN_WASM="${PLUGIN_WASM:-$PWD/plugin.wasm}" SECURITY_REPORT="$PWD/$report" \
  go test -count=1 -timeout 60m -v ${ENVOY_SUITE_FLAGS:-} ./e2e/ >"$out" 2>&1
rc=$?
passed=$(grep -c '^--- PASS' "$out")
failed=$(grep -c '^--- FAIL' "$out")
skipped=$(grep -c '^--- SKIP' "$out")
hostonly=$(grep -c '^    [a-z_]*\.go:[0-9]*: host only: ' "$out")
if [ "$rc" != 0 ]; then
  echo "-- failures (Envoy log lines left out; all of it is in $out):"
  grep -v '^\[20' "$out" | grep -B2 -A40 -E '^\s*--- FAIL' | head -400
  grep -E '^(panic|FAIL|ok)\b' "$out" | head -20
fi
[ -f "$report" ] && cat "$report"
grep -h '^    .*host only: ' "$out" | sed 's/^ *[a-z_]*\.go:[0-9]*: /  skipped: /' | sort -u
echo "envoy: Envoy $version ran $((passed + failed)) end-to-end scenarios, $passed passed"
[ "$hostonly" = 0 ] || echo "envoy: $hostonly scenario(s) are host-only (they need e2e/host's internals; see e2e/README.md)"
[ "$((skipped - hostonly))" -le 0 ] || echo "envoy: $((skipped - hostonly)) scenario(s) skipped on both proxies unless asked for (e.g. SOAK=1)"
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then exit 0; fi
echo "envoy: the Envoy suite FAILED (go test exit $rc)"
exit 1
