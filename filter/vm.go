// Package filter is the only package that talks to the proxy-wasm host. Its callbacks are
// thin: they read the request, ask the pure packages (engine, config, oidc, jwt, state, pkce) for a
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
	"runtime"
	"runtime/debug"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type vmContext struct {
	types.DefaultVMContext
}

// vmMemoryLimit is the Go runtime's soft memory limit in a VM (debug.SetMemoryLimit). A VM's
// linear memory only grows: by default the GC lets the heap reach twice what is live before it
// collects, so full caches (sessions 8 MiB, bearer tokens 4 MiB) would leave a VM at some
// 45 MiB. Under this limit the GC collects earlier instead, and a VM stays near 24 MiB; the
// caches' bounds keep what is live well below it, so the GC never runs back to back.
const vmMemoryLimit = 20 << 20

// NewVMContext returns the plugin's VM context. In wasm it also sets the VM's memory limit.
func NewVMContext() types.VMContext {
	if runtime.GOOS == "wasip1" {
		debug.SetMemoryLimit(vmMemoryLimit)
	}
	return &vmContext{}
}

func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return newPluginContext(contextID)
}
