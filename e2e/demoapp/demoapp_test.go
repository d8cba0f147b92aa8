package demoapp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

func startOP(t *testing.T) *op.Server {
	t.Helper()
	s, err := op.Start(op.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func issue(t *testing.T, s *op.Server) *op.TokenResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := s.IssueTokens(ctx, "http://127.0.0.1:1/oauth2/callback")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// call sends a request to the handler with the headers and returns the
// recorded answer.
func call(h http.Handler, path string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func whoami(t *testing.T, h http.Handler, path string, headers map[string]string) *WhoAmI {
	t.Helper()
	rec := call(h, path, headers)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	var w WhoAmI
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	return &w
}

func TestWhoAmIReportsWhatItReceived(t *testing.T) {
	s := startOP(t)
	tr := issue(t, s)
	h := Handler(Config{Issuer: s.Issuer(), Keys: s.KeySet, TokenHeaders: []string{"x-obo-token"}})
	w := whoami(t, h, "/app1/api/whoami", map[string]string{
		"X-Auth-Request-Email":  "demo@example.com",
		"X-Auth-Request-User":   "demo-user-0001",
		"X-Auth-Request-Groups": "users,admins",
		"X-Forwarded-Id-Token":  tr.IDToken,
		"Authorization":         "Bearer " + tr.AccessToken,
		"X-Obo-Token":           "opaque-value",
		"Cookie":                "_oauth2_session=secret; other=1",
	})
	if w.App != "app1" || w.Path != "/app1/api/whoami" {
		t.Errorf("app %q path %q", w.App, w.Path)
	}
	if w.Headers["X-Auth-Request-Email"] != "demo@example.com" || len(w.Headers) != 3 {
		t.Errorf("headers %v", w.Headers)
	}
	if w.User.Email != "demo@example.com" || w.User.Subject != "demo-user-0001" || w.User.Name != "Demo User" ||
		!slices.Equal(w.User.Groups, []string{"users", "admins"}) || !slices.Equal(w.User.Sources, []string{"headers", "X-Forwarded-Id-Token"}) {
		t.Errorf("user %+v", w.User)
	}
	if !slices.Equal(w.Cookies, []string{"_oauth2_session", "other"}) {
		t.Errorf("cookies %v", w.Cookies)
	}
	for _, name := range []string{"X-Forwarded-Id-Token", "Authorization"} {
		tok := w.Tokens[name]
		if tok == nil || !tok.JWT || !tok.Verified || !tok.SignatureValid || tok.Expired || tok.ExpiresIn < 250 || tok.ExpiresAt == nil {
			t.Errorf("%s: %+v", name, tok)
		}
	}
	if a := w.Tokens["Authorization"]; a.Scheme != "Bearer" || a.Raw != tr.AccessToken || a.Claims["email"] != "demo@example.com" || a.JOSEHeader["kid"] != s.KeyID() {
		t.Errorf("Authorization: scheme %q claims %v header %v", a.Scheme, a.Claims, a.JOSEHeader)
	}
	if o := w.Tokens["X-Obo-Token"]; o == nil || o.JWT || o.Verified || o.Raw != "opaque-value" {
		t.Errorf("configured opaque header: %+v", o)
	}
	if _, ok := w.Tokens["X-Forwarded-Access-Token"]; ok {
		t.Error("absent header reported")
	}
	if c := s.Counts().JWKS; c != 0 {
		t.Errorf("in-process keys made %d JWKS requests", c)
	}
}

func TestVerdictsFollowTheProviderNow(t *testing.T) {
	s := startOP(t)
	tr := issue(t, s)
	// Keys over HTTP, found through discovery.
	h := Handler(Config{Issuer: s.Issuer()})
	tok := func() *TokenInfo {
		return whoami(t, h, "/api/whoami", map[string]string{"X-Forwarded-Access-Token": tr.AccessToken}).Tokens["X-Forwarded-Access-Token"]
	}
	if v := tok(); !v.Verified {
		t.Fatalf("fresh token: %+v", v)
	}
	if c := s.Counts(); c.JWKS != 1 || c.Discovery != 1 {
		t.Errorf("counts %+v, want one discovery and one JWKS fetch", c)
	}
	s.RotateKey()
	if v := tok(); !v.Verified {
		t.Errorf("old key still published: %+v", v)
	}
	s.RemoveOldKeys()
	if v := tok(); v.Verified || v.SignatureValid || !strings.Contains(v.Error, "not published") {
		t.Errorf("after RemoveOldKeys: %+v", v)
	}
	if c := s.Counts(); c.Discovery != 1 || c.JWKS != 3 {
		t.Errorf("counts %+v: discovery is remembered, JWKS fetched per request", c)
	}

	// Expiry.
	s.SetLifetimes(time.Second, time.Second, 0)
	short := issue(t, s)
	time.Sleep(1100 * time.Millisecond)
	w := whoami(t, h, "/api/whoami", map[string]string{"X-Forwarded-Id-Token": short.IDToken})
	if v := w.Tokens["X-Forwarded-Id-Token"]; v.Verified || !v.SignatureValid || !v.Expired || v.ExpiresIn > 0 || !strings.Contains(v.Error, "expired") {
		t.Errorf("expired: %+v", v)
	}

	// Issuer mismatch.
	other := Handler(Config{Issuer: "http://127.0.0.1:1", Keys: s.KeySet})
	fresh := issue(t, s)
	w = whoami(t, other, "/api/whoami", map[string]string{"X-Forwarded-Access-Token": fresh.AccessToken})
	if v := w.Tokens["X-Forwarded-Access-Token"]; v.Verified || !v.SignatureValid || !strings.Contains(v.Error, "issuer") {
		t.Errorf("issuer mismatch: %+v", v)
	}

	// No key source at all.
	none := Handler(Config{})
	w = whoami(t, none, "/api/whoami", map[string]string{"X-Forwarded-Access-Token": fresh.AccessToken})
	if v := w.Tokens["X-Forwarded-Access-Token"]; v.Verified || w.KeysError == "" {
		t.Errorf("no keys: %+v %q", v, w.KeysError)
	}
}

func TestRoutes(t *testing.T) {
	h := Handler(Config{Name: "main"})
	for _, tt := range []struct {
		path, app string
	}{{"/api/whoami", "main"}, {"/app1/api/whoami", "app1"}, {"/app2/api/whoami", "app2"}} {
		if w := whoami(t, h, tt.path, nil); w.App != tt.app || w.User.Subject != "" || len(w.Tokens) != 0 {
			t.Errorf("%s: %+v", tt.path, w)
		}
	}
	if rec := call(h, "/app1/api/other", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown API path: %d", rec.Code)
	}
	rec := call(h, "/app2/some/deep/page?x=1", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<h1 id="app-name">app2</h1>`) {
		t.Errorf("page under /app2/: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`id="call-api"`, `id="sign-out" href="/oauth2/sign_out"`, `const api = "/app2/api/whoami";`, `href="/app2/" class="cur"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("page is cacheable")
	}
}

func TestPageEscapesWhatItEchoes(t *testing.T) {
	s := startOP(t)
	tr := issue(t, s)
	h := Handler(Config{Issuer: s.Issuer(), Keys: s.KeySet})
	evil := `<script>alert("x")</script>`
	rec := call(h, "/", map[string]string{
		"X-Auth-Request-Email":     evil,
		"X-Auth-Request-Name":      evil,
		"X-Forwarded-Access-Token": tr.AccessToken,
		"X-Exchanged-Token":        evil,
	})
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(body, evil) || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("echoed header not escaped")
	}
	for _, want := range []string{"Verifies now", "Not received.", `data-header="X-Forwarded-Access-Token"`, "demo@example.com"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, tr.AccessToken) {
		t.Error("the page shows a whole token")
	}
}

func TestNonBearerAuthorizationIsNotEchoed(t *testing.T) {
	h := Handler(Config{})
	w := whoami(t, h, "/api/whoami", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"})
	if a := w.Tokens["Authorization"]; a == nil || a.Scheme != "Basic" || a.Raw != "" || a.JWT {
		t.Errorf("Basic authorization: %+v", a)
	}
}
