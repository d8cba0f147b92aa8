package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestFormPostLogin signs in with login.response_mode form_post: the callback is a POSTed
// form whose body the plugin reads (OnHttpRequestBody). The provider's answer is taken in
// query form and POSTed by the test, as the provider's auto-submitting page would.
func TestFormPostLogin(t *testing.T) {
	s := start(t, stack.Options{Configure: func(c map[string]any) {
		c["login"] = map[string]any{"response_mode": "form_post"}
	}})
	b := newBrowser(t)
	path, body, binding := formPostStart(t, s, b)
	post := func(ct, body string) response {
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Cookie", binding)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatalf("%v\n%s", err, logText(s))
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, header: resp.Header, body: string(rb)}
	}
	if r := b.get(s.URL+path+"?"+body, "Cookie", binding); r.status != http.StatusBadRequest {
		t.Errorf("GET callback with a code in form_post mode: %d, want 400", r.status)
	}
	if r := post("application/json", body); r.status != http.StatusBadRequest {
		t.Errorf("form post with content type application/json: %d, want 400", r.status)
	}
	if r := post("application/x-www-form-urlencoded", strings.Repeat("x", 9000)); r.status != http.StatusBadRequest {
		t.Errorf("oversized form post: %d, want 400", r.status)
	}
	final := post("application/x-www-form-urlencoded", body)
	if final.status != http.StatusFound || final.header.Get("Location") != "/app1/page" {
		t.Fatalf("form post callback: %d %q %.300s\n%s", final.status, final.header.Get("Location"), final.body, logText(s))
	}
	if !strings.Contains(strings.Join(final.header.Values("Set-Cookie"), "\n"), "_oidc_session") {
		t.Fatalf("no session cookie: %q", final.header.Values("Set-Cookie"))
	}
	if r := post("application/x-www-form-urlencoded", body); r.status != http.StatusBadRequest {
		t.Errorf("replayed form post: %d, want 400", r.status)
	}
}

// TestJARMLogin signs in with login.response_mode query.jwt: the provider's code and state
// come back inside a JWT the provider signed (op.SignJARM), which the plugin verifies before
// it redeems the code. A tampered, mis-addressed or expired response gets a 400 page, never
// a redirect (no loop), and its code is not redeemed.
func TestJARMLogin(t *testing.T) {
	s := start(t, stack.Options{Configure: func(c map[string]any) {
		c["login"] = map[string]any{"response_mode": "query.jwt"}
	}})
	b := newBrowser(t)
	r := b.get(s.URL + "/app1/page")
	authz := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.Contains(authz, "response_mode=query.jwt") {
		t.Fatalf("GET /app1/page: %d %q\n%s", r.status, authz, logText(s))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	callback, err := s.OP.Login(ctx, strings.Replace(authz, "response_mode=query.jwt", "response_mode=query", 1))
	if err != nil {
		t.Fatalf("login at the provider: %v", err)
	}
	cu, _ := url.Parse(callback)
	q := cu.Query()
	params := map[string]string{"code": q.Get("code"), "state": q.Get("state")}
	jarm := func(override map[string]any) string {
		tok, err := s.OP.SignJARM(stack.ClientID, params, override)
		if err != nil {
			t.Fatal(err)
		}
		return s.URL + cu.Path + "?response=" + url.QueryEscape(tok)
	}
	good := jarm(nil)
	tampered := []byte(good)
	tampered[len(tampered)-3] ^= 1
	for _, tc := range []struct{ name, url string }{
		{"tampered signature", string(tampered)},
		{"wrong aud", jarm(map[string]any{"aud": "someone-else"})},
		{"expired", jarm(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})},
		{"plain code", callback},
	} {
		r := b.get(tc.url)
		if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d location %q, want a 400 page", tc.name, r.status, r.header.Get("Location"))
		}
	}
	final := b.get(good)
	if final.status != http.StatusFound || final.header.Get("Location") != "/app1/page" {
		t.Fatalf("JARM callback: %d %q %.300s\n%s", final.status, final.header.Get("Location"), final.body, logText(s))
	}
	if w, r := b.whoami(s); r.status != http.StatusOK || w.User.Email != "demo@example.com" {
		t.Fatalf("whoami after a JARM login: %d %+v", r.status, w.User)
	}
}

// TestJARMLoginAfterKeyRotation: the provider rotates its signing key during a login, so the
// JARM response names a key the plugin has not fetched. After the unknown-kid refetch the
// code exchange must still belong to the browser's request: the login ends in a 302 to the
// page, not a request that hangs with its state spent.
func TestJARMLoginAfterKeyRotation(t *testing.T) {
	s := start(t, stack.Options{Configure: func(c map[string]any) {
		c["login"] = map[string]any{"response_mode": "query.jwt"}
	}})
	b := newBrowser(t)
	r := b.get(s.URL + "/app1/page")
	authz := r.header.Get("Location")
	if r.status != http.StatusFound {
		t.Fatalf("GET /app1/page: %d\n%s", r.status, logText(s))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	callback, err := s.OP.Login(ctx, strings.Replace(authz, "response_mode=query.jwt", "response_mode=query", 1))
	if err != nil {
		t.Fatalf("login at the provider: %v", err)
	}
	cu, _ := url.Parse(callback)
	kid := s.OP.RotateKey()
	tok, err := s.OP.SignJARM(stack.ClientID, map[string]string{"code": cu.Query().Get("code"), "state": cu.Query().Get("state")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	final := b.get(s.URL + cu.Path + "?response=" + url.QueryEscape(tok))
	if final.status != http.StatusFound || final.header.Get("Location") != "/app1/page" {
		t.Fatalf("JARM callback signed by the new key %s: %d %q %.300s\n%s", kid, final.status, final.header.Get("Location"), final.body, logText(s))
	}
	if !strings.Contains(logText(s), "action=jwks_refetch") {
		t.Errorf("no unknown-key refetch in the log: the test did not exercise it\n%s", logText(s))
	}
	if w, r := b.whoami(s); r.status != http.StatusOK || w.User.Email != "demo@example.com" {
		t.Fatalf("whoami after the login: %d %+v", r.status, w.User)
	}
}
