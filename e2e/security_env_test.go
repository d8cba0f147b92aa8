package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// secIssuers serves the JWKS (and discovery documents) of the bearer issuers the security
// suite and the bearer tests configure, each under its own path: issuer {url}/{name}.
type secIssuers struct {
	srv *httptest.Server
	mu  sync.Mutex
	all map[string]*secIssuer
}

// secIssuer is one fake bearer issuer.
type secIssuer struct {
	name, url string
	keys      []*secKey        // published and used to sign
	rawKeys   []map[string]any // published as they are (bad keys)
	fault     string           // "html": discovery and JWKS answer an HTML page; "huge": a 10 MB JWKS; "deep": discovery (issuer "deep") or the JWKS (issuer "deepjwks") right but for a member nested 50,000 deep
	jwksHits  atomic.Int64
}

func newSecIssuers(t testing.TB) *secIssuers {
	s := &secIssuers{all: map[string]*secIssuer{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// add registers an issuer with its keys.
func (s *secIssuers) add(name string, keys ...*secKey) *secIssuer {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := &secIssuer{name: name, url: s.srv.URL + "/" + name, keys: keys}
	s.all[name] = it
	return it
}

// publish replaces an issuer's published keys (a rotation).
func (s *secIssuers) publish(it *secIssuer, keys ...*secKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it.keys = keys
}

func (s *secIssuers) serve(w http.ResponseWriter, r *http.Request) {
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	it := s.all[name]
	var keys []map[string]any
	if it != nil {
		for _, k := range it.keys {
			keys = append(keys, k.jwk())
		}
		keys = append(keys, it.rawKeys...)
	}
	s.mu.Unlock()
	if it == nil {
		http.NotFound(w, r)
		return
	}
	if rest == "jwks" {
		it.jwksHits.Add(1)
	}
	switch {
	case it.fault == "html":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	case rest == ".well-known/openid-configuration":
		write := writeJSONBody
		if it.fault == "deep" && it.name == "deep" {
			write = writeJSONDeep
		}
		write(w, map[string]any{
			"issuer": it.url, "authorization_endpoint": it.url + "/authorize", "token_endpoint": it.url + "/token",
			"jwks_uri": it.url + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case rest == "jwks" && it.fault == "huge":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"keys":[],"padding":"`)
		pad := strings.Repeat("A", 64<<10)
		for range 160 { // 10 MiB
			io.WriteString(w, pad)
		}
		io.WriteString(w, `"}`)
	case rest == "jwks" && it.fault == "deep" && it.name == "deepjwks":
		writeJSONDeep(w, map[string]any{"keys": keys})
	case rest == "jwks":
		writeJSONBody(w, map[string]any{"keys": keys})
	default:
		http.NotFound(w, r)
	}
}

// secUpstream is the app behind the proxy: it records the headers of every request that
// reaches it.
type secUpstream struct {
	mu   sync.Mutex
	reqs []http.Header
}

func (u *secUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.reqs = append(u.reqs, r.Header.Clone())
	u.mu.Unlock()
	io.WriteString(w, "upstream app")
}

// secEnv is the plugin in the host with a fake provider (fakeOP, for logins) and fake
// bearer issuers, in front of a recording upstream.
type secEnv struct {
	fs      *fakeStack // host, proxy URL and fakeOP: begin and finish logins
	op      *fakeOP
	iss     *secIssuers
	up      *secUpstream
	key     stack.Key // the plugin's session key
	issuers map[string]*secIssuer
	// Keys the "bad" issuer publishes that the plugin must refuse.
	smallRSA, offCurve *secKey
}

// secAudience is the audience every bearer issuer accepts.
const secAudience = "api://sec"

// startSecEnv starts the environment and waits until the provider and the issuers whose
// keys are good are ready.
func startSecEnv(t testing.TB, vms int, configure func(cfg map[string]any)) *secEnv {
	t.Helper()
	e := &secEnv{op: newFakeOP(t), iss: newSecIssuers(t), up: &secUpstream{}}
	e.issuers = map[string]*secIssuer{
		"rs":  e.iss.add("rs", newSecKey(t, "RS256", "rs-1")),
		"es":  e.iss.add("es", newSecKey(t, "ES256", "es-1")),
		"ed":  e.iss.add("ed", newSecKey(t, "EdDSA", "ed-1")),
		"bad": e.iss.add("bad", newSecKey(t, "RS256", "bad-good")),
		"down": func() *secIssuer {
			it := e.iss.add("down", newSecKey(t, "RS256", "down-1"))
			it.fault = "html"
			return it
		}(),
		"huge": func() *secIssuer {
			it := e.iss.add("huge", newSecKey(t, "RS256", "huge-1"))
			it.fault = "huge"
			return it
		}(),
		"deep": func() *secIssuer {
			it := e.iss.add("deep", newSecKey(t, "RS256", "deep-1"))
			it.fault = "deep"
			return it
		}(),
		"deepjwks": func() *secIssuer {
			it := e.iss.add("deepjwks", newSecKey(t, "RS256", "deepjwks-1"))
			it.fault = "deep"
			return it
		}(),
	}
	// The "bad" issuer also publishes keys that must be refused: RSA under 2048 bits and an
	// EC point off its curve. Tokens signed with them name their kids.
	small := newSecKey(t, "RS1024", "small-rsa")
	offCurve := newSecKey(t, "ES256", "off-curve")
	oc := offCurve.jwk()
	y, _ := base64.RawURLEncoding.DecodeString(oc["y"].(string))
	y[len(y)-1] ^= 1
	oc["y"] = base64.RawURLEncoding.EncodeToString(y)
	e.issuers["bad"].rawKeys = []map[string]any{small.jwk(), oc}
	e.smallRSA, e.offCurve = small, offCurve

	var err error
	if e.key, err = stack.NewKey("k1"); err != nil {
		t.Fatal(err)
	}
	cfg := e.pluginConfig()
	if configure != nil {
		configure(cfg)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(e.up)
	t.Cleanup(app.Close)
	cacheDir := ""
	if d, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(d, "oidc-proxy-wasm", "wazero")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p := startProxy(t, ctx, proxy.Config{
		WasmPath: pluginWasm(t), PluginConfig: cfgJSON,
		VMs: vms, Clusters: map[string]string{"oidc": e.op.srv.URL, "issuers": e.iss.srv.URL},
		Upstream: app.URL, CacheDir: cacheDir, MaxLogEntries: 1 << 20,
	})
	e.fs = &fakeStack{op: e.op, p: p, host: p.Host, url: p.URL}
	e.waitReady(t)
	return e
}

func (e *secEnv) pluginConfig() map[string]any {
	cfg := stack.PluginConfig(e.op.issuer, []stack.Key{e.key})
	cfg["provider"].(map[string]any)["timeout"] = "1s"
	issuer := func(name string, extra ...any) map[string]any {
		m := map[string]any{"name": name, "issuer": e.issuers[name].url, "insecure_allow_http": true,
			"cluster": "issuers", "audiences": []any{secAudience}}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	cfg["bearer_issuers"] = []any{
		issuer("rs"),
		issuer("es", "discovery", false, "jwks_uri", e.issuers["es"].url+"/jwks", "algorithms", []any{"ES256"}),
		issuer("ed", "audiences", []any{secAudience, "api://other"}),
		issuer("bad"),
		issuer("down"),
		issuer("huge", "discovery", false, "jwks_uri", e.issuers["huge"].url+"/jwks"),
		issuer("deep"),
		issuer("deepjwks", "discovery", false, "jwks_uri", e.issuers["deepjwks"].url+"/jwks"),
	}
	route := func(name, prefix, auth string, issuers []any, authz map[string]any) map[string]any {
		r := map[string]any{"name": name, "match": map[string]any{"prefix": prefix}, "auth": auth}
		if issuers != nil {
			r["bearer_issuers"] = issuers
		}
		if authz != nil {
			r["authorization"] = authz
		}
		return r
	}
	rs := []any{"rs"}
	cfg["routes"] = []any{
		route("api", "/api/", "bearer", []any{"rs", "es", "ed", "bad", "down", "huge", "deep", "deepjwks"}, nil),
		route("rsonly", "/api/rs/", "bearer", rs, nil),
		func() map[string]any {
			r := route("atonly", "/api/at/", "bearer", rs, nil)
			r["require_typ"] = "at+jwt"
			return r
		}(),
		func() map[string]any {
			r := route("idok", "/api/idok/", "bearer", rs, nil)
			r["accept_id_tokens"] = true
			return r
		}(),
		route("scoped", "/api/scoped/", "bearer", rs, map[string]any{"scopes": []any{"read"}}),
		route("admins", "/api/admins/", "bearer", rs, map[string]any{
			"claims": []any{map[string]any{"claim": "groups", "contains": "admins"}}}),
		route("mixed", "/mixed/", "session_or_bearer", rs, nil),
		route("adminpages", "/admin/", "session", nil, map[string]any{
			"claims": []any{map[string]any{"claim": "groups", "contains": "admins"}}}),
		route("public", "/public/", "none", nil, nil),
	}
	cfg["login"] = map[string]any{"claims": []any{"sub", "email", "name", "groups", "preferred_username"}}
	cfg["endpoints"] = map[string]any{"backchannel_logout": true, "allow_on_headers_stop_iteration": true} // security_backchannel_test.go
	cfg["allowed_hosts"] = []any{"127.0.0.1"}                                                              // redirectAttacks: forged Host
	return cfg
}

// claims are valid access token claims for issuer it.
func (e *secEnv) claims(it *secIssuer) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": it.url, "sub": "api-user-" + it.name, "aud": secAudience, "iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "scope": "read write", "groups": []any{"users", "admins"},
		"email": "api-user@example.com",
	}
}

// token signs claims with issuer it's first key.
func (e *secEnv) token(t testing.TB, it *secIssuer, edit func(map[string]any)) string {
	t.Helper()
	c := e.claims(it)
	if edit != nil {
		edit(c)
	}
	e.iss.mu.Lock()
	k := it.keys[0]
	e.iss.mu.Unlock()
	return k.sign(t, c)
}

// bearerGet sends an API request with an Authorization header (none if token is "").
func (e *secEnv) bearerGet(t testing.TB, path, token string, headers ...string) response {
	t.Helper()
	h := []string{"Accept", "application/json"}
	if token != "" {
		h = append(h, "Authorization", "Bearer "+token)
	}
	return newBrowser(t).get(e.fs.url+path, append(h, headers...)...)
}

// waitReady waits until logins start and the good issuers' tokens are accepted.
func (e *secEnv) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	ready := func() bool {
		if r := newBrowser(t).get(e.fs.url + "/"); r.status != http.StatusFound {
			return false
		}
		for _, name := range []string{"rs", "es", "ed", "bad"} {
			if r := e.bearerGet(t, "/api/x", e.token(t, e.issuers[name], nil)); r.status != http.StatusOK {
				return false
			}
		}
		return true
	}
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin did not become ready\nplugin log:\n%s", proxyLog(e.fs.p))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
