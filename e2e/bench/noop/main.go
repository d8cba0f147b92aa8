// Command noop is the benchmarks' floor: a plugin on the same SDK whose callbacks are all the
// SDK's defaults, like e2e/testdata/noop, plus the allocation probes of e2e/bench/probe.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	_ "github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/bench/probe"
)

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

func main() {}

type plugin struct{ types.DefaultPluginContext }

func (*plugin) NewHttpContext(uint32) types.HttpContext { return &types.DefaultHttpContext{} }
