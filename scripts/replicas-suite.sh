#!/usr/bin/env bash
# The replica suite (e2e/replicas): plugin.wasm on several Envoy replicas with the same
# configuration and keys, a real Envoy in front as the balancer, and a real etcd as the store
# they share. `make test` calls this once (a plain `go test ./...` skips the scenarios: they
# need REPLICAS_SUITE=1). A scenario is one subtest (TestStore/<scenario>,
# TestNoStore/<scenario>). The full -v output goes to .cache/replicas-e2e.txt; this prints
# each scenario, the measured figures, the failures and the closing line
#   replicas: <N> scenarios across <M> Envoy replicas, <N> passed
# Exits non-zero if any scenario failed, or none ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-envoy.sh || exit 1
bash scripts/ensure-etcd.sh || exit 1
mkdir -p .cache
out=.cache/replicas-e2e.txt
# The most replicas one scenario runs at once (TestStore's deployment).
replicas=3
echo "== the replica suite: $replicas Envoy replicas, etcd, a front Envoy (output: $out)"
began=$(date +%s)
REPLICAS_SUITE=1 PLUGIN_WASM="${PLUGIN_WASM:-$PWD/plugin.wasm}" \
  go test -count=1 -timeout 8m -v ${REPLICAS_SUITE_FLAGS:-} ./e2e/replicas/ >"$out" 2>&1
rc=$?
took=$(( $(date +%s) - began ))
# A test whose set-up failed (no subtest ran) counts as one failed scenario.
passed=$(grep -cE '^ +--- PASS: Test[A-Za-z]+/' "$out")
failed=$(grep -cE '^ +--- FAIL: Test[A-Za-z]+/' "$out")
setup=$(grep -E '^--- FAIL: Test[A-Za-z]+ ' "$out" | while read -r _ _ name _; do
  grep -qE "^ +--- FAIL: $name/" "$out" || echo "$name"; done | wc -l)
failed=$((failed + setup))
grep -hE '^ +--- (PASS|FAIL): Test[A-Za-z]+/' "$out" | sed 's/^ *//'
grep -hE 'figure: ' "$out" | sed 's/^ *[a-z_]*_test\.go:[0-9]*: figure: /  /'
if [ "$rc" != 0 ]; then
  echo "-- failures (Envoy log lines left out; all of it is in $out):"
  grep -v "^ *\[20" "$out" | grep -E -A8 "_test\.go:[0-9]+: |^\s*--- FAIL" | head -300
  grep -E '^(panic|FAIL|ok)\b' "$out" | head -20
fi
echo "replicas: wall time ${took}s"
echo "replicas: $((passed + failed)) scenarios across $replicas Envoy replicas, $passed passed"
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then exit 0; fi
echo "replicas: the replica suite FAILED (go test exit $rc)"
exit 1
