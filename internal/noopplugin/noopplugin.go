// Package noopplugin is the benchmarks' floor plugin, shared by its wasm build (e2e/bench/noop)
// and the native side (filter/bench_test.go), so both sides measure the same code. It imports
// only the SDK, encoding/json and internal/noopshim (a type), so it adds nothing to the floor
// it measures.
//
// Without a Shim in its plugin configuration every callback is the SDK's default. With one, it
// makes the host calls a warm session request makes, with no logic between them: read all
// request headers, count Metric, set each header of Set. That is the ABI traffic any plugin
// forwarding the same headers pays.
package noopplugin

import (
	"encoding/json"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/noopshim"
)

// Shim is the plugin configuration that turns the shim on (internal/noopshim).
type Shim = noopshim.Config

// VM is the plugin's VM context.
type VM struct{ types.DefaultVMContext }

func (*VM) NewPluginContext(id uint32) types.PluginContext { return NewPluginContext(id) }

// NewPluginContext returns a plugin context; it reads its Shim in OnPluginStart.
func NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct {
	types.DefaultPluginContext
	shim   *Shim
	metric proxywasm.MetricCounter
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	var s Shim
	if json.Unmarshal(data, &s) == nil && len(s.Set) > 0 {
		p.shim = &s
		p.metric = proxywasm.DefineCounterMetric(s.Metric)
	}
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext {
	if p.shim != nil {
		return &shimContext{p: p}
	}
	return &types.DefaultHttpContext{}
}

type shimContext struct {
	types.DefaultHttpContext
	p *plugin
}

func (c *shimContext) OnHttpRequestHeaders(int, bool) types.Action {
	if len(c.p.shim.Get) > 0 {
		for _, name := range c.p.shim.Get {
			_, _ = proxywasm.GetHttpRequestHeader(name) // a missing header is an answer too
		}
	} else if _, err := proxywasm.GetHttpRequestHeaders(); err != nil {
		return types.ActionContinue
	}
	c.p.metric.Increment(1)
	for _, h := range c.p.shim.Set {
		_ = proxywasm.ReplaceHttpRequestHeader(h[0], h[1])
	}
	return types.ActionContinue
}
