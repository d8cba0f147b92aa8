package filter

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Proactive refresh driven through the filter's entry points. Two emulator limits shape
// these tests. It numbers shared queues from 0, which the filter takes for "no queue", so
// the plugin's first queue is never used: viaQueue registers a second one. And it does not
// switch contexts on SetEffectiveContext, so a refresh answered in the root context cannot
// resume a request there: the tests that wake a waiting request run the flight from the
// request (the filter's fallback without a shared queue); the hop through the queue is
// tested with a request that went away before the answer (its result parked).

// login logs a user in and returns the browser's cookies; the token response is tokenJSON.
func (l *lh) login(path string, tokenJSON func(nonce string) string) string {
	l.t.Helper()
	lg := l.startLogin(path)
	r, c := l.callback(lg, "code-"+lg.state[:10])
	if c == nil {
		l.t.Fatalf("no token callout")
	}
	l.answer(*c, "200", "application/json", tokenJSON(lg.nonce))
	r = l.reply(r.id)
	if r.status() != 302 {
		l.t.Fatalf("login: %d %s", r.status(), r.local.Data)
	}
	return lhCookies(r.headers("set-cookie"))
}

// loginDefault logs in with lhTokenJSON (at-123, rt-123, expires_in 300).
func (l *lh) loginDefault() string {
	return l.login("/app/", func(nonce string) string { return lhTokenJSON(l.idToken(l.claims(nonce))) })
}

// advance moves the plugin's clock d ahead of the real one.
func (l *lh) advance(d time.Duration) { l.p.now = func() time.Time { return time.Now().Add(d) } }

// inRequest makes flights run from the request's context (no shared queue).
func (l *lh) inRequest() { l.p.broker.flights.queue = 0 }

// viaQueue gives the VM flights with a usable shared queue (the emulator's second, id 1).
func (l *lh) viaQueue() {
	l.t.Helper()
	l.p.broker.flights = newFlights(l.p, 64)
	if l.p.broker.flights.queue == 0 {
		l.t.Fatal("no shared queue")
	}
}

// requestCallout is the single callout the request sent.
func (l *lh) requestCallout(id uint32, path string) proxytest.HttpCalloutAttribute {
	l.t.Helper()
	cs := l.host.GetCalloutAttributesFromContext(id)
	if len(cs) != 1 {
		l.t.Fatalf("%d callouts from the request, want 1 to %s", len(cs), path)
	}
	if got := lhHeader(cs[0].Headers, ":path"); got != path {
		l.t.Fatalf("callout to %q, want %q", got, path)
	}
	return cs[0]
}

func tokenBody(fields map[string]any) string {
	b, _ := json.Marshal(fields)
	return string(b)
}

// upstream is the request headers the upstream got.
func (l *lh) upstream(id uint32, name string) string {
	return lhHeader(l.host.GetCurrentRequestHeaders(id), name)
}

// responseCookies runs the upstream's response through the filter and returns its Set-Cookie values.
func (l *lh) responseCookies(id uint32) []string {
	l.host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, false)
	var out []string
	for _, h := range l.host.GetCurrentResponseHeaders(id) {
		if h[0] == "set-cookie" {
			out = append(out, h[1])
		}
	}
	return out
}

func TestRefreshRenewsTokensBeforeForwarding(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	l.advance(250 * time.Second) // at-123 expires within the 60 s margin
	r := l.request("GET", "/api/x", "cookie", cookies)
	if r.action != types.ActionPause || r.local != nil {
		t.Fatalf("request not held for the refresh: action %v, status %d", r.action, r.status())
	}
	c := l.requestCallout(r.id, "/token")
	form, _ := url.ParseQuery(string(c.Body))
	if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-123" {
		t.Errorf("refresh request form: %v", form)
	}
	if !strings.HasPrefix(lhHeader(c.Headers, "authorization"), "Basic ") {
		t.Errorf("refresh request without client authentication")
	}
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-456"}))
	if got := l.host.GetCurrentHttpStreamAction(r.id); got != types.ActionContinue {
		t.Fatalf("request not resumed after the refresh: %v", got)
	}
	if got := l.upstream(r.id, "x-forwarded-access-token"); got != "at-456" {
		t.Errorf("upstream got access token %q, want the refreshed at-456", got)
	}
	set := l.responseCookies(r.id)
	if !strings.Contains(lhCookies(set), "_oidc_session=") {
		t.Fatalf("no re-sealed session cookie on the upstream's response: %v", set)
	}
	if l.counter("oidc_proxy.refresh.ok") != 1 || l.counter("oidc_proxy.callout.refresh.ok") != 1 {
		t.Errorf("refresh.ok %d, callout.refresh.ok %d", l.counter("oidc_proxy.refresh.ok"), l.counter("oidc_proxy.callout.refresh.ok"))
	}
	// The new cookie carries the new tokens: no second refresh, at-456 forwarded.
	r2 := l.request("GET", "/api/x", "cookie", lhCookies(set))
	if r2.local != nil || len(l.host.GetCalloutAttributesFromContext(r2.id)) != 0 {
		t.Fatalf("the refreshed session: status %d, %d callouts", r2.status(), len(l.host.GetCalloutAttributesFromContext(r2.id)))
	}
	if got := l.upstream(r2.id, "x-forwarded-access-token"); got != "at-456" {
		t.Errorf("with the new cookie: access token %q", got)
	}
	var audited bool
	for _, line := range append(l.host.GetInfoLogs(), l.host.GetWarnLogs()...) {
		audited = audited || strings.Contains(line, "token_refreshed")
		for _, secret := range []string{"at-456", "rt-456", "rt-123"} {
			if strings.Contains(line, secret) {
				t.Errorf("log line holds a token: %s", line)
			}
		}
	}
	if !audited {
		t.Errorf("no token_refreshed audit line")
	}
}

