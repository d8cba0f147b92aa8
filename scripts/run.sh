#!/usr/bin/env bash
# make run: plugin.wasm (already built by make) in real Envoy (scripts/ensure-envoy.sh), in
# front of the demo app, with the embedded OpenID Provider. Prints where to click; Ctrl-C
# stops it. RUN_FLAGS="-proxy host" runs it in e2e/host instead.
# LISTEN=127.0.0.1:8080 and OP_LISTEN=127.0.0.1:9000 change the addresses; extra flags go
# through RUN_FLAGS (e.g. RUN_FLAGS="-access-ttl 30s -id-ttl 30s").
set -euo pipefail
exec go run ./e2e/cmd/run -wasm plugin.wasm ${RUN_FLAGS:-}
