package keycloak_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// Pushed authorization requests (login.par) and session.max_age against Keycloak 26 through
// Envoy. Keycloak advertises its PAR endpoint, so login.par's default (auto) pushes every
// login of the suite; these scenarios check that it did and what a refused push looks like.

// authRedirect is the query of the proxy's redirect to Keycloak for a navigation to path.
func authRedirect(t *testing.T, p *proxy.Proxy, path string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", p.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != 302 || err != nil || !strings.Contains(loc.Path, "/protocol/openid-connect/auth") {
		t.Fatalf("navigation to %s: %d %v, want a redirect to Keycloak", path, resp.StatusCode, loc)
	}
	return loc.Query()
}

// TestPARWithKeycloak: the shared Envoy (login.par auto) pushes the request to Keycloak's PAR
// endpoint; the browser carries only client_id and request_uri, and the login completes.
func TestPARWithKeycloak(t *testing.T) {
	needSuite(t)
	q := authRedirect(t, suite.shared, "/app1/")
	u := newUser(t, suite.shared, "alice")
	u.login("/app1/")
	if len(q) != 2 || q.Get("client_id") != "apps-gateway" || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("authorization request %v, want only client_id and request_uri", q)
	}
	if w, pg := u.whoami("/app1/api/whoami"); pg.status != 200 || w.User.PreferredUsername != "alice" {
		t.Fatalf("whoami after a pushed login: %d %+v", pg.status, w.User)
	}
}

// TestPARRefusedByKeycloak: a push Keycloak refuses (the client's secret is wrong; Keycloak
// 26 answers 401 invalid_request "Authentication failed.") is a 502 page with a correlation
// id and the provider's code, not a redirect.
func TestPARRefusedByKeycloak(t *testing.T) {
	needSuite(t)
	p, _ := featureProxy(t, map[string]any{"client.secret": "not-the-secret", "login.par": "always"},
		map[string]any{"clientId": "authreq-par-refused"})
	u := newUser(t, p, "alice")
	u.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	pg := u.get(p.URL + "/app1/")
	corr := pg.header.Get("X-Correlation-Id")
	if pg.status != 502 || pg.header.Get("Location") != "" || corr == "" || !strings.Contains(pg.body, corr) ||
		!strings.Contains(pg.body, "refused the sign-in request (") {
		t.Fatalf("refused push: %d location %q; %.400s\n%s", pg.status, pg.header.Get("Location"), pg.body, p.LogText())
	}
	if !strings.Contains(p.LogText(), "reason=par") {
		t.Errorf("no login_failed line with reason=par:\n%s", p.LogText())
	}
}

// TestMaxAgeWithKeycloak: session.max_age sends max_age, Keycloak's ID token carries
// auth_time, and once max_age passes the session ends whatever the refreshes (the realm's
// tokens live 10 s): the API gets 401, and a navigation brings Keycloak's login form back
// although its SSO session is alive.
func TestMaxAgeWithKeycloak(t *testing.T) {
	needSuite(t)
	p, _ := featureProxy(t, map[string]any{"session.max_age": "20s"}, map[string]any{"clientId": "authreq-max-age"})
	if q := authRedirect(t, p, "/app1/"); q.Get("request_uri") == "" {
		t.Fatalf("not pushed: %v", q)
	}
	u := newUser(t, p, "bob")
	u.login("/app1/")
	w, pg := u.whoami("/app1/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d", pg.status)
	}
	authTime := claimTime(token(t, w, "X-Forwarded-Id-Token"), "auth_time")
	if authTime.IsZero() {
		t.Fatal("Keycloak's ID token has no auth_time")
	}
	// Refreshes keep the session alive until auth_time + 20 s.
	for time.Since(authTime) < 16*time.Second {
		if _, pg := u.whoami("/app1/api/whoami"); pg.status != 200 {
			t.Fatalf("whoami %v after auth_time: %d", time.Since(authTime).Round(time.Second), pg.status)
		}
		time.Sleep(2 * time.Second)
	}
	waitPast(authTime.Add(21 * time.Second))
	if _, pg := u.whoami("/app1/api/whoami"); pg.status != 401 {
		t.Fatalf("API after max_age: %d, want 401", pg.status)
	}
	pg = u.get(p.URL + "/app1/")
	if !isLoginForm(pg) {
		t.Fatalf("navigation after max_age: %d at %s, want Keycloak's login form (max_age forces a new sign-in)", pg.status, pg.url)
	}
	u.submit(pg)
	w, pg = u.whoami("/app1/api/whoami")
	if pg.status != 200 || !claimTime(token(t, w, "X-Forwarded-Id-Token"), "auth_time").After(authTime) {
		t.Fatalf("after the new login: %d, auth_time not renewed", pg.status)
	}
}