// The refresh hops to the root context (a shared queue) so that its callout belongs to the
// plugin: it outlives the request that started it, and the next request with the old
// cookie gets the parked result instead of spending the refresh token again.
func TestRefreshOutlivesItsRequest(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	cookies := l.loginDefault()
	l.viaQueue()
	l.rootCallouts()
	l.advance(250 * time.Second)
	a := l.request("GET", "/api/x", "cookie", cookies)
	if a.action != types.ActionPause {
		t.Fatalf("request not held: %v", a.action)
	}
	if cs := l.host.GetCalloutAttributesFromContext(a.id); len(cs) != 0 {
		t.Fatalf("the refresh was sent from the request's context")
	}
	c := l.expectCallout("/token")
	l.host.CompleteHttpContext(a.id) // the client went away
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-456"}))
	if got := l.counter("oidc_proxy.refresh.ok"); got != 1 {
		t.Fatalf("refresh.ok = %d", got)
	}

	b := l.request("GET", "/api/x", "cookie", cookies) // the old cookie
	if b.local != nil || b.action != types.ActionContinue {
		t.Fatalf("request with the old cookie: action %v status %d", b.action, b.status())
	}
	if len(l.rootCallouts()) != 0 || len(l.host.GetCalloutAttributesFromContext(b.id)) != 0 {
		t.Errorf("the refresh token was spent again")
	}
	if got := l.upstream(b.id, "x-forwarded-access-token"); got != "at-456" {
		t.Errorf("access token %q, want the parked at-456", got)
	}
	if got := l.counter("oidc_proxy.refresh.reused"); got != 1 {
		t.Errorf("refresh.reused = %d", got)
	}
	if set := l.responseCookies(b.id); !strings.Contains(lhCookies(set), "_oidc_session=") {
		t.Errorf("the parked session not written to the browser: %v", set)
	}

	// Another VM (no per-VM memory of the flight) opens the result parked in shared data.
	l.p.broker.flights = newFlights(l.p, 64)
	v := l.request("GET", "/api/x", "cookie", cookies)
	if v.local != nil || len(l.rootCallouts()) != 0 {
		t.Fatalf("another VM with the old cookie: status %d", v.status())
	}
	if got := l.upstream(v.id, "x-forwarded-access-token"); got != "at-456" {
		t.Errorf("another VM: access token %q, want the parked at-456", got)
	}
}

