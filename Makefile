# oidc-proxy-wasm. `make run` starts the demo, `make test` runs the tests.
GO        ?= go
WASM      ?= plugin.wasm
FUZZTIME  ?= 5s
STATICCHECK_VERSION ?= v0.8.2

export GOFLAGS := -buildvcs=false

.PHONY: all build test check fuzz bench run release deps clean

all: build

deps:
	@$(GO) mod download

build: deps
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(WASM) .

test: build
	@bash scripts/ensure-chromium.sh
	PLUGIN_WASM=$(CURDIR)/$(WASM) $(GO) test -count=1 ./...

check: deps
	@bash scripts/check.sh

fuzz: deps
	@FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

bench: build
	@bash scripts/bench.sh

run: build
	@bash scripts/run.sh

release: deps
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o $(WASM) .
	@ls -l $(WASM) | awk '{print "size:   " $$5 " bytes"}'
	@sha256sum $(WASM) | awk '{print "sha256: " $$1}'

clean:
	rm -f $(WASM)
