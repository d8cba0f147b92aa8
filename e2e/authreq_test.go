package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// Pushed authorization requests (login.par, RFC 9126) and session.max_age, through the
// plugin against the embedded provider (Envoy with E2E_PROXY=envoy).

func parOptions(require bool) stack.Options {
	return stack.Options{OP: func(c *op.Config) { c.PAR, c.RequirePAR = true, require }}
}

// With the provider requiring PAR, login.par auto pushes: the browser's redirect carries only
// client_id and request_uri, and the login completes.
func TestPARLogin(t *testing.T) {
	s := start(t, parOptions(true))
	b := newBrowser(t)
	before := s.OP.Counts().PAR
	authz := b.authorize(s, "/app1/page?x=1")
	u, _ := url.Parse(authz)
	if q := u.Query(); len(q) != 2 || q.Get("client_id") == "" || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("authorization redirect %s, want only client_id and request_uri", authz)
	}
	if n := s.OP.Counts().PAR - before; n != 1 {
		t.Errorf("pushed requests: %d, want 1", n)
	}
	final := b.get(providerLogin(t, s, authz))
	if final.status != http.StatusFound || final.header.Get("Location") != "/app1/page?x=1" {
		t.Fatalf("callback: %d %q %.300s\n%s", final.status, final.header.Get("Location"), final.body, logText(s))
	}
	if w, r := b.whoami(s); r.status != http.StatusOK || w.User.Email != "demo@example.com" {
		t.Fatalf("whoami: %d %+v", r.status, w.User)
	}
	// The request_uri is single use at the provider.
	if _, err := s.OP.Login(context.Background(), authz); err == nil {
		t.Error("the provider accepted a used request_uri again")
	}
	if !strings.Contains(logText(s), "par=true") {
		t.Errorf("no login_started line with par=true:\n%s", logText(s))
	}
}

// login.par never against a provider that requires PAR: the provider refuses the request
// (its page), which shows the setting matters.
func TestPARNeverAgainstARequiringProvider(t *testing.T) {
	o := parOptions(true)
	o.Configure = func(c map[string]any) { c["login"] = map[string]any{"par": "never"} }
	s := start(t, o)
	b := newBrowser(t)
	authz := b.authorize(s, "/app1/")
	if !strings.Contains(authz, "code_challenge=") {
		t.Fatalf("par never pushed anyway: %s", authz)
	}
	r := b.get(authz)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "requires pushed authorization requests") {
		t.Fatalf("provider answered %d %.200s, want its refusal", r.status, r.body)
	}
}

// A failed push is a 502/504 page with a correlation id, never a redirect.
func TestPARFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault op.Fault
		want  int
		text  string
	}{
		{"error answer", op.Fault{Kind: op.FaultHTTP500, Status: 400}, http.StatusBadGateway, "invalid answer"},
		{"server error", op.Fault{Kind: op.FaultHTTP500}, http.StatusBadGateway, "invalid answer"},
		{"bad json", op.Fault{Kind: op.FaultInvalidJSON, Status: 201}, http.StatusBadGateway, "invalid answer"},
		{"no request_uri", op.Fault{Kind: op.FaultEditJSON, Edit: func(m map[string]any) { delete(m, "request_uri") }}, http.StatusBadGateway, "invalid answer"},
		{"no expires_in", op.Fault{Kind: op.FaultEditJSON, Edit: func(m map[string]any) { delete(m, "expires_in") }}, http.StatusBadGateway, "invalid answer"},
		{"timeout", op.Fault{Kind: op.FaultSlow, Delay: 5 * time.Second}, http.StatusGatewayTimeout, "did not answer in time"},
	}
	s := start(t, parOptions(false)) // one proxy: each case faults the next push only
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fault
			f.Times = 1
			s.OP.SetFault(op.EndpointPAR, f)
			failedBefore := strings.Count(logText(s), "reason=par")
			b := newBrowser(t)
			r := b.get(s.URL + "/app1/")
			corr := r.header.Get("X-Correlation-Id")
			if r.status != tt.want || r.header.Get("Location") != "" {
				t.Fatalf("%d location %q, want %d and no redirect; %.300s\n%s", r.status, r.header.Get("Location"), tt.want, r.body, logText(s))
			}
			if corr == "" || !strings.Contains(r.body, corr) || !strings.Contains(r.body, tt.text) {
				t.Errorf("page without the correlation id %q or %q: %.400s", corr, tt.text, r.body)
			}
			if logs := logText(s); !strings.Contains(logs, "event=login_failed") || strings.Count(logs, "reason=par") != failedBefore+1 {
				t.Errorf("not one new login_failed audit line with reason=par:\n%s", logs)
			}
		})
	}
}

func maxAgeOptions(maxAge string) stack.Options {
	return stack.Options{Configure: func(c map[string]any) {
		c["session"] = map[string]any{"max_age": maxAge}
	}}
}