// A definite refusal ends the session: cookies cleared, 401 for API calls, a new login for
// navigations. A transient failure forwards tokens that still work, else answers 503.
func TestRefreshFailures(t *testing.T) {
	for _, tc := range []struct {
		name            string
		advance         time.Duration
		status, body    string
		nav             bool
		want            int    // 0: forwarded
		outcome         string // oidc_proxy.refresh.<outcome>; "" for none asserted
		cleared, reload bool
	}{
		{"invalid_grant, API", 250 * time.Second, "400", `{"error":"invalid_grant"}`, false, 401, "invalid_grant", true, false},
		{"invalid_grant, navigation", 250 * time.Second, "400", `{"error":"invalid_grant"}`, true, 302, "invalid_grant", true, false},
		{"unauthorized_client", 250 * time.Second, "400", `{"error":"unauthorized_client"}`, false, 401, "failed", true, false},
		{"provider down, token still valid", 250 * time.Second, "503", "down", false, 0, "transient", false, false},
		{"provider down, token expired, API", 310 * time.Second, "503", "down", false, 503, "transient", false, false},
		{"provider down, token expired, navigation", 310 * time.Second, "500", "boom", true, 503, "transient", false, true},
		{"garbage, token expired", 310 * time.Second, "200", `{"token_type":"Bearer"}`, false, 503, "transient", false, false},
		{"already expired access token", 250 * time.Second, "200", `{"access_token":"at-9","token_type":"Bearer","expires_in":0}`, false, 401, "token_expired", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, nil)
			l.ready()
			cookies := l.loginDefault()
			l.inRequest()
			l.advance(tc.advance)
			var r lhReply
			if tc.nav {
				r = l.navigate("/app/", "cookie", cookies)
			} else {
				r = l.request("GET", "/api/x", "cookie", cookies)
			}
			ctype := "application/json"
			if tc.status != "200" && tc.status != "400" {
				ctype = "text/plain"
			}
			l.answer(l.requestCallout(r.id, "/token"), tc.status, ctype, tc.body)
			r = l.reply(r.id)
			if tc.outcome == "" {
				if got := l.counter("oidc_proxy.refresh.ok"); got != 0 {
					t.Errorf("refresh.ok = %d for a refresh that ended the session", got)
				}
			} else if got := l.counter("oidc_proxy.refresh." + tc.outcome); got != 1 {
				t.Errorf("refresh.%s = %d", tc.outcome, got)
			}
			if tc.want == 0 {
				if r.local != nil || r.action != types.ActionContinue {
					t.Fatalf("not forwarded: %d", r.status())
				}
				if got := l.upstream(r.id, "x-forwarded-access-token"); got != "at-123" {
					t.Errorf("forwarded access token %q, want the current at-123", got)
				}
				return
			}
			if r.status() != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status(), tc.want, r.local.Data)
			}
			cleared := false
			for _, c := range r.headers("set-cookie") {
				cleared = cleared || strings.HasPrefix(c, "_oidc_session=;") || strings.HasPrefix(c, "_oidc_session=") && strings.Contains(c, "Max-Age=0")
			}
			if cleared != tc.cleared {
				t.Errorf("session cookie cleared %v, want %v: %v", cleared, tc.cleared, r.headers("set-cookie"))
			}
			if tc.want == 302 && !strings.HasPrefix(r.header("location"), lhIssuer+"/authorize?") {
				t.Errorf("navigation sent to %q, want a new login", r.header("location"))
			}
			if tc.want == 503 {
				if r.header("retry-after") != "2" {
					t.Errorf("retry-after %q", r.header("retry-after"))
				}
				if tc.reload != strings.Contains(strings.ToLower(string(r.local.Data)), "http-equiv=\"refresh\"") {
					t.Errorf("self-reloading page %v, want %v: %s", !tc.reload, tc.reload, r.local.Data)
				}
			}
		})
	}
}

// With the ID token forwarded, a refresh that returns one validates it against the
// session's (OIDC Core 12.2): the same subject renews it and its claims; another subject
// ends the session.
func TestRefreshValidatesNewIDToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sub   string
		want  int // 0: forwarded
		email string
	}{
		{"same subject", "user-1", 0, "new@example.com"},
		{"another subject", "user-2", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, func(c map[string]any) { c["forward"].(map[string]any)["id_token_header"] = "X-Forwarded-Id-Token" })
			l.ready()
			cookies := l.loginDefault()
			l.inRequest()
			l.advance(250 * time.Second)
			now := time.Now().Add(250 * time.Second)
			claims := map[string]any{"iss": lhIssuer, "aud": lhClient, "sub": tc.sub, "email": tc.email,
				"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
			idt := l.idToken(claims)
			r := l.request("GET", "/api/x", "cookie", cookies)
			l.answer(l.requestCallout(r.id, "/token"), "200", "application/json",
				tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300, "id_token": idt}))
			r = l.reply(r.id)
			if tc.want != 0 {
				if r.status() != tc.want {
					t.Fatalf("status %d, want %d", r.status(), tc.want)
				}
				if got := l.counter("oidc_proxy.refresh.id_token_rejected"); got != 1 {
					t.Errorf("refresh.id_token_rejected = %d", got)
				}
				return
			}
			if r.local != nil {
				t.Fatalf("answered %d: %s", r.status(), r.local.Data)
			}
			if got := l.upstream(r.id, "x-forwarded-id-token"); got != idt {
				t.Errorf("forwarded the old ID token")
			}
			if got := l.upstream(r.id, "x-auth-request-email"); got != tc.email {
				t.Errorf("x-auth-request-email %q, want the refreshed %q", got, tc.email)
			}
			// Without a new refresh token the old one is kept: the next refresh spends rt-123.
			set := l.responseCookies(r.id)
			l.advance(250*time.Second + 250*time.Second)
			r2 := l.request("GET", "/api/x", "cookie", lhCookies(set))
			form, _ := url.ParseQuery(string(l.requestCallout(r2.id, "/token").Body))
			if form.Get("refresh_token") != "rt-123" {
				t.Errorf("second refresh sent refresh_token %q, want the kept rt-123", form.Get("refresh_token"))
			}
		})
	}
}

