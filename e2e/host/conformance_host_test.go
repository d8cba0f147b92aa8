package host

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConformance runs the conformance table (conformance_test.go) on this host, each case
// on a host of its own.
func TestConformance(t *testing.T) {
	for _, c := range conformanceCases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newHostBackend(t)) })
	}
}

// hostBackend is the conformance backend on this host: two VMs, requests handed to them in
// turn (round-robin), whatever the connection.
type hostBackend struct{ f *fixture }

func newHostBackend(t *testing.T) *hostBackend {
	// Nothing of this process's environment may reach the VMs (confEnviron).
	t.Setenv("CONFORMANCE_HOST_ONLY", "must-not-leak")
	return &hostBackend{f: newFixture(t, func(c *Config) {
		c.PluginConfig = []byte(`{"tick_ms":50,"queue":"jobs"}`)
		c.Env = map[string]string{"OIDC_CLIENT_SECRET": "s3cret", "B_EMPTY": "", "C_EQ": "a=b c"}
	})}
}

func (b *hostBackend) keepAlive() *fixture { return b.f }
func (b *hostBackend) fresh() *fixture     { return b.f }
func (b *hostBackend) host() *Host         { return b.f.h }
func (b *hostBackend) listener() string    { return strings.TrimPrefix(b.f.srv.URL, "http://") }

// onOtherVM: round-robin, so the very next request runs on the other VM.
func (b *hostBackend) onOtherVM(t *testing.T, vm any, path string, headers ...string) map[string]any {
	t.Helper()
	r := b.f.conf(t, path, headers...)
	if r["vm"] == vm {
		t.Fatalf("two requests in a row ran on VM %v; round-robin should alternate", vm)
	}
	return r
}

// pinned is a host with PinPerConnection, as Envoy always is.
func (b *hostBackend) pinned(t *testing.T) *fixture {
	return newFixture(t, func(c *Config) { c.PinPerConnection = true })
}

// down is a host whose upstream is the cluster that refuses connections.
func (b *hostBackend) down(t *testing.T) (*fixture, string) {
	return newFixture(t, func(c *Config) { c.Upstream = c.Clusters["down"] }), "/anything"
}

func (b *hostBackend) metric(name string) uint64 {
	v, _ := b.f.h.Metric(name)
	return uint64(v)
}

func (b *hostBackend) logs() []logLine {
	var out []logLine
	for _, e := range b.f.h.Logs() {
		out = append(out, logLine{vm: strconv.Itoa(e.VM), msg: e.Message})
	}
	return out
}

// What follows is the host's own: how it starts and stops, and what Envoy does that the
// conformance plugin cannot observe from inside one shared Envoy (TestEnvoyConformance
// checks Envoy's side of the start, the refusal and the lifecycle on its own terms).

func TestConfigureFailureRefusesStart(t *testing.T) {
	_, err := New(context.Background(), Config{
		Wasm:         conformancePlugin(t),
		PluginConfig: []byte(`{"fail":"issuer is not https"}`),
		CacheDir:     cacheDir,
	})
	if err == nil {
		t.Fatal("New accepted a plugin whose proxy_on_configure returned false")
	}
	for _, want := range []string{"proxy_on_configure returned false", "refusing to start: issuer is not https"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no wasm", Config{}, "Wasm or WasmPath is required"},
		{"bad cluster", Config{Wasm: []byte{0}, Clusters: map[string]string{"idp": "ftp://x"}}, `Clusters["idp"]`},
		{"bad upstream", Config{Wasm: []byte{0}, Upstream: "127.0.0.1:80"}, "Upstream"},
		{"not proxy-wasm", Config{Wasm: []byte("\x00asm\x01\x00\x00\x00")}, "proxy_abi_version"},
		{"env name with =", Config{Wasm: []byte{0}, Env: map[string]string{"A=B": "c"}}, `Env["A=B"]`},
		{"empty env name", Config{Wasm: []byte{0}, Env: map[string]string{"": "c"}}, `Env[""]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLifecycleAndLogs(t *testing.T) {
	f := newFixture(t, nil)
	f.conf(t, "/conf/clock")
	eventually(t, time.Second, "proxy_on_log", func() bool {
		_, ok := hasLog(f.h, "stream done id=2 path=/conf/clock status=200")
		return ok
	})
	for vm := 0; vm < 2; vm++ {
		for _, want := range []string{"conformance: init", `vm_config="vm-config"`} {
			var seen bool
			for _, e := range f.h.Logs() {
				seen = seen || e.VM == vm && strings.Contains(e.Message, want)
			}
			if !seen {
				t.Errorf("VM %d did not log %q (from _initialize, then proxy_on_vm_start)", vm, want)
			}
		}
	}
	for _, s := range f.h.VMStats() {
		if s.MemoryBytes == 0 || s.Calls == 0 || s.Failed {
			t.Errorf("VMStats = %+v", s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := hasLog(f.h, "plugin done root=1"); !ok {
		t.Error("Close did not call proxy_on_done on the root context")
	}
}

// A trap in the guest fails that VM, as in Envoy: its streams get 503 and no
// more callbacks, while the other VM keeps serving.
func TestTrapFailsTheVM(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.do(t, "GET", "/conf/panic", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d after a guest panic, want 503", resp.StatusCode)
	}
	if _, ok := hasLog(f.h, "conformance: boom"); !ok {
		t.Error("the guest's panic message (stderr) is not in the logs")
	}
	failed := 0
	for _, s := range f.h.VMStats() {
		if s.Failed {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed VMs, want 1", failed)
	}
	codes := map[int]int{}
	for i := 0; i < 4; i++ {
		codes[f.do(t, "GET", "/conf/clock", "").StatusCode]++
	}
	if codes[200] != 2 || codes[503] != 2 {
		t.Errorf("statuses across VMs = %v, want two 200 and two 503", codes)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.StreamIdleTimeout = 200 * time.Millisecond })
	resp := f.do(t, "GET", "/conf/callout", "", "x-cluster", "slow", "x-timeout-ms", "0")
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a stream paused past the idle timeout got %d, want 408", resp.StatusCode)
	}
}

func TestNoUpstream(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Upstream = "" })
	resp := f.do(t, "GET", "/anything", "")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || string(b) != "no healthy upstream" {
		t.Errorf("got %d %q, want Envoy's 503 no healthy upstream", resp.StatusCode, b)
	}
}
