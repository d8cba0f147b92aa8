# oidc-proxy-wasm. `make run` starts the demo, `make test` runs the tests.
GO        ?= go
WASM      ?= plugin.wasm
FUZZTIME  ?= 5s
STATICCHECK_VERSION ?= v0.8.2

export GOFLAGS := -buildvcs=false

.PHONY: all build test check fuzz bench bench-envoy run release deps clean

all: build

deps:
	@$(GO) mod download

# build: plugin.wasm, then binaryen's wasm-opt -O3 on it (scripts/wasm-opt.sh, binaryen pinned by
# scripts/ensure-binaryen.sh): a smaller module that Envoy's V8 compiles faster.
# WASMOPT_FLAGS= (empty) keeps Go's output as is, with its name section for scripts/wasm-size.py.
build: deps
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(WASM) .
	@bash scripts/wasm-opt.sh $(WASM)

test: build
	@bash scripts/ensure-envoy.sh
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-etcd.sh
	@mkdir -p .cache && rm -f .cache/security.txt
	PLUGIN_WASM=$(CURDIR)/$(WASM) SECURITY_REPORT=$(CURDIR)/.cache/security.txt $(GO) test -count=1 ./...
	@cat .cache/security.txt
	@echo "== the pure packages' tests again, inside wasm (what plugin.wasm links)"
	@bash scripts/wasmtest.sh -count=1
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/envoy-suite.sh
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/replicas-suite.sh
	@bash scripts/ensure-apps.sh
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/apps-suite.sh
	@bash scripts/ensure-keycloak.sh
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/keycloak-suite.sh

check: deps
	@bash scripts/check.sh

fuzz: deps
	@FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

bench: build
	@bash scripts/ensure-envoy.sh
	@bash scripts/bench.sh
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/envoy-figures.sh
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/bench-envoy.sh

# bench-envoy: a request's cost in Envoy 1.40 (one worker) with plugin.wasm, next to Envoy's
# oauth2 and jwt_authn filters and oauth2-proxy: CPU per request, p50/p99, req/s, each minus
# no filter, ratios to the native peers (BENCHMARKS.md). About 5 minutes; BENCH_ENVOY_ARGS
# passes flags to tools/benchenvoy.
bench-envoy: build
	@PLUGIN_WASM=$(CURDIR)/$(WASM) bash scripts/bench-envoy.sh

run: build
	@bash scripts/ensure-envoy.sh
	@bash scripts/run.sh

# release: plugin.wasm built for shipping: -trimpath, no VCS stamp, stripped (-s -w), optimised
# with wasm-opt as in build. It is then built and optimised again in a copy of the tree with an
# empty build cache, and the two must be identical (RELEASE_CHECK=0 skips that). Prints the Go
# and wasm-opt versions, size and SHA-256.
release: deps
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o $(WASM) .
	@bash scripts/wasm-opt.sh $(WASM)
	@if [ "$(RELEASE_CHECK)" != 0 ]; then \
	  set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; mkdir "$$tmp/src"; \
	  echo "reproducibility: building again in a copy of the tree, with an empty build cache"; \
	  tar -cf - --exclude=./.git --exclude=./.cache --exclude=./bin --exclude=./dist --exclude='*.wasm' . | tar -xf - -C "$$tmp/src"; \
	  (cd "$$tmp/src" && GOCACHE="$$tmp/cache" GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o "$$tmp/plugin.wasm" .); \
	  bash scripts/wasm-opt.sh "$$tmp/plugin.wasm"; \
	  if ! cmp -s $(WASM) "$$tmp/plugin.wasm"; then \
	    echo "release: NOT reproducible: the second build differs (or the tree changed meanwhile)"; exit 1; fi; \
	  echo "reproducibility: the second build is identical"; \
	fi
	@echo "go:     $$($(GO) env GOVERSION) (the same Go version and tree give the same bytes)"
	@echo "wasm-opt: $$(wasm-opt --version 2>/dev/null) $${WASMOPT_FLAGS--O3}"
	@echo "file:   $(WASM)"
	@echo "size:   $$(wc -c < $(WASM)) bytes"
	@echo "sha256: $$(sha256sum $(WASM) | cut -d' ' -f1)"

# image: the release plugin.wasm as an OCI image layout for Istio's WasmPlugin, in dist/oci
# (IMAGE_DIR), tagged IMAGE_TAG (default latest); file times from SOURCE_DATE_EPOCH, else the
# last commit. Push it with skopeo, crane or oras: docs/istio.md.
.PHONY: image
image: release
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null)} \
	  $(GO) run ./deploy/cmd/wasm-image -wasm $(WASM) -out $(or $(IMAGE_DIR),dist/oci) -tag $(or $(IMAGE_TAG),latest)

clean:
	rm -f $(WASM)

# make soak: 100,000 mixed requests (warm sessions, cached and verified bearer tokens, forged
# tokens, logins) through plugin.wasm, first in the test host (each VM's linear memory at the
# start and after 10k, 50k and 100k requests: e2e/soak_test.go), then through real Envoy
# (Envoy's resident memory at 10k, 50k and 100k: e2e/envoysoak). A few minutes on 2 cores.
.PHONY: soak
soak: build
	@bash scripts/ensure-envoy.sh
	SOAK=1 PLUGIN_WASM=$(CURDIR)/$(WASM) $(GO) test -count=1 -v -timeout 15m -run '^TestSoak$$' ./e2e/
	SOAK=1 PLUGIN_WASM=$(CURDIR)/$(WASM) $(GO) test -count=1 -v -timeout 15m -run '^TestEnvoySoak$$' ./e2e/envoysoak/
