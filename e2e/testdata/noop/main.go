// Command noop is a proxy-wasm plugin that does nothing: every callback is the
// SDK's default. The e2e/host benchmarks use it to measure the host's own
// cost per request, the floor under every figure for the real filter.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &types.DefaultHttpContext{} })
}

func main() {}
