// Command wasmexec runs a Go wasip1 command module on wazero (compiler
// engine, real clocks and randomness, compilation cache), passing through
// arguments, environment and standard streams, and exits with its exit code.
//
// Usage:
//
//	wasmexec [-cache dir] [-version] module.wasm [args...]
//
// It serves as `go test -exec`:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$PWD/bin/wasmexec" ./state
//
// The working directory is mounted read-only at its own path and is the
// guest's working directory, so tests read testdata/ as usual; TMPDIR is a
// fresh writable directory. The cache directory defaults to $WASMEXEC_CACHE,
// else oidc-proxy-wasm/wazero under the user cache directory; it keeps the
// most recently compiled modules only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/wasmexec"
)

// cacheEntries is how many compiled modules the cache keeps (each is
// tens of megabytes): enough for every package's test binary.
const cacheEntries = 24

func main() {
	cache := flag.String("cache", wasmexec.DefaultCacheDir(), `compilation cache directory ("" disables it)`)
	version := flag.Bool("version", false, "print the Go and wazero versions and exit")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: wasmexec [-cache dir] [-version] module.wasm [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *version {
		fmt.Println(versions())
		return
	}
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*cache, flag.Args()))
}

func run(cache string, args []string) int {
	wasm, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmexec:", err)
		return 1
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmexec:", err)
		return 1
	}
	code, err := wasmexec.Run(context.Background(), wasm, wasmexec.Config{
		Args:     args,
		Env:      os.Environ(),
		Dir:      dir,
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		CacheDir: cache,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if cache != "" {
		// Best effort: a concurrent run may be pruning too.
		_ = wasmexec.PruneCache(cache, cacheEntries)
	}
	return code
}

// versions reports the toolchain and wazero module versions this binary was
// built with, e.g. "go1.26.0 wazero v1.12.0".
func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	wz := "unknown"
	for _, d := range bi.Deps {
		if d.Path == "github.com/tetratelabs/wazero" {
			wz = d.Version
		}
	}
	return bi.GoVersion + " wazero " + wz
}
