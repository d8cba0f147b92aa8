// Package testplugin gives tests the compiled plugin.wasm: the file named by $PLUGIN_WASM
// (`make test` builds it once for every package), else one built from this module the first
// time a test process asks, so `go test ./e2e/` works on its own too.
package testplugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Path returns the plugin's path, building it if needed; a failed build fails the test with
// the compiler's output.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if p := os.Getenv("PLUGIN_WASM"); p != "" {
			path = p
			return
		}
		var dir string
		if dir, err = os.MkdirTemp("", "oidc-proxy-plugin"); err != nil {
			return
		}
		path = filepath.Join(dir, "plugin.wasm")
		_, self, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, ".")
		cmd.Dir = filepath.Join(filepath.Dir(self), "..", "..")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, e := cmd.CombinedOutput(); e != nil {
			err = &buildError{string(out)}
		}
	})
	if err != nil {
		t.Fatalf("building plugin.wasm: %v", err)
	}
	return path
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }
