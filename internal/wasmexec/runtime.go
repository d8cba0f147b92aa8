// Package wasmexec runs Go wasip1 programs on wazero the way this project
// measures them: the optimizing compiler engine, a compilation cache on disk,
// WASI preview1 with the host's real wall clock, monotonic clock, sleep and
// crypto randomness (wazero's defaults are a fake clock and a deterministic
// random source, which would make benchmarks and crypto meaningless).
//
// # Commands
//
// [Run] executes a wasip1 command module, such as a test binary built with
// `GOOS=wasip1 GOARCH=wasm go test -c`, with the caller's arguments,
// environment and standard streams, and returns its exit code. The command in
// cmd/wasmexec wraps it so that it can serve as `go test -exec`.
//
// # Reactors
//
// [InstantiateReactor] instantiates a reactor module such as plugin.wasm (a
// proxy-wasm filter built with -buildmode=c-shared) with every non-WASI import
// stubbed by a function that returns zeros. That is enough to measure compile
// and instantiate costs; it is not a proxy-wasm host.
package wasmexec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// CacheEnv names the environment variable that sets the compilation cache
// directory; the value "off" disables the cache.
const CacheEnv = "WASMEXEC_CACHE"

// DefaultCacheDir returns the compilation cache directory: $WASMEXEC_CACHE if
// set ("" when it is "off"), else oidc-proxy-wasm/wazero under the user cache
// directory ($XDG_CACHE_HOME or ~/.cache), else "".
func DefaultCacheDir() string {
	if dir, ok := os.LookupEnv(CacheEnv); ok {
		if dir == "off" {
			return ""
		}
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "oidc-proxy-wasm", "wazero")
}

// NewRuntime returns a wazero runtime on the compiler engine with WASI
// preview1 instantiated. cacheDir, when not empty, holds compiled modules
// across processes, so running the same binary again skips compilation.
func NewRuntime(ctx context.Context, cacheDir string) (wazero.Runtime, error) {
	cfg := wazero.NewRuntimeConfigCompiler()
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasmexec: compilation cache %s: %w", cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasmexec: WASI preview1: %w", err)
	}
	return rt, nil
}

// CompileContext returns ctx set up to compile with one worker per CPU: a
// Go test binary is several megabytes of wasm, and its first run is
// dominated by compilation.
func CompileContext(ctx context.Context) context.Context {
	return experimental.WithCompilationWorkers(ctx, runtime.NumCPU())
}
