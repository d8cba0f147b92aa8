// Command noop is the benchmarks' floor: internal/noopplugin (a plugin on the same SDK whose
// callbacks are the SDK's defaults, or, given a Shim, only a warm request's host calls), plus
// the allocation probes of e2e/bench/probe.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	_ "github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/bench/probe"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/noopplugin"
)

func init() { proxywasm.SetPluginContext(noopplugin.NewPluginContext) }

func main() {}