// session.max_age: max_age goes to the provider; once it passes the session ends whatever the
// refreshes, an API call gets 401 and a navigation a new login in which the provider asks for
// the password again although its own session is still alive.
func TestMaxAgeForcesANewLogin(t *testing.T) {
	o := maxAgeOptions("12s")
	o.AccessTTL = 4 * time.Second // refreshes happen before max_age passes
	s := start(t, o)
	jar, _ := cookiejar.New(nil)
	opClient := &http.Client{Jar: jar} // the browser's session at the provider
	b := newBrowser(t)
	login := func() {
		t.Helper()
		authz := b.authorize(s, "/app1/")
		if u, _ := url.Parse(authz); u.Query().Get("max_age") != "12" {
			t.Fatalf("authorization request %s, want max_age=12", authz)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cb, err := s.OP.LoginAs(ctx, opClient, authz, op.DemoUsername, op.DemoPassword)
		if err != nil {
			t.Fatalf("login at the provider: %v", err)
		}
		if r := b.get(cb); r.status != http.StatusFound {
			t.Fatalf("callback: %d %.300s\n%s", r.status, r.body, logText(s))
		}
	}
	login()
	start := time.Now()
	forms := s.OP.Counts().Login
	for time.Since(start) < 9*time.Second {
		if _, r := b.whoami(s); r.status != http.StatusOK {
			t.Fatalf("whoami at %v: %d %.200s", time.Since(start), r.status, r.body)
		}
		time.Sleep(1500 * time.Millisecond)
	}
	if s.OP.Counts().Refresh == 0 {
		t.Fatal("no refresh happened before max_age passed")
	}
	time.Sleep(time.Until(start.Add(13 * time.Second)))
	if _, r := b.whoami(s); r.status != http.StatusUnauthorized {
		t.Fatalf("API call after max_age: %d, want 401", r.status)
	}
	login()
	if s.OP.Counts().Login == forms {
		t.Error("the provider did not ask for the password again (max_age not honoured)")
	}
	if _, r := b.whoami(s); r.status != http.StatusOK {
		t.Fatalf("whoami after the new login: %d", r.status)
	}
}

// An ID token without auth_time fails the login clearly when max_age is on.
func TestMaxAgeWithoutAuthTimeFailsTheLogin(t *testing.T) {
	s := start(t, maxAgeOptions("1h"))
	s.OP.SetNoAuthTime(true)
	b := newBrowser(t)
	_, final := b.login(s, "/app1/")
	if final.status != http.StatusUnauthorized || !strings.Contains(final.body, "auth_time") {
		t.Fatalf("login without auth_time: %d %.400s", final.status, final.body)
	}
	if !strings.Contains(logText(s), "event=login_failed") {
		t.Errorf("no login_failed line:\n%s", logText(s))
	}
}

// jarOptions signs request objects with a fresh key whose public half the provider knows.
func jarOptions(t *testing.T, par bool) stack.Options {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	return stack.Options{
		OP: func(c *op.Config) {
			c.PAR = par
			c.RequestObjectKeys = []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"}}
		},
		Configure: func(c map[string]any) {
			cl := c["client"].(map[string]any)
			cl["private_key"], cl["key_id"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "rp-1"
			c["login"] = map[string]any{"request_object": "signed"}
		},
	}
}

// Signed request objects (login.request_object), by value and inside PAR; once the provider
// no longer knows the client's key it refuses them, and the user sees that cleanly.
func TestRequestObjects(t *testing.T) {
	for _, par := range []bool{false, true} {
		t.Run(map[bool]string{false: "by value", true: "inside PAR"}[par], func(t *testing.T) {
			s := start(t, jarOptions(t, par))
			b := newBrowser(t)
			authz := b.authorize(s, "/app1/page")
			q, _ := url.Parse(authz)
			if par != (q.Query().Get("request_uri") != "") || !par && q.Query().Get("request") == "" || q.Query().Get("state") != "" {
				t.Fatalf("authorization redirect %s", authz)
			}
			final := b.get(providerLogin(t, s, authz))
			if final.status != http.StatusFound || final.header.Get("Location") != "/app1/page" {
				t.Fatalf("callback: %d %q %.300s\n%s", final.status, final.header.Get("Location"), final.body, logText(s))
			}

			// A key the provider does not know.
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			s.OP.SetRequestObjectKeys([]jose.JSONWebKey{{Key: &other.PublicKey, KeyID: "rp-1", Algorithm: "ES256", Use: "sig"}})
			b = newBrowser(t)
			r := b.get(s.URL + "/app1/")
			if par {
				if r.status != http.StatusBadGateway || !strings.Contains(r.body, "(invalid_request_object)") || r.header.Get("Location") != "" {
					t.Fatalf("push with an unknown key: %d %q %.300s", r.status, r.header.Get("Location"), r.body)
				}
				return
			}
			if r.status != http.StatusFound {
				t.Fatalf("navigation: %d", r.status)
			}
			if pg := b.get(r.header.Get("Location")); pg.status != http.StatusBadRequest || !strings.Contains(pg.body, "invalid_request_object") {
				t.Fatalf("provider answered %d %.300s, want its refusal", pg.status, pg.body)
			}
		})
	}
}
