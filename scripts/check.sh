#!/usr/bin/env bash
# make check: gofmt, go vet (native and wasip1), staticcheck, go mod tidy with no diff.
set -euo pipefail
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
fail=0
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt: needs formatting:"; echo "$unformatted"; fail=1; fi
go vet ./... || fail=1
# Everything linked into plugin.wasm, vetted as wasm. filter/'s tests drive it through the SDK's
# native emulator (proxytest), which only builds natively, so filter/ itself is vetted natively
# above and compiled here as wasm.
GOOS=wasip1 GOARCH=wasm go vet . ./config/ ./oidc/ ./jwt/ ./state/ ./pkce/ ./engine/ ./internal/logline/ || fail=1
GOOS=wasip1 GOARCH=wasm go build -o /dev/null ./filter/ || fail=1
go run honnef.co/go/tools/cmd/staticcheck@"$STATICCHECK_VERSION" ./... || fail=1
cp go.mod /tmp/check.go.mod.$$; cp go.sum /tmp/check.go.sum.$$
go mod tidy
if ! diff -q go.mod /tmp/check.go.mod.$$ >/dev/null || ! diff -q go.sum /tmp/check.go.sum.$$ >/dev/null; then
  echo "go mod tidy changed go.mod/go.sum: run 'go mod tidy' and commit"; fail=1
  cp /tmp/check.go.mod.$$ go.mod; cp /tmp/check.go.sum.$$ go.sum
fi
rm -f /tmp/check.go.mod.$$ /tmp/check.go.sum.$$
[ $fail = 0 ] && echo "check: ok"
exit $fail
