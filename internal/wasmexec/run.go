package wasmexec

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// Config describes one run of a wasip1 command.
type Config struct {
	// Args is the guest's argv; Args[0] is the program name.
	Args []string
	// Env holds "KEY=VALUE" pairs, as os.Environ returns them. PWD and
	// TMPDIR are overridden (see Dir).
	Env []string
	// Dir is the host working directory. It is mounted read-only at the same
	// path in the guest and becomes the guest's working directory (PWD), so
	// both os.ReadFile("testdata/x") and absolute host paths under Dir work.
	Dir string
	// Stdin, Stdout and Stderr are the guest's standard streams; nil means
	// empty input or discarded output.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// CacheDir holds compiled modules across runs; "" disables caching.
	CacheDir string
}

// Run compiles and runs the wasip1 command module wasm and returns its exit
// code. An error means the module could not be run at all (invalid wasm,
// unresolvable imports, a trap); the exit code is then 1.
//
// Besides Dir, the guest gets a fresh writable scratch directory as TMPDIR
// (removed afterwards, so t.TempDir works), and write access to the
// directory of every absolute path given to an output flag of the testing
// package (such as -test.coverprofile=/abs/c.out) or in GOCOVERDIR.
func Run(ctx context.Context, wasm []byte, cfg Config) (int, error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return 1, fmt.Errorf("wasmexec: working directory: %w", err)
	}
	scratch, err := os.MkdirTemp("", "wasmexec-")
	if err != nil {
		return 1, fmt.Errorf("wasmexec: scratch directory: %w", err)
	}
	defer os.RemoveAll(scratch)

	rt, err := NewRuntime(ctx, cfg.CacheDir)
	if err != nil {
		return 1, err
	}
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(CompileContext(ctx), wasm)
	if err != nil {
		return 1, fmt.Errorf("wasmexec: compile: %w", err)
	}

	mc := wazero.NewModuleConfig().
		WithArgs(cfg.Args...).
		WithFSConfig(fsConfig(dir, planMounts(dir, scratch, cfg.Args, cfg.Env))).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	if cfg.Stdin != nil {
		mc = mc.WithStdin(cfg.Stdin)
	}
	if cfg.Stdout != nil {
		mc = mc.WithStdout(cfg.Stdout)
	}
	if cfg.Stderr != nil {
		mc = mc.WithStderr(cfg.Stderr)
	}
	for _, kv := range cfg.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == "PWD" || k == "TMPDIR" || strings.ContainsRune(kv, 0) {
			continue
		}
		mc = mc.WithEnv(k, v)
	}
	mc = mc.WithEnv("PWD", dir).WithEnv("TMPDIR", scratch)

	_, err = rt.InstantiateModule(ctx, compiled, mc)
	var exit *sys.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return int(exit.ExitCode()), nil
	default:
		return 1, fmt.Errorf("wasmexec: run: %w", err)
	}
}

// outputFlags are the testing package's flags whose values are paths the
// test binary writes to.
var outputFlags = map[string]bool{
	"-test.outputdir":    true,
	"-test.coverprofile": true,
	"-test.cpuprofile":   true,
	"-test.memprofile":   true,
	"-test.blockprofile": true,
	"-test.mutexprofile": true,
	"-test.trace":        true,
	"-test.testlogfile":  true,
	"-test.gocoverdir":   true,
	"-test.fuzzcachedir": true,
}

// planMounts maps each host directory to mount (at the same guest path) to
// whether it is writable.
func planMounts(dir, scratch string, args, env []string) map[string]bool {
	m := map[string]bool{dir: false, scratch: true}
	writable := func(p string) {
		if !filepath.IsAbs(p) {
			return
		}
		p = filepath.Clean(p)
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			p = filepath.Dir(p)
		}
		m[p] = true
	}
	for _, a := range args {
		if name, val, ok := strings.Cut(a, "="); ok && outputFlags[name] {
			writable(val)
		}
	}
	for _, kv := range env {
		if val, ok := strings.CutPrefix(kv, "GOCOVERDIR="); ok {
			writable(val)
		}
	}
	return m
}

// fsConfig mounts each directory at its own path, the working directory
// first (WASI runtimes treat the first preopen as the root) and the rest in
// a stable order.
func fsConfig(dir string, mounts map[string]bool) wazero.FSConfig {
	paths := make([]string, 0, len(mounts))
	for p := range mounts {
		if p != dir {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	fc := wazero.NewFSConfig()
	for _, p := range append([]string{dir}, paths...) {
		if mounts[p] {
			fc = fc.WithDirMount(p, filepath.ToSlash(p))
		} else {
			fc = fc.WithReadOnlyDirMount(p, filepath.ToSlash(p))
		}
	}
	return fc
}
