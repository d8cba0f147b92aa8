package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "conformance.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", wasm, ".")
	build.Dir = filepath.Join("..", "..", "testdata", "conformance")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "upstream saw "+r.Header.Get("X-Conf-Added"))
	}))
	defer up.Close()

	t.Setenv("FROM_HOST", "host value")
	t.Setenv("NOT_PASSED", "must not leak")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	addrCh := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-wasm", wasm, "-plugin-config", cfgPath, "-upstream", up.URL,
			"-cluster", "ok=" + up.URL, "-listen", "127.0.0.1:0", "-vms", "2",
			"-env", "FROM_FLAG=a=b", "-env", "FROM_HOST", "-env", "ABSENT_ON_HOST", "-upgrade", "websocket"}, &stderr, func(a string) { addrCh <- a })
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, stderr.String())
	case <-time.After(5 * time.Minute): // compiling the plugin under -race is slow
		t.Fatal("not ready")
	}
	resp, err := http.Get("http://" + addr + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "upstream saw 1" || len(resp.Header.Values("Set-Cookie")) != 2 {
		t.Errorf("got %q %v, want the plugin's edits both ways", body, resp.Header)
	}
	// -upgrade: a websocket upgrade reaches the app (which answers it as a plain request),
	// any other type gets the connection manager's 403.
	for upgrade, want := range map[string]int{"websocket": http.StatusOK, "echo": http.StatusForbidden} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/ws", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", upgrade)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("a %s upgrade got %d, want %d", upgrade, resp.StatusCode, want)
		}
	}
	// -env: literal values and the host's own variables, nothing else.
	if resp, err = http.Get("http://" + addr + "/conf/env"); err != nil {
		t.Fatal(err)
	}
	var env struct{ Environ []string }
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := []string{"FROM_FLAG=a=b", "FROM_HOST=host value"}; !slices.Equal(env.Environ, want) {
		t.Errorf("the VM's environ is %q, want %q", env.Environ, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	logs := stderr.String()
	for _, want := range []string{"conformance: plugin start", "listening on http://", "plugin done root=1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-cluster", "noequals"},
		{"-env", "=value"},
		{"-env", "A=1", "-env", "A=2"},
		{"-log-level", "loud"},
		{"-upgrade", ""},
		{"-wasm", "/does/not/exist.wasm"},
		{"extra"},
	} {
		if err := run(context.Background(), args, io.Discard, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