// A refreshed session too large for the cookie budget ends the session rather than leave the
// browser with the old cookie (and the spent refresh token).
func TestRefreshTooLargeEndsSession(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["cookie"] = map[string]any{"max_chunks": 2} })
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	l.advance(250 * time.Second)
	r := l.request("GET", "/api/x", "cookie", cookies)
	l.answer(l.requestCallout(r.id, "/token"), "200", "application/json",
		tokenBody(map[string]any{"access_token": strings.Repeat("A", 12000), "token_type": "Bearer", "expires_in": 300}))
	if r = l.reply(r.id); r.status() != 401 {
		t.Fatalf("status %d, want 401 (session ended)", r.status())
	}
	if got := l.counter("oidc_proxy.refresh.ok"); got != 0 {
		t.Errorf("refresh.ok = %d for a session that could not be stored", got)
	}
	if got := l.counter("oidc_proxy.refresh.session_too_large"); got != 1 {
		t.Errorf("refresh.session_too_large = %d, want 1 (not id_token_rejected)", got)
	}
}

// Concurrent requests of one session share one refresh: one call to the provider.
func TestRefreshSingleFlightInVM(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	l.advance(250 * time.Second)
	a := l.request("GET", "/api/x", "cookie", cookies)
	b := l.request("GET", "/api/y", "cookie", cookies)
	if a.action != types.ActionPause || b.action != types.ActionPause {
		t.Fatalf("requests not held: %v %v", a.action, b.action)
	}
	if n := len(l.host.GetCalloutAttributesFromContext(b.id)); n != 0 {
		t.Fatalf("the second request sent %d refreshes of its own", n)
	}
	if got := l.counter("oidc_proxy.refresh.waited"); got != 1 {
		t.Errorf("refresh.waited = %d", got)
	}
	l.answer(l.requestCallout(a.id, "/token"), "200", "application/json",
		tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300}))
	// (The emulator runs the second request's continuation in the first's context, so only
	// the first request's headers can be checked.)
	if got := l.upstream(a.id, "x-forwarded-access-token"); got != "at-456" {
		t.Errorf("access token %q", got)
	}
	if got := l.counter("oidc_proxy.refresh.ok"); got != 1 {
		t.Errorf("refresh.ok = %d, want one refresh for both requests", got)
	}
	// A later request with the old cookie picks up the parked result and gets the very same
	// session cookies: the refreshed session is sealed once, not once per request.
	first := l.responseCookies(a.id)
	c := l.request("GET", "/api/z", "cookie", cookies)
	if c.local != nil || c.action != types.ActionContinue {
		t.Fatalf("the late request: %d", c.status())
	}
	late := l.responseCookies(c.id)
	if len(first) == 0 || strings.Join(late, "\n") != strings.Join(first, "\n") {
		t.Errorf("the late request's session cookies differ from the leader's:\n%q\n%q", first, late)
	}
}

