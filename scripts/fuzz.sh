#!/usr/bin/env bash
# make fuzz: runs every fuzz target in the module for FUZZTIME each (a smoke run).
set -euo pipefail
FUZZTIME=${FUZZTIME:-5s}
n=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for t in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $t ($FUZZTIME)"
    go test -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME" "$pkg"
    n=$((n+1))
  done
done
echo "fuzz: $n targets ran for $FUZZTIME each"
