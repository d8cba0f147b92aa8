package wasmexec

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// StubImports instantiates, in rt, a host module for every module that
// compiled imports functions from and rt does not have yet (for plugin.wasm:
// "env", whose functions are the proxy-wasm ABI). Each stub returns zeros;
// for the proxy-wasm ABI zero is WasmResult Ok, with no data written.
func StubImports(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule) error {
	builders := map[string]wazero.HostModuleBuilder{}
	var order []string
	for _, fn := range compiled.ImportedFunctions() {
		module, name, _ := fn.Import()
		if rt.Module(module) != nil {
			continue
		}
		b, ok := builders[module]
		if !ok {
			b = rt.NewHostModuleBuilder(module)
			builders[module] = b
			order = append(order, module)
		}
		results := len(fn.ResultTypes())
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
				clear(stack[:results])
			}), fn.ParamTypes(), fn.ResultTypes()).
			Export(name)
	}
	for _, module := range order {
		if _, err := builders[module].Instantiate(ctx); err != nil {
			return fmt.Errorf("wasmexec: stub module %q: %w", module, err)
		}
	}
	return nil
}

// InstantiateReactor stubs the imports of compiled (see StubImports) and
// instantiates it anonymously, so it can be instantiated many times, calling
// _initialize as a reactor's start function. The module gets the real
// clocks and crypto randomness.
func InstantiateReactor(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule) (api.Module, error) {
	if err := StubImports(ctx, rt, compiled); err != nil {
		return nil, err
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader))
	if err != nil {
		return nil, fmt.Errorf("wasmexec: instantiate reactor: %w", err)
	}
	return mod, nil
}