// A refreshed ID token signed by a key the plugin has not seen waits for one JWKS refetch
// (the provider rotated its keys) instead of ending the session.
func TestRefreshUnknownKidRefetchesKeys(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["forward"].(map[string]any)["id_token_header"] = "X-Forwarded-Id-Token" })
	l.ready()
	cookies := l.loginDefault()
	l.viaQueue()
	l.rootCallouts()
	l.advance(250 * time.Second)
	a := l.request("GET", "/api/x", "cookie", cookies)
	c := l.expectCallout("/token")
	l.host.CompleteHttpContext(a.id)

	oldKey, oldKid := l.key, l.kid
	var err error
	if l.key, err = lhRSAKey(); err != nil {
		t.Fatal(err)
	}
	l.kid = "kid-2"
	now := time.Now().Add(250 * time.Second)
	idt := l.idToken(map[string]any{"iss": lhIssuer, "aud": lhClient, "sub": "user-1", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300, "id_token": idt}))
	if got := l.counter("oidc_proxy.refresh.ok") + l.counter("oidc_proxy.refresh.id_token_rejected"); got != 0 {
		t.Fatalf("the refresh ended before the keys were refetched")
	}
	l.host.Tick()
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &oldKey.PublicKey, KeyID: oldKid, Algorithm: "RS256", Use: "sig"},
		{Key: &l.key.PublicKey, KeyID: l.kid, Algorithm: "RS256", Use: "sig"}}})
	l.answer(l.expectCallout("/jwks"), "200", "application/json", string(jwks))
	if got := l.counter("oidc_proxy.refresh.ok"); got != 1 {
		t.Fatalf("refresh.ok = %d after the refetch", got)
	}
	b := l.request("GET", "/api/x", "cookie", cookies)
	if b.local != nil || l.upstream(b.id, "x-forwarded-id-token") != idt {
		t.Errorf("the parked session: %d, new ID token forwarded %v", b.status(), l.upstream(b.id, "x-forwarded-id-token") == idt)
	}
}

// A provider that does not rotate refresh tokens, with access tokens shorter than the time a
// refresh result stays parked: the second refresh is not the first one's parked result
// again (whose access token is due by then, and then expired), but a new call to the
// provider. Before, the two refreshes shared a key (the same refresh token), the user was
// sent to a new login without any call to the provider.
func TestRefreshWithoutRotationShortTokens(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["session"] = map[string]any{"refresh_margin": "20s"} })
	l.ready()
	cookies := l.login("/app/", func(nonce string) string {
		return tokenBody(map[string]any{"access_token": "at-0", "token_type": "Bearer", "expires_in": 40,
			"refresh_token": "rt-fixed", "id_token": l.idToken(l.claims(nonce))})
	})
	l.inRequest()
	for i, at := range []string{"at-1", "at-2", "at-3"} {
		l.advance(time.Duration(25*(i+1)) * time.Second) // each token due 20 s before its 40 s end
		r := l.request("GET", "/api/x", "cookie", cookies)
		cs := l.host.GetCalloutAttributesFromContext(r.id)
		if r.local != nil || len(cs) != 1 {
			t.Fatalf("refresh %d: status %d, %d callouts, want a refresh at the provider", i+1, r.status(), len(cs))
		}
		l.answer(cs[0], "200", "application/json", tokenBody(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 40}))
		if got := l.upstream(r.id, "x-forwarded-access-token"); got != at {
			t.Fatalf("refresh %d: forwarded %q, want %q", i+1, got, at)
		}
		cookies = lhCookies(l.responseCookies(r.id))
	}
}

// TestRefreshChainNeverServesExpired: a request with a cookie two refreshes old picks up the
// results parked for it (each already expired: short tokens, a provider that does not rotate)
// and goes on to a real refresh; it is never forwarded an expired access token. With the hop
// bound at 2 it was forwarded at-2, which had expired.
func TestRefreshChainNeverServesExpired(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["session"] = map[string]any{"refresh_margin": "20s"} })
	l.ready()
	s0 := l.login("/app/", func(nonce string) string {
		return tokenBody(map[string]any{"access_token": "at-0", "token_type": "Bearer", "expires_in": 4,
			"refresh_token": "rt-fixed", "id_token": l.idToken(l.claims(nonce))})
	})
	l.inRequest()
	refresh := func(cookies, at string) string {
		t.Helper()
		r := l.request("GET", "/api/x", "cookie", cookies)
		cs := l.host.GetCalloutAttributesFromContext(r.id)
		if r.local != nil || len(cs) != 1 {
			t.Fatalf("%s: status %d, %d callouts, want a refresh at the provider", at, r.status(), len(cs))
		}
		l.answer(cs[0], "200", "application/json", tokenBody(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 4}))
		if got := l.upstream(r.id, "x-forwarded-access-token"); got != at {
			t.Fatalf("forwarded %q, want %q", got, at)
		}
		return lhCookies(l.responseCookies(r.id))
	}
	l.advance(3 * time.Second) // the clock's offset from the login
	s1 := refresh(s0, "at-1")  // parked under s0's key
	l.advance(8 * time.Second)
	refresh(s1, "at-2") // parked under s1's key
	l.advance(13 * time.Second)
	// The first cookie again: s0 -> at-1 (parked, expired) -> at-2 (parked, expired) -> a refresh.
	refresh(s0, "at-3")
}
