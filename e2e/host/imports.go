package host

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

type apiType = api.ValueType

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one proxy-wasm host function. It runs on the calling VM with
// its mutex held and returns a proxy_status_t.
type hostFunc struct {
	name   string
	params []api.ValueType
	fn     func(v *vm, stack []uint64) status
}

// ints returns n i32 parameter types.
func ints(n int) []api.ValueType {
	p := make([]api.ValueType, n)
	for i := range p {
		p[i] = i32
	}
	return p
}

// abiFuncs lists every function of the "env" module of ABI 0.2.1.
func abiFuncs() []hostFunc {
	var fs []hostFunc
	for _, group := range [][]hostFunc{miscFuncs(), mapFuncs(), bufferFuncs(), streamFuncs(),
		calloutFuncs(), sharedFuncs(), metricFuncs(), propertyFuncs(), grpcFuncs()} {
		fs = append(fs, group...)
	}
	return fs
}

// instantiateEnv registers the host functions as the "env" module.
func instantiateEnv(ctx context.Context, r wazero.Runtime) error {
	b := r.NewHostModuleBuilder("env")
	for _, f := range abiFuncs() {
		fn := f.fn
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				v := vmFrom(ctx)
				if v.mod == nil { // a host call from _initialize, before newVM saw the module
					v.mod = mod
					v.lookupExports()
				}
				stack[0] = uint64(fn(v, stack))
			}), f.params, []api.ValueType{i32}).
			Export(f.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func u32(x uint64) uint32 { return uint32(x) }

// grpcFuncs: this host has no gRPC clusters, so gRPC calls are Unimplemented.
func grpcFuncs() []hostFunc {
	unimplemented := func(*vm, []uint64) status { return statusUnimplemented }
	return []hostFunc{
		{"proxy_grpc_call", ints(12), unimplemented},
		{"proxy_grpc_stream", ints(9), unimplemented},
		{"proxy_grpc_send", ints(4), unimplemented},
		{"proxy_grpc_cancel", ints(1), unimplemented},
		{"proxy_grpc_close", ints(1), unimplemented},
	}
}
