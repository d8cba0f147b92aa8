package keycloak_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/keycloak"
)

// TestRealmServed: the harness started Keycloak with the test realm imported.
func TestRealmServed(t *testing.T) {
	needSuite(t)
	resp, err := http.Get(suite.kc.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Issuer                        string   `json:"issuer"`
		GrantTypes                    []string `json:"grant_types_supported"`
		EndSession                    string   `json:"end_session_endpoint"`
		Revocation                    string   `json:"revocation_endpoint"`
		BackchannelLogoutSupported    bool     `json:"backchannel_logout_supported"`
		CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Issuer != suite.kc.Issuer {
		t.Fatalf("discovery issuer %q (%v), want %q", d.Issuer, err, suite.kc.Issuer)
	}
	if !slices.Contains(d.GrantTypes, "urn:ietf:params:oauth:grant-type:token-exchange") || d.EndSession == "" ||
		d.Revocation == "" || !d.BackchannelLogoutSupported || !slices.Contains(d.CodeChallengeMethodsSupported, "S256") {
		t.Fatalf("discovery lacks what the suite needs: %+v", d)
	}
	t.Logf("Keycloak %s started in %s", keycloak.Version, suite.kc.Startup.Round(100*time.Millisecond))
}

// TestBrowserLoginDeepLink: a deep link logs in through Keycloak's own form in Chromium and
// lands on the exact URL; the app receives the groups, the realm roles and the client roles
// (nested claims) in headers; the admin route's rule on a realm role lets alice in.
func TestBrowserLoginDeepLink(t *testing.T) {
	needSuite(t)
	p := suite.shared
	b := newTab(t, p)
	const deep = "/app1/some/page?x=1&y=%C3%A9"
	b.navigate(deep)
	b.login("alice")
	if got := b.location(); got != p.URL+deep {
		t.Fatalf("after login the browser is at %q, want the deep link %q", got, p.URL+deep)
	}
	var w demoapp.WhoAmI
	if st := b.fetchJSON("/app1/api/whoami", &w); st != 200 {
		t.Fatalf("whoami: %d", st)
	}
	want := map[string]string{
		"X-Auth-Request-Email":              "alice@example.com",
		"X-Auth-Request-Preferred-Username": "alice",
	}
	for h, v := range want {
		if got := w.Headers[h]; got != v {
			t.Errorf("%s = %q, want %q (headers %v)", h, got, v, w.Headers)
		}
	}
	// Keycloak lists roles (and groups) in no fixed order.
	for h, v := range map[string][]string{
		"X-Auth-Request-Groups":       {"/admins", "/staff"},
		"X-Auth-Request-Roles":        {"app-admin", "app-user", "offline_access"},
		"X-Auth-Request-Client-Roles": {"editor", "viewer"},
	} {
		if got := sorted(strings.Split(w.Headers[h], ",")); !slices.Equal(got, v) {
			t.Errorf("%s = %q, want %v in any order", h, w.Headers[h], v)
		}
	}
	if sub := w.Headers["X-Auth-Request-User"]; sub == "" || sub != w.Tokens["X-Forwarded-Id-Token"].Claims["sub"] {
		t.Errorf("X-Auth-Request-User %q is not the ID token's sub", sub)
	}
	if st := b.fetchJSON("/admin/api/whoami", nil); st != 200 {
		t.Errorf("alice (realm role app-admin) at /admin/: %d, want 200", st)
	}
}

// TestRealmRoleRule: bob, without the realm role app-admin, gets 403 at the admin route, and
// his headers carry only his own roles.
func TestRealmRoleRule(t *testing.T) {
	needSuite(t)
	p := suite.shared
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s", pg.url)
	}
	w, pg := u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d %.300s", pg.status, pg.body)
	}
	if g, r, c := w.Headers["X-Auth-Request-Groups"], w.Headers["X-Auth-Request-Roles"], w.Headers["X-Auth-Request-Client-Roles"]; g != "/staff" ||
		r != "app-user" || c != "viewer" {
		t.Errorf("bob's headers: groups %q, roles %q, client roles %q", g, r, c)
	}
	if pg := u.api("/admin/api/whoami"); pg.status != http.StatusForbidden {
		t.Errorf("bob at /admin/: %d, want 403; %.300s", pg.status, pg.body)
	}
	if pg := u.get(p.URL + "/admin/"); pg.status != http.StatusForbidden || strings.Contains(pg.url, suite.kc.URL) {
		t.Errorf("bob's navigation to /admin/: %d at %s, want 403 (no login loop)", pg.status, pg.url)
	}
}

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
	// A second request to the second app uses the cached exchange result.
	w3, _ := u.whoami("/reports/api/whoami")
	if x3 := token(t, w3, "Authorization"); x3.Raw != xt.Raw {
		t.Errorf("the exchanged token was not reused")
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

// TestSignOut: sign-out revokes the refresh token at Keycloak and ends Keycloak's session
// through RP-initiated logout, so the next visit shows the password form again.
func TestSignOut(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	p := suite.shared
	b := newTab(t, p)
	b.navigate("/app2/")
	b.login("alice")
	var w demoapp.WhoAmI
	if st := b.fetchJSON("/app2/api/whoami", &w); st != 200 {
		t.Fatalf("whoami: %d", st)
	}
	sid, _ := w.Tokens["X-Forwarded-Id-Token"].Claims["sid"].(string)
	if !hasSession(t, "alice", sid) {
		t.Fatalf("Keycloak has no session %s for alice after login", sid)
	}
	began := time.Now().Add(-time.Second)
	b.navigate("/oauth2/sign_out")
	// post_logout_redirect_url is the site's root, which needs a login: with Keycloak's
	// session gone, that is the password form, not an SSO bounce back into the app.
	if !b.onLoginForm() {
		t.Fatalf("after sign-out the browser is at %s, want Keycloak's password form", b.location())
	}
	if hasSession(t, "alice", sid) {
		t.Errorf("Keycloak still has session %s after sign-out", sid)
	}
	if n := countEvents(t, "REVOKE_GRANT", sid, began); n != 1 {
		t.Errorf("Keycloak logged %d revocations for the session, want 1", n)
	}
	// The revocation ended Keycloak's session already: the logout request that follows finds
	// none (docs/providers.md says so; this notices when Keycloak changes).
	if n, m := countEvents(t, "LOGOUT", sid, began), countEvents(t, "LOGOUT_ERROR", "", began); n != 0 || m != 1 {
		t.Errorf("Keycloak logged %d logouts and %d failed logouts, want 0 and 1 (session_expired)", n, m)
	}
	b.login("alice")
	if st := b.fetchJSON("/app2/api/whoami", nil); st != 200 {
		t.Errorf("after logging in again: %d", st)
	}

	// The same without JavaScript, hop by hop: the plugin sends the browser to Keycloak's
	// end_session_endpoint (RP-initiated logout) and Keycloak back to the site.
	u := newUser(t, p, "bob")
	u.login("/app1/")
	pg := u.get(p.URL + "/oauth2/sign_out")
	endSession := suite.kc.Issuer + "/protocol/openid-connect/logout?"
	if !slices.ContainsFunc(u.hops, func(h string) bool { return strings.HasPrefix(h, endSession) }) || !isLoginForm(pg) {
		t.Errorf("sign-out went %v and ended on %d %s; want a visit to %s and the password form", u.hops, pg.status, pg.url, endSession)
	}
	if ss, err := suite.kc.UserSessions(ctx, "bob"); err != nil {
		t.Fatal(err)
	} else if len(ss) != 0 {
		// Other scenarios' sessions of bob ended already or were signed out; none may stay.
		t.Logf("bob's sessions after sign-out: %d", len(ss))
	}
}

func hasSession(t testing.TB, username, sid string) bool {
	t.Helper()
	ss, err := suite.kc.UserSessions(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.ID == sid {
			return true
		}
	}
	return false
}

// countEvents counts Keycloak events of type since a moment, for session sid (any when "").
func countEvents(t testing.TB, typ, sid string, since time.Time) int {
	t.Helper()
	ev, err := suite.kc.Events(context.Background(), typ)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ev {
		if e.Time >= since.UnixMilli()-1000 && (sid == "" || e.SessionID == sid) {
			n++
		}
	}
	return n
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, e := range a {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func assertNoSecrets(t testing.TB, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("Envoy's log holds a token or secret (%.12s…)", s)
		}
	}
}

// jwtPayload decodes a JWT's claims without verifying it.
func jwtPayload(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOfflineAccess: where offline_access is asked for and granted, the plugin's token
// endpoint (refresh token for offline grants only) gives the app alice's offline token, which
// Keycloak keeps as an offline session; where it is not asked for, the session's (online)
// refresh token stays with the plugin. Keycloak refuses the login of a user without the
// offline_access role when it is asked for (bob): a 502 with its error, no token.
func TestOfflineAccess(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	type tokens struct {
		AccessToken  string `json:"access_token"`
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	get := func(u *user) tokens {
		t.Helper()
		pg := u.api("/oauth2/token")
		var tk tokens
		if pg.status != 200 || json.Unmarshal([]byte(pg.body), &tk) != nil || tk.AccessToken == "" {
			t.Fatalf("%s: {prefix}/token: %d at %s via %v: %.300s", u.name, pg.status, pg.url, u.hops, pg.body)
		}
		if pg.header.Get("Cache-Control") != "no-store" {
			t.Errorf("{prefix}/token Cache-Control %q", pg.header.Get("Cache-Control"))
		}
		return tk
	}
	scopes := func(tk tokens) []string {
		s, _ := jwtPayload(t, tk.AccessToken)["scope"].(string)
		return strings.Fields(s)
	}

	alice := newUser(t, suite.offline, "alice")
	alice.login("/app1/")
	ta := get(alice)
	if ta.RefreshToken == "" {
		t.Fatalf("alice, granted offline_access: no refresh token")
	}
	if typ := jwtPayload(t, ta.RefreshToken)["typ"]; typ != "Offline" {
		t.Errorf("alice's refresh token typ %v, want Offline", typ)
	}
	if s := scopes(ta); !slices.Contains(s, "offline_access") {
		t.Errorf("alice's access token scope %q lacks offline_access", s)
	}
	if ss, err := suite.kc.OfflineSessions(ctx, "alice", "apps-gateway"); err != nil || len(ss) == 0 {
		t.Errorf("Keycloak's offline sessions of alice: %d (%v), want at least 1", len(ss), err)
	}

	online := newUser(t, suite.shared, "alice")
	online.login("/app1/")
	to := get(online)
	if to.RefreshToken != "" {
		t.Errorf("without offline_access the token endpoint gave the app a refresh token (typ %v)", jwtPayload(t, to.RefreshToken)["typ"])
	}
	if s := scopes(to); slices.Contains(s, "offline_access") {
		t.Errorf("the online session's access token scope %q has offline_access", s)
	}

	bob := newUser(t, suite.offline, "bob")
	pg := bob.get(suite.offline.URL + "/app1/")
	if !isLoginForm(pg) {
		t.Fatalf("bob: no login form (%d at %s)", pg.status, pg.url)
	}
	bob.expectStatus = http.StatusBadGateway
	if pg := bob.submit(pg); !strings.Contains(pg.body, "not_allowed") && !strings.Contains(pg.body, "Offline tokens not allowed") {
		t.Logf("bob's failed login page: %.400s", pg.body)
	}

	// Cross-site pages never get tokens.
	req, _ := http.NewRequest("GET", suite.offline.URL+"/oauth2/token", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if pg := alice.do(req); pg.status != http.StatusForbidden || strings.Contains(pg.body, ta.AccessToken) {
		t.Errorf("cross-site {prefix}/token: %d", pg.status)
	}
	assertNoSecrets(t, suite.offline.LogText(), ta.AccessToken, ta.RefreshToken, ta.IDToken)

	// Keycloak's rotation with no reuse, which the single-flight refresh exists for: the
	// refresh token works once, its second use is invalid_grant.
	refresh := func() (int, string) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.RefreshToken},
			"client_id": {"apps-gateway"}, "client_secret": {suite.gatewaySecret}}
		resp, err := http.PostForm(suite.kc.Issuer+"/protocol/openid-connect/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	if st, e := refresh(); st != 200 {
		t.Fatalf("refreshing alice's offline token at Keycloak: %d %s", st, e)
	}
	if st, e := refresh(); st != http.StatusBadRequest || e != "invalid_grant" {
		t.Errorf("reusing a rotated refresh token at Keycloak: %d %q, want 400 invalid_grant", st, e)
	}
	assertNoSecrets(t, suite.shared.LogText(), to.AccessToken, to.IDToken)
}

// TestKeyRotation: a new realm key (an rsa-generated provider of higher priority, through the
// admin API) mid-session. New logins and the refresh of a session from before keep working
// on tokens signed with the new key, after exactly one JWKS refetch by the plugin.
func TestKeyRotation(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	p := suite.shared
	alice := newUser(t, p, "alice")
	alice.login("/app1/")
	w1, _ := alice.whoami("/app1/api/whoami")
	id1 := token(t, w1, "X-Forwarded-Id-Token")
	fetchesBefore, _ := p.Metric("oidc_proxy.callout.jwks.ok")

	kid, err := suite.kc.RotateKeys(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	if id1.JOSEHeader["kid"] == kid {
		t.Fatalf("the login's ID token is already signed with the new key %s", kid)
	}

	bob := newUser(t, p, "bob")
	bob.login("/app2/")
	wb, pg := bob.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("new login after the rotation: %d", pg.status)
	}
	if idb := token(t, wb, "X-Forwarded-Id-Token"); idb.JOSEHeader["kid"] != kid || !idb.Verified {
		t.Errorf("new login's ID token: kid %v (want %s), verified %v", idb.JOSEHeader["kid"], kid, idb.Verified)
	}

	waitPast(claimTime(token(t, w1, "X-Forwarded-Access-Token"), "exp").Add(-2 * time.Second))
	w2, pg := alice.whoami("/app1/api/whoami")
	if pg.status != 200 {
		t.Fatalf("alice's session after the rotation: %d %.300s\n%s", pg.status, pg.body, p.LogText())
	}
	id2 := token(t, w2, "X-Forwarded-Id-Token")
	if id2.Raw == id1.Raw || id2.JOSEHeader["kid"] != kid || !id2.Verified {
		t.Errorf("alice's refreshed ID token: new %v, kid %v (want %s), verified %v", id2.Raw != id1.Raw, id2.JOSEHeader["kid"], kid, id2.Verified)
	}
	if after, _ := p.Metric("oidc_proxy.callout.jwks.ok"); after-fetchesBefore != 1 {
		t.Errorf("the plugin fetched Keycloak's JWKS %d times after the rotation, want 1", after-fetchesBefore)
	}
}
