// Package filter is the only package that talks to the proxy-wasm host. Its callbacks are
// thin: they read the request, ask the pure packages (config, oidc, jwt, state, pkce) for a
// decision, and apply it (continue with header edits, a local response, or a callout and then
// resume).
//
// # Contexts
//
// One vmContext per VM, one pluginContext per plugin configuration (it holds the immutable
// config, the sealer, the provider metadata and the per-VM caches), one httpContext per
// request.
package filter

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type vmContext struct {
	types.DefaultVMContext
}

// NewVMContext returns the plugin's VM context.
func NewVMContext() types.VMContext { return &vmContext{} }

func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return newPluginContext(contextID)
}
