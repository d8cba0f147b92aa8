#!/usr/bin/env bash
# The Keycloak suite (e2e/keycloak): one real Keycloak for all its scenarios, the plugin in
# real Envoy (two workers) configured from docs/examples/keycloak.json, headless Chromium for
# the browser parts. `make test` calls this once (a plain `go test ./...` skips its scenarios:
# they need KEYCLOAK_SUITE=1, so Keycloak never starts twice; the realm
# template's own test, TestRealm, runs there and is left out here). The full -v output goes
# to .cache/keycloak-e2e.txt and Keycloak's log to .cache/keycloak-server.log; this prints
# Keycloak's start-up time, the failures and the closing line
#   keycloak: Keycloak <version> ran <N> scenarios, <N> passed
# Exits non-zero if any scenario failed, or none ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-keycloak.sh >/dev/null || exit 1
bash scripts/ensure-envoy.sh || exit 1
bash scripts/ensure-chromium.sh || exit 1
bash scripts/ensure-apps.sh || exit 1 # TestShinyApp runs the example Shiny app
mkdir -p .cache
out=.cache/keycloak-e2e.txt
version=$(sed -n 's/^version=//p' scripts/ensure-keycloak.sh)
echo "== the Keycloak suite: Keycloak $version, Envoy, Chromium (output: $out)"
began=$(date +%s)
KEYCLOAK_SUITE=1 KEYCLOAK_LOG="$PWD/.cache/keycloak-server.log" PLUGIN_WASM="${PLUGIN_WASM:-$PWD/plugin.wasm}" \
  go test -count=1 -timeout 25m -v -skip '^TestRealm$' ${KEYCLOAK_SUITE_FLAGS:-} ./e2e/keycloak/ >"$out" 2>&1
rc=$?
took=$(( $(date +%s) - began ))
passed=$(grep -c '^--- PASS' "$out")
failed=$(grep -c '^--- FAIL' "$out")
skipped=$(grep -c '^--- SKIP' "$out")
grep -h '^keycloak: ' "$out"
if [ "$rc" != 0 ]; then
  echo "-- failures (Envoy log lines left out; all of it is in $out):"
  grep -v '^ *\[20' "$out" | grep -B2 -A40 -E '^\s*--- FAIL' | head -300
  grep -E '^(panic|FAIL|ok)\b|suite set-up failed' "$out" | head -20
fi
echo "keycloak: Keycloak $version ran $((passed + failed + skipped)) scenarios, $passed passed (wall time ${took}s)"
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$skipped" = 0 ] && [ "$passed" -gt 0 ]; then exit 0; fi
echo "keycloak: the Keycloak suite FAILED (go test exit $rc)"
exit 1
