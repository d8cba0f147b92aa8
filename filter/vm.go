// Package filter is the only package that talks to the proxy-wasm host.
package filter

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type vmContext struct {
	types.DefaultVMContext
}

// NewVMContext returns the plugin's VM context.
func NewVMContext() types.VMContext { return &vmContext{} }
