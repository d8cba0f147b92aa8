package keycloak_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
)

// TestSeedRefreshAndExchange is the seed scenario: log in, wait past the access and ID
// tokens' expiry, open a second app. It receives refreshed tokens that verify against
// Keycloak's JWKS, and a token exchanged (RFC 8693, Keycloak's standard token exchange) for
// the downstream client reports-api, active at Keycloak's introspection endpoint.
func TestSeedRefreshAndExchange(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	p := suite.shared
	u := newUser(t, p, "alice")
	u.login("/app1/")
	w1, _ := u.whoami("/app1/api/whoami")
	at1, id1 := token(t, w1, "X-Forwarded-Access-Token"), token(t, w1, "X-Forwarded-Id-Token")
	if !at1.Verified || !id1.Verified {
		t.Fatalf("login tokens do not verify: %s / %s", at1.Error, id1.Error)
	}
	sid, _ := id1.Claims["sid"].(string)
	waitPast(maxTime(claimTime(at1, "exp"), claimTime(id1, "exp")))
	began := time.Now()

	w2, pg := u.whoami("/reports/api/whoami")
	if pg.status != 200 {
		t.Fatalf("second app after expiry: %d %.300s\n%s", pg.status, pg.body, p.LogText())
	}
	at2, id2 := token(t, w2, "X-Forwarded-Access-Token"), token(t, w2, "X-Forwarded-Id-Token")
	for _, ti := range []*demoapp.TokenInfo{at2, id2} {
		if !ti.Verified || ti.Expired {
			t.Errorf("%s after the refresh: verified %v, expired %v (%s)", ti.Header, ti.Verified, ti.Expired, ti.Error)
		}
	}
	if at2.Raw == at1.Raw || id2.Raw == id1.Raw {
		t.Errorf("the second app got the login's tokens, not refreshed ones")
	}
	if id2.Claims["sub"] != id1.Claims["sub"] {
		t.Errorf("refreshed ID token sub %v, want %v", id2.Claims["sub"], id1.Claims["sub"])
	}
	xt := token(t, w2, "Authorization")
	// A second request to the second app uses the cached exchange result. (Asked right away:
	// the exchanged token lives 10 s and is exchanged again 2 s before it expires, and on a
	// loaded machine the admin API calls below took longer than that.)
	w3, _ := u.whoami("/reports/api/whoami")
	if x3 := token(t, w3, "Authorization"); x3.Raw != xt.Raw {
		t.Errorf("the exchanged token was not reused")
	}
	if !xt.Verified {
		t.Errorf("exchanged token does not verify against Keycloak's JWKS: %s", xt.Error)
	}
	if aud := audiences(xt.Claims["aud"]); !slices.Equal(aud, []string{"reports-api"}) {
		t.Errorf("exchanged token aud %v, want [reports-api]", aud)
	}
	if xt.Claims["sub"] != id1.Claims["sub"] {
		t.Errorf("exchanged token sub %v, want the user's %v", xt.Claims["sub"], id1.Claims["sub"])
	}
	in, err := suite.kc.Introspect(ctx, "reports-api", suite.reportsSecret, xt.Raw)
	if err != nil || in["active"] != true {
		t.Errorf("exchanged token at Keycloak's introspection: %v (%v)", in["active"], err)
	}
	n := countEvents(t, "REFRESH_TOKEN", sid, began)
	if n != 1 {
		t.Errorf("Keycloak saw %d refreshes of the session, want 1", n)
	}
	if n := countEvents(t, "TOKEN_EXCHANGE", sid, began); n != 1 {
		t.Errorf("Keycloak saw %d token exchanges of the session, want 1", n)
	}
	if n := countEvents(t, "REFRESH_TOKEN_ERROR", "", began); n != 0 {
		t.Errorf("Keycloak saw %d failed refreshes", n)
	}
	assertNoSecrets(t, p.LogText(), at1.Raw, id1.Raw, at2.Raw, id2.Raw, xt.Raw, suite.gatewaySecret)
}

// TestRefreshSingleFlight: 20 parallel API requests of one session whose tokens expire, over
// fresh connections (so both Envoy workers serve them): Keycloak sees exactly one refresh of
// the session and no refresh-token reuse (its rotation would revoke the session on reuse).
func TestRefreshSingleFlight(t *testing.T) {
	needSuite(t)
	p := suite.shared
	u := newUser(t, p, "bob")
	u.login("/app1/")
	w, _ := u.whoami("/app1/api/whoami")
	at, id := token(t, w, "X-Forwarded-Access-Token"), token(t, w, "X-Forwarded-Id-Token")
	sid, _ := id.Claims["sid"].(string)
	waitPast(claimTime(at, "exp").Add(-2 * time.Second)) // inside the refresh margin
	began := time.Now()
	names := []string{"oidc_proxy.refresh.ok", "oidc_proxy.refresh.waited", "oidc_proxy.refresh.waited_remote", "oidc_proxy.refresh.reused"}
	before := map[string]int64{}
	for _, n := range names {
		before[n], _ = p.Metric(n)
	}

	u.c.Transport = &http.Transport{DisableKeepAlives: true}
	type result struct {
		status int
		token  string
	}
	results := make([]result, 20)
	var wg sync.WaitGroup
	gun := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gun
			req, _ := http.NewRequest("GET", p.URL+"/app1/api/whoami", nil)
			req.Header.Set("Accept", "application/json")
			resp, err := u.c.Transport.RoundTrip(withCookies(req, u))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var wi demoapp.WhoAmI
			json.NewDecoder(resp.Body).Decode(&wi)
			results[i].status = resp.StatusCode
			if ti := wi.Tokens["X-Forwarded-Access-Token"]; ti != nil {
				results[i].token = ti.Raw
			}
		}()
	}
	close(gun)
	wg.Wait()
	for i, r := range results {
		if r.status != 200 || r.token == "" || r.token == at.Raw || r.token != results[0].token {
			t.Errorf("request %d: status %d, fresh token %v, same as request 0 %v", i, r.status,
				r.token != "" && r.token != at.Raw, r.token == results[0].token)
		}
	}
	if n := countEvents(t, "REFRESH_TOKEN", sid, began); n != 1 {
		t.Errorf("Keycloak saw %d refreshes of the session, want exactly 1\n%s", n, p.LogText())
	}
	if n := countEvents(t, "REFRESH_TOKEN_ERROR", "", began); n != 0 {
		t.Errorf("Keycloak saw %d failed refreshes (reuse of a rotated refresh token?)", n)
	}
	delta := map[string]int64{}
	for _, n := range names {
		v, _ := p.Metric(n)
		delta[strings.TrimPrefix(n, "oidc_proxy.refresh.")] = v - before[n]
	}
	t.Logf("refresh metrics (Envoy, both workers): %v", delta)
	if delta["ok"] != 1 {
		t.Errorf("metric oidc_proxy.refresh.ok went up by %d, want 1", delta["ok"])
	}
	if n := delta["waited"] + delta["waited_remote"] + delta["reused"]; n != 19 {
		t.Errorf("requests that waited for or reused the one refresh: %d, want 19", n)
	}
}

// withCookies adds the user's cookies for req's URL (RoundTrip skips the jar).
func withCookies(req *http.Request, u *user) *http.Request {
	for _, c := range u.c.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}
