// Command plugin is the oidc-proxy-wasm proxy-wasm filter. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// main only registers the VM context; everything else lives in filter/.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/filter"
)

func init() {
	proxywasm.SetVMContext(filter.NewVMContext())
}

func main() {}
