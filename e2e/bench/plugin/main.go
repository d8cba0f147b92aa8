// Command plugin is plugin.wasm for the benchmarks: the repository's main (it registers the
// filter's VM context and nothing else) plus the allocation probes of e2e/bench/probe.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	_ "github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/bench/probe"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/filter"
)

func init() {
	proxywasm.SetVMContext(filter.NewVMContext())
}

func main() {}
