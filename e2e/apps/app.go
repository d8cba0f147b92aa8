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
	"time"
)

// Kind is one of the example apps: how to start it, and where its socket is.
type Kind struct {
	Name string
	// Dir is the app's folder under docs/examples/apps.
	Dir string
	// Ready is the path that answers 200 once the app serves.
	Ready string
	// Socket is the path of the app's WebSocket.
	Socket string
	// command is the app's command line for a port, as its docs give it.
	command func(root, port string) []string
}

// Shiny is docs/examples/apps/shiny, run with Debian's R and r-cran-shiny.
var Shiny = Kind{
	Name: "Shiny", Dir: "shiny", Ready: "/", Socket: "/websocket/",
	command: func(_, port string) []string {
		return []string{"R", "-q", "--no-save", "-e",
			fmt.Sprintf("shiny::runApp('app.R', port = %s, host = '127.0.0.1', launch.browser = FALSE)", port)}
	},
}

// Streamlit is docs/examples/apps/streamlit, run with the Streamlit of .cache/streamlit/venv
// (scripts/ensure-apps.sh), or $STREAMLIT_BIN.
var Streamlit = Kind{
	Name: "Streamlit", Dir: "streamlit", Ready: "/_stcore/health", Socket: "/_stcore/stream",
	command: func(root, port string) []string {
		bin := os.Getenv("STREAMLIT_BIN")
		if bin == "" {
			bin = filepath.Join(root, ".cache", "streamlit", "venv", "bin", "streamlit")
		}
		return []string{bin, "run", "app.py", "--server.port", port, "--server.address", "127.0.0.1",
			"--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"}
	},
}

// App is a running example app.
type App struct {
	URL  string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has ended
}

// Start starts kind's example app from the repository at root on 127.0.0.1:port, with env
// added to this process's environment and HOME set to home (Streamlit writes ~/.streamlit),
// in a process group of its own that Stop ends.
func Start(kind Kind, root, port, home string, env map[string]string) (*App, error) {
	argv := kind.command(root, port)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = filepath.Join(root, "docs", "examples", "apps", kind.Dir)
	cmd.Env = append(os.Environ(), "HOME="+home)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("apps: starting %s (%s): %w; scripts/ensure-apps.sh installs the apps", kind.Name, argv[0], err)
	}
	a := &App{URL: "http://127.0.0.1:" + port, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	return a, nil
}

// Stop ends the app's process group: SIGTERM, then SIGKILL after 5 s.
func (a *App) Stop() {
	pgid := a.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-a.done
	}
}

// WaitReady waits until the app answers 200 at path.
func (a *App) WaitReady(ctx context.Context, path string) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", a.URL+path, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-a.done:
			return fmt.Errorf("apps: the app exited: %s", a.Log())
		case <-ctx.Done():
			return errors.New("apps: the app did not answer in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Log is what the app has printed.
func (a *App) Log() string { return a.out.String() }

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
