package host

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The host's own cost, to subtract from the filter's figures: the noop plugin
// (e2e/testdata/noop) leaves every callback at the SDK's default.

func newNoopHost(b *testing.B, upstream, pluginConfig string) *Host {
	b.Helper()
	h, err := New(context.Background(), Config{Wasm: buildPlugin(b, "noop"), Upstream: upstream,
		PluginConfig: []byte(pluginConfig), CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func benchUpstream(b *testing.B) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from upstream\n")
	}))
	b.Cleanup(up.Close)
	return up
}

func benchGet(b *testing.B, client *http.Client, url string) {
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkHostNoop is one request through the listener, the noop plugin's
// full lifecycle and the upstream, over loopback with keep-alive.
func BenchmarkHostNoop(b *testing.B) {
	up := benchUpstream(b)
	h := newNoopHost(b, up.URL, "")
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := &http.Client{}
	url := srv.URL + "/app/page?x=1"
	benchGet(b, client, url)
	b.ReportAllocs()
	for b.Loop() {
		benchGet(b, client, url)
	}
}

// BenchmarkUpstreamDirect is the same request sent straight to the upstream:
// BenchmarkHostNoop minus this is what the host adds.
func BenchmarkUpstreamDirect(b *testing.B) {
	up := benchUpstream(b)
	client := &http.Client{}
	url := up.URL + "/app/page?x=1"
	benchGet(b, client, url)
	b.ReportAllocs()
	for b.Loop() {
		benchGet(b, client, url)
	}
}

// BenchmarkHostLifecycle is one stream's VM calls only, no HTTP: context
// create, request headers, response headers, then log, done and delete, as
// Envoy calls them for a GET answered without a body. "noop" is the floor;
// "add-header" adds one request header (one host call and one allocation in
// the guest).
func BenchmarkHostLifecycle(b *testing.B) {
	for _, cfg := range []string{"noop", "add-header"} {
		b.Run(cfg, func(b *testing.B) { benchLifecycle(b, newNoopHost(b, "", cfg)) })
	}
}

func benchLifecycle(b *testing.B, h *Host) {
	v := h.vms[0]
	req := &headerMap{pairs: [][2]string{
		{":authority", "app.example.com"}, {":path", "/app/page?x=1"}, {":method", "GET"}, {":scheme", "https"},
		{"accept", "text/html"}, {"cookie", "session=abc"}, {"user-agent", "bench"},
		{"x-forwarded-proto", "https"}, {"x-request-id", "0b6f4d0e-6d6c-4d8e-9a43-4a4f5e5c0d11"},
	}}
	resp := &headerMap{pairs: [][2]string{
		{":status", "200"}, {"content-type", "text/plain"}, {"content-length", "20"},
	}}
	b.ReportAllocs()
	for b.Loop() {
		v.mu.Lock()
		s := &stream{h: h, v: v, req: req.clone(), resp: resp}
		s.id = v.newContextID()
		v.streams[s.id] = s
		id := uint64(s.id)
		_, err := v.call(v.fn.onContextCreate, s.id, id, rootContextID)
		s.reqOpen = true
		_, err2 := v.call(v.fn.onRequestHeaders, s.id, id, uint64(req.len()), 1)
		s.reqOpen, s.respOpen = false, true
		_, err3 := v.call(v.fn.onResponseHeaders, s.id, id, uint64(resp.len()), 1)
		s.respOpen, s.logPhase = false, true
		_, _ = v.call(v.fn.onLog, s.id, id)
		s.logPhase = false
		_, _ = v.call(v.fn.onDone, s.id, id)
		_, _ = v.call(v.fn.onDelete, s.id, id)
		delete(v.streams, s.id)
		v.mu.Unlock()
		if err != nil || err2 != nil || err3 != nil {
			b.Fatal(err, err2, err3)
		}
	}
}
