#!/usr/bin/env bash
# Optimises a Go wasm module in place with binaryen's wasm-opt (the pinned version:
# scripts/ensure-binaryen.sh). `make build` and `make release` run it on plugin.wasm.
#
#   scripts/wasm-opt.sh FILE
#   WASMOPT_FLAGS   the optimisation flags (default -O3); empty: FILE is left as Go wrote it
#                   (with its name section, for scripts/wasm-size.py)
#
# Why -O3 (measured side by side in Envoy 1.40, BENCHMARKS.md "2026-12-07: module size and
# start"): the code section is 7% smaller, and V8, which compiles the whole module with its
# optimizing compiler before the plugin serves, spends about as much less CPU on it; the warm
# and bearer rows cost the same. -Oz is 3% smaller again, with the same start and rows in
# that run, but an earlier run measured its warm row slower. The feature flags are the
# post-MVP features Go's wasm output uses (Go 1.26 wasip1).
set -euo pipefail
file=${1:?usage: scripts/wasm-opt.sh FILE}
flags=${WASMOPT_FLAGS--O3}
if [ -z "$flags" ]; then
  exit 0
fi
wasm_opt=$(bash "$(dirname "$0")/ensure-binaryen.sh")
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2086 # WASMOPT_FLAGS is a list of flags
"$wasm_opt" --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals $flags "$file" -o "$tmp"
cat "$tmp" >"$file" # not mv: FILE keeps its mode (mktemp's file is 0600)
