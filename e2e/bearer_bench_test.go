package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// BenchmarkBearerWasm measures bearer requests through the compiled plugin in the host, one
// VM, per algorithm: "hit" reuses one token (served from the VM's cache), "miss" a token
// verified on every request (past its exp, within the 5 minute leeway, so never cached).
// "floor" is a request on an auth none route: the host's and the SDK's own cost. The host has
// no upstream, so a forwarded request ends in the host's 503 "no healthy upstream", without
// any network. The native side of the same paths is BenchmarkBearerNative in filter:
//
//	go test -run '^$' -bench BenchmarkBearerNative -benchmem ./filter/
//	PLUGIN_WASM=/tmp/plugin.wasm go test -run '^$' -bench BenchmarkBearerWasm -benchmem ./e2e/
func BenchmarkBearerWasm(b *testing.B) {
	iss := newSecIssuers(b)
	issuers := map[string]*secIssuer{
		"RS256": iss.add("rs", newSecKey(b, "RS256", "rs-1")),
		"ES256": iss.add("es", newSecKey(b, "ES256", "es-1")),
		"EdDSA": iss.add("ed", newSecKey(b, "EdDSA", "ed-1")),
	}
	key, err := stack.NewKey("k1")
	if err != nil {
		b.Fatal(err)
	}
	cfg := stack.PluginConfig(iss.srv.URL+"/op", []stack.Key{key}) // the provider is never ready: not needed here
	cfg["provider"].(map[string]any)["cluster"] = "issuers"
	cfg["jwt"] = map[string]any{"leeway": "5m"}
	var names []any
	var list []any
	for _, it := range issuers {
		names = append(names, it.name)
		list = append(list, map[string]any{"name": it.name, "issuer": it.url, "insecure_allow_http": true,
			"discovery": false, "jwks_uri": it.url + "/jwks", "cluster": "issuers", "audiences": []any{secAudience}})
	}
	cfg["bearer_issuers"] = list
	cfg["routes"] = []any{
		map[string]any{"name": "api", "match": map[string]any{"prefix": "/api/"}, "auth": "bearer", "bearer_issuers": names},
		map[string]any{"name": "public", "match": map[string]any{"prefix": "/public/"}, "auth": "none"},
	}
	cfgJSON, _ := json.Marshal(cfg)
	cacheDir := ""
	if d, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(d, "oidc-proxy-wasm", "wazero")
	}
	h, err := host.New(context.Background(), host.Config{WasmPath: pluginWasm(b), PluginConfig: cfgJSON,
		PluginName: "oidc-proxy", RootID: "oidc-proxy", VMs: 1, Clusters: map[string]string{"issuers": iss.srv.URL},
		CacheDir: cacheDir, LogLevel: host.LogWarn})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())

	serve := func(path, token string) (int, string) {
		req := httptest.NewRequest("GET", "http://proxy"+path, nil)
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	forwarded := func(status int, body string) bool {
		return status == http.StatusServiceUnavailable && strings.Contains(body, "no healthy upstream")
	}
	tokens := map[string][2]string{}
	for alg, it := range issuers {
		claims := func(m map[string]any) { m["sub"] = "user-1" }
		late := func(m map[string]any) { m["exp"] = time.Now().Add(-time.Second).Unix() }
		tokens[alg] = [2]string{iss.sign(b, it, claims), iss.sign(b, it, late)}
	}
	deadline := time.Now().Add(20 * time.Second)
	for alg, tok := range tokens { // wait for the keys
		for st, body := serve("/api/x", tok[0]); !forwarded(st, body); st, body = serve("/api/x", tok[0]) {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d %s", alg, st, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	run := func(path, token string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if st, body := serve(path, token); !forwarded(st, body) {
					b.Fatalf("%d %s", st, body)
				}
			}
		}
	}
	b.Run("floor", run("/public/x", ""))
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg+"/hit", run("/api/x", tokens[alg][0]))
		b.Run(alg+"/miss", run("/api/x", tokens[alg][1]))
	}
	for _, s := range h.VMStats() {
		b.Logf("vm%d: %.1f MiB linear memory", s.Index, float64(s.MemoryBytes)/(1<<20))
	}
}

// sign makes a token of issuer it with the suite's claims, edited.
func (s *secIssuers) sign(t testing.TB, it *secIssuer, edit func(map[string]any)) string {
	now := time.Now()
	c := map[string]any{"iss": it.url, "aud": secAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"scope": "read", "groups": []any{"users"}, "email": "bench@example.com"}
	edit(c)
	return it.keys[0].sign(t, c)
}
