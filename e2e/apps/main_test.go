package apps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// needSuite skips a scenario outside the apps suite (scripts/apps-suite.sh sets APPS_SUITE=1),
// so a plain `go test ./...` starts no app, no Envoy and no browser.
func needSuite(t *testing.T) {
	t.Helper()
	if os.Getenv("APPS_SUITE") != "1" {
		t.Skip("the apps suite runs from scripts/apps-suite.sh (make test); APPS_SUITE=1 runs it here")
	}
}

// pluginWasm is $PLUGIN_WASM, else the repository's plugin.wasm (make build).
func pluginWasm(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PLUGIN_WASM")
	if p == "" {
		p = filepath.Join(repoRoot(t), "plugin.wasm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("plugin.wasm: %v (make build, or set PLUGIN_WASM)", err)
	}
	return p
}

func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := envoy.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// appKind is one of the example apps: how to start it and what its socket's path is.
type appKind struct {
	name string
	// dir is the app's folder under docs/examples/apps.
	dir string
	// command is the app's command line for a port, as its docs give it.
	command func(t *testing.T, port string) []string
	// ready is the path that answers 200 once the app serves.
	ready string
	// socket is the path of the app's WebSocket.
	socket string
}

var shiny = appKind{
	name: "Shiny", dir: "shiny", ready: "/", socket: "/websocket/",
	command: func(_ *testing.T, port string) []string {
		return []string{"R", "-q", "--no-save", "-e",
			fmt.Sprintf("shiny::runApp('app.R', port = %s, host = '127.0.0.1', launch.browser = FALSE)", port)}
	},
}

var streamlit = appKind{
	name: "Streamlit", dir: "streamlit", ready: "/_stcore/health", socket: "/_stcore/stream",
	command: func(t *testing.T, port string) []string {
		bin := os.Getenv("STREAMLIT_BIN")
		if bin == "" {
			bin = filepath.Join(repoRoot(t), ".cache", "streamlit", "venv", "bin", "streamlit")
		}
		return []string{bin, "run", "app.py", "--server.port", port, "--server.address", "127.0.0.1",
			"--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"}
	},
}

// appProc is a running app.
type appProc struct {
	url string
	cmd *exec.Cmd
	out *lockedBuffer
	// exited is closed when the process has ended.
	exited chan struct{}
}

// startApp starts kind's example app on port with env added to this process's environment,
// in a process group of its own that the test's cleanup ends.
func startApp(t *testing.T, kind appKind, port string, env map[string]string) *appProc {
	t.Helper()
	argv := kind.command(t, port)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = filepath.Join(repoRoot(t), "docs", "examples", "apps", kind.dir)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // Streamlit writes ~/.streamlit
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s (%s): %v; scripts/ensure-apps.sh installs the apps", kind.name, argv[0], err)
	}
	p := &appProc{url: "http://127.0.0.1:" + port, cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

// stop ends the app's process group: SIGTERM, then SIGKILL after 5 s.
func (p *appProc) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// waitReady waits until the app answers 200 at path.
func (p *appProc) waitReady(ctx context.Context, path string) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.url+path, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the app exited: %s", p.out.String())
		case <-ctx.Done():
			return errors.New("the app did not answer in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
