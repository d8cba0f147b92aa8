// Command noop is a proxy-wasm plugin that does nothing: every stream callback
// is the SDK's default. The e2e/host benchmarks use it to measure the host's
// own cost per request, the floor under every figure for the real filter.
// With the plugin configuration `add-header` it adds one request header, the
// smallest plugin that calls back into the host.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

func main() {}

type plugin struct {
	types.DefaultPluginContext
	addHeader bool
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, _ := proxywasm.GetPluginConfiguration()
	p.addHeader = string(cfg) == "add-header"
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext {
	if p.addHeader {
		return &addHeader{}
	}
	return &types.DefaultHttpContext{}
}

type addHeader struct{ types.DefaultHttpContext }

func (*addHeader) OnHttpRequestHeaders(int, bool) types.Action {
	_ = proxywasm.AddHttpRequestHeader("x-noop", "1")
	return types.ActionContinue
}
