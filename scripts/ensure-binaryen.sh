#!/usr/bin/env bash
# Makes sure binaryen's wasm-opt is installed at the pinned version (BINARYEN_VERSION, the
# Debian bookworm package binaryen 108-1: what `make build` and `make release` run on the Go
# output, scripts/wasm-opt.sh). As root with apt-get it installs that package; otherwise it
# says what to install and fails. Prints the path of wasm-opt.
set -euo pipefail
want=${BINARYEN_VERSION:-108}
have() { command -v wasm-opt >/dev/null && [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" = "$want" ]; }
if ! have; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-binaryen: installing binaryen $want (apt-get, Debian package binaryen=$want-*)..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "binaryen=$want-*" >/dev/null || true
  fi
  if ! have; then
    found=$(wasm-opt --version 2>/dev/null || echo "none")
    echo "ensure-binaryen: wasm-opt version $want is needed (found: $found): install the Debian package" >&2
    echo "  binaryen=$want-1 (Debian 12 bookworm: apt-get install binaryen), or put binaryen $want's wasm-opt on PATH" >&2
    exit 1
  fi
fi
command -v wasm-opt
