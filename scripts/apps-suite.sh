#!/usr/bin/env bash
# The apps suite (e2e/apps): the example apps of docs/examples/apps, R Shiny and Streamlit, run
# as users run them behind plugin.wasm in real Envoy, driven by headless Chromium over their
# WebSockets. `make test` calls this once (a plain `go test ./...` skips the scenarios: they
# need APPS_SUITE=1). A scenario is one step of an app's story (a subtest of TestShiny or
# TestStreamlit). The full -v output goes to .cache/apps-e2e.txt; this prints the failures and
# the closing line
#   apps: <N> WebSocket app scenarios on Envoy, <N> passed
# Exits non-zero if any scenario failed, or none ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-envoy.sh || exit 1
bash scripts/ensure-chromium.sh || exit 1
bash scripts/ensure-apps.sh || exit 1
mkdir -p .cache
out=.cache/apps-e2e.txt
echo "== the apps suite: R Shiny and Streamlit behind Envoy, in Chromium (output: $out)"
began=$(date +%s)
APPS_SUITE=1 PLUGIN_WASM="${PLUGIN_WASM:-$PWD/plugin.wasm}" \
  go test -count=1 -timeout 10m -v ${APPS_SUITE_FLAGS:-} ./e2e/apps/ >"$out" 2>&1
rc=$?
took=$(( $(date +%s) - began ))
# Scenarios are the subtests (Test<App>/<scenario>); an app whose set-up failed counts as one
# failed scenario.
passed=$(grep -cE '^ +--- PASS: Test[A-Za-z]+/' "$out")
failed=$(grep -cE '^ +--- FAIL: Test[A-Za-z]+/' "$out")
setup=$(grep -E '^--- FAIL: Test[A-Za-z]+ ' "$out" | while read -r _ _ name _; do
  grep -qE "^ +--- FAIL: $name/" "$out" || echo "$name"; done | wc -l)
failed=$((failed + setup))
grep -hE '^ +--- (PASS|FAIL): Test[A-Za-z]+/' "$out" | sed 's/^ *//'
if [ "$rc" != 0 ]; then
  echo "-- failures (Envoy log lines left out; all of it is in $out):"
  grep -v '^ *\[20' "$out" | grep -B2 -A40 -E '^\s*--- FAIL' | head -300
  grep -E '^(panic|FAIL|ok)\b' "$out" | head -20
fi
echo "apps: wall time ${took}s"
echo "apps: $((passed + failed)) WebSocket app scenarios on Envoy, $passed passed"
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then exit 0; fi
echo "apps: the apps suite FAILED (go test exit $rc)"
exit 1
