package wasmexec

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

// pluginWasm reads the proxy-wasm plugin named by $PLUGIN_WASM (`make test`
// and `make bench` set it), skipping when it is not set.
func pluginWasm(tb testing.TB) []byte {
	tb.Helper()
	path := os.Getenv("PLUGIN_WASM")
	if path == "" {
		tb.Skip("PLUGIN_WASM is not set")
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}

func TestInstantiatePlugin(t *testing.T) {
	wasm := pluginWasm(t)
	ctx := context.Background()
	rt, err := NewRuntime(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"_initialize", "proxy_on_context_create", "proxy_on_request_headers"} {
		if _, ok := compiled.ExportedFunctions()[name]; !ok {
			t.Errorf("plugin.wasm does not export %s", name)
		}
	}
	for range 2 { // anonymous instances: the same module instantiates again
		mod, err := InstantiateReactor(ctx, rt, compiled)
		if err != nil {
			t.Fatal(err)
		}
		if mod.Memory() == nil || mod.Memory().Size() == 0 {
			t.Error("instantiated plugin has no linear memory")
		}
		mod.Close(ctx)
	}
}

// BenchmarkPluginCompile measures compiling plugin.wasm with wazero's
// compiler engine from scratch (no cache, one compilation worker): what a
// host pays once per plugin load. MB/s is compile throughput, which stays
// comparable as the plugin grows.
func BenchmarkPluginCompile(b *testing.B) {
	wasm := pluginWasm(b)
	ctx := context.Background()
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			b.Fatal(err)
		}
		rt.Close(ctx)
	}
}

// BenchmarkPluginInstantiate measures instantiating one VM of an already
// compiled plugin.wasm and running its _initialize (the Go runtime and
// package initialization), with the proxy-wasm imports stubbed. It reports
// the VM's linear memory after initialization as linear-MiB.
func BenchmarkPluginInstantiate(b *testing.B) {
	wasm := pluginWasm(b)
	ctx := context.Background()
	rt, err := NewRuntime(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	var mem uint32
	for b.Loop() {
		mod, err := InstantiateReactor(ctx, rt, compiled)
		if err != nil {
			b.Fatal(err)
		}
		mem = mod.Memory().Size()
		mod.Close(ctx)
	}
	b.ReportMetric(float64(mem)/(1<<20), "linear-MiB")
}
