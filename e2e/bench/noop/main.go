// Command noop is the benchmarks' floor: a plugin on the same SDK whose callbacks are all the
// SDK's defaults, like e2e/testdata/noop, plus the allocation probes of e2e/bench/probe.
//
// Given a plugin configuration (filterbench.Shim), it instead makes the host calls a warm
// session request makes, with no logic between them: read all request headers, count a
// metric, set the forwarded headers. That is the ABI traffic any plugin forwarding the same
// headers pays.
package main

import (
	"encoding/json"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	_ "github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/bench/probe"
)

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

func main() {}

type plugin struct {
	types.DefaultPluginContext
	shim   *shim
	metric proxywasm.MetricCounter
}

// shim is filterbench.Shim's JSON form.
type shim struct {
	Set    [][2]string `json:"set"`
	Metric string      `json:"metric"`
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	data, _ := proxywasm.GetPluginConfiguration()
	var s shim
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
	if _, err := proxywasm.GetHttpRequestHeaders(); err != nil {
		return types.ActionContinue
	}
	c.p.metric.Increment(1)
	for _, h := range c.p.shim.Set {
		_ = proxywasm.ReplaceHttpRequestHeader(h[0], h[1])
	}
	return types.ActionContinue
}
