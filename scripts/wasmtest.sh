#!/usr/bin/env bash
# Runs the pure packages' tests inside wazero: GOOS=wasip1 GOARCH=wasm go test -exec bin/wasmexec.
# Proves that the code linked into plugin.wasm works in wasm (crypto/rand, clocks, testdata reads).
#
# Usage: scripts/wasmtest.sh [go test flags...]   e.g. -count=1 -v -run TestSeal
# WASMTEST_PKGS overrides the package list; packages not in the tree yet are skipped.
# WASMEXEC_CACHE (./.cache/wazero) keeps compiled test binaries, so unchanged packages start fast.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=${WASMTEST_PKGS:-./pkce ./state ./jwt ./config ./oidc ./engine ./internal/logline}
export WASMEXEC_CACHE=${WASMEXEC_CACHE:-$PWD/.cache/wazero}
mkdir -p "$WASMEXEC_CACHE"
GOOS="$(go env GOHOSTOS)" GOARCH="$(go env GOHOSTARCH)" go build -o bin/wasmexec ./internal/wasmexec/cmd/wasmexec

present=()
for p in $pkgs; do
  if [ -d "$p" ]; then present+=("$p"); else echo "wasmtest: skipped $p: not in the tree" >&2; fi
done
if [ ${#present[@]} = 0 ]; then echo "wasmtest: no packages to test" >&2; exit 0; fi
GOOS=wasip1 GOARCH=wasm go test -exec "$PWD/bin/wasmexec" "$@" "${present[@]}"
