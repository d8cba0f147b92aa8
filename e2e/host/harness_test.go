package host

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Test plugins are built once per test binary, and wazero's compilation
// cache is shared by every host the tests start.
var (
	buildMu  sync.Mutex
	built    = map[string][]byte{}
	cacheDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = filepath.Join(dir, "cache")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPlugin builds e2e/testdata/<name> for wasip1 as a reactor module.
func buildPlugin(tb testing.TB, name string) []byte {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[name]; ok {
		return b
	}
	out := filepath.Join(filepath.Dir(cacheDir), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join("..", "testdata", name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s plugin: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	built[name] = b
	return b
}

func conformancePlugin(tb testing.TB) []byte { return buildPlugin(tb, "conformance") }

// upstream is the app behind the proxy: it echoes what it received as JSON.
type upstream struct {
	*httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex
	paths map[string]int // requests by path and query, counted when their headers arrive
	// tunnelsEnded: upgraded requests by path whose tunnel the app saw end.
	tunnelsEnded map[string]bool
}

func (u *upstream) tunnelEnded(path string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.tunnelsEnded[path]
}

// reached is how many requests for uri (path and query) reached the upstream (their
// headers at least).
func (u *upstream) reached(uri string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.paths[uri]
}

type echo struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{paths: map[string]int{}, tunnelsEnded: map[string]bool{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.paths[r.URL.RequestURI()]++
		u.mu.Unlock()
		if isUpgrade(r) && strings.HasPrefix(r.URL.Path, "/ws") {
			tunnelEcho(w, r)
			u.mu.Lock()
			u.tunnelsEnded[r.URL.RequestURI()] = true
			u.mu.Unlock()
			return
		}
		body, _ := io.ReadAll(r.Body)
		e := echo{Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Headers: map[string][]string{}, Body: string(body)}
		for k, v := range r.Header {
			e.Headers[strings.ToLower(k)] = v
		}
		w.Header().Add("Set-Cookie", "up=1; Path=/")
		w.Header().Set("X-Upstream-Secret", "s")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e)
	}))
	t.Cleanup(u.Close)
	return u
}

// clusters starts the callout targets: ok (answers with a trailer), slow (no
// headers for 3s), slowbody (headers, then stalls), down (refuses).
func clusters(t testing.TB) map[string]string {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Trailer")
		w.Header().Set("Content-Type", "application/json")
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"path": r.URL.RequestURI(), "host": r.Host, "method": r.Method,
			"user_agent": r.Header.Values("User-Agent"), "x_callout": r.Header.Get("X-Callout"),
			"body": string(body),
		})
		w.Header().Set("X-Trailer", "t")
	}))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	slowBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	for _, s := range []*httptest.Server{ok, slow, slowBody} {
		t.Cleanup(s.Close)
		t.Cleanup(s.CloseClientConnections) // runs first: unblocks stalled handlers
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	return map[string]string{"ok": ok.URL, "slow": slow.URL, "slowbody": slowBody.URL, "down": down}
}

// fixture is a host with the conformance plugin behind a real listener.
type fixture struct {
	h        *Host
	srv      *httptest.Server
	upstream *upstream
	client   *http.Client
}

func newFixture(t testing.TB, mutate func(*Config)) *fixture {
	t.Helper()
	up := newUpstream(t)
	cfg := Config{
		Wasm:         conformancePlugin(t),
		PluginConfig: []byte(`{}`),
		VMConfig:     []byte(`vm-config`),
		PluginName:   "conformance",
		RootID:       "conf_root",
		VMID:         "conf_vm",
		Clusters:     clusters(t),
		Upstream:     up.URL,
		CacheDir:     cacheDir,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &fixture{h: h, srv: srv, upstream: up, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request with headers given as alternating names and values.
func (f *fixture) do(t testing.TB, method, path, body string, headers ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// conf sends a GET to a /conf/ route and decodes the plugin's JSON answer.
func (f *fixture) conf(t testing.TB, path string, headers ...string) map[string]any {
	t.Helper()
	resp := f.do(t, "GET", path, "", headers...)
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("GET %s: status %d, body %q: %v", path, resp.StatusCode, b, err)
	}
	return out
}

func readEcho(t testing.TB, resp *http.Response) echo {
	t.Helper()
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("decode upstream echo (status %d): %v", resp.StatusCode, err)
	}
	return e
}

// eventually polls cond for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasLog(h *Host, substr string) (LogEntry, bool) {
	for _, e := range h.Logs() {
		if strings.Contains(e.Message, substr) {
			return e, true
		}
	}
	return LogEntry{}, false
}
