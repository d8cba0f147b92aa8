package filter

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

func withBackchannel(c map[string]any) { c["endpoints"] = map[string]any{"backchannel_logout": true} }

// logoutToken signs a logout token with key (the provider's when nil) and kid.
func (l *lh) logoutToken(key *rsa.PrivateKey, kid string, edit func(map[string]any)) string {
	l.t.Helper()
	if key == nil {
		key = l.key
	}
	claims := map[string]any{"iss": lhIssuer, "aud": lhClient, "iat": time.Now().Unix(), "jti": "jti-" + randHex(l.t),
		"sid": "sid-A", "events": map[string]any{oidc.EventBackchannelLogout: map[string]any{}}}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", kid))
	if err != nil {
		l.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		l.t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func randHex(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// postLogout posts body to the back-channel logout endpoint, the body in one piece.
func (l *lh) postLogout(contentType string, body []byte) lhReply {
	l.t.Helper()
	h := [][2]string{{":method", "POST"}, {":path", "/oauth2/backchannel_logout"}, {":authority", "app.example.com"},
		{":scheme", "https"}, {"content-type", contentType}}
	id := l.host.InitializeHttpContext()
	if a := l.host.CallOnRequestHeaders(id, h, false); a != types.ActionContinue {
		if r := l.reply(id); r.local != nil {
			return r // refused on its headers
		}
		l.t.Fatalf("headers: %v, want continue to read the body", a)
	}
	a := l.host.CallOnRequestBody(id, body, true)
	return lhReply{id: id, action: a, local: l.host.GetSentLocalResponse(id)}
}

func (l *lh) logout(token string) lhReply {
	return l.postLogout("application/x-www-form-urlencoded", oidc.LogoutTokenForm(token))
}

// loginAs logs in with an ID token of sub and sid.
func (l *lh) loginAs(sub, sid string) string {
	return l.login("/app/", func(nonce string) string {
		c := l.claims(nonce)
		c["sub"] = sub
		if sid != "" {
			c["sid"] = sid
		}
		return lhTokenJSON(l.idToken(c))
	})
}

func (l *lh) apiStatus(cookie string) int {
	r := l.request("GET", "/api/x", "cookie", cookie)
	if r.local == nil {
		return 200
	}
	return r.status()
}

func logoutError(t *testing.T, r lhReply) string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(r.local.Data, &m); err != nil || m["error"] != "invalid_request" {
		t.Fatalf("400 body %s: %v", r.local.Data, err)
	}
	if r.header("cache-control") != "no-store" || r.header("content-type") != "application/json" || r.header("x-correlation-id") == "" {
		t.Errorf("headers %v", r.local.Headers)
	}
	return m["error_description"]
}

// A logout token with sid ends the sessions of that provider session on every VM of this
// Envoy (cached or opened afresh); other sessions of the user, and other users, go on. The
// same token again is refused (jti single use).
func TestBackchannelLogoutBySID(t *testing.T) {
	l := newLH(t, withBackchannel)
	l.ready()
	a, a2, b, c := l.loginAs("user-1", "sid-A"), l.loginAs("user-1", "sid-A"), l.loginAs("user-1", "sid-B"), l.loginAs("user-2", "sid-C")
	for _, s := range []string{a, a2, b, c} {
		if l.apiStatus(s) != 200 {
			t.Fatal("a session does not work before the logout")
		}
	}
	tok := l.logoutToken(nil, l.kid, func(m map[string]any) { m["sub"] = "user-1" })
	r := l.logout(tok)
	if r.status() != 200 || r.header("cache-control") != "no-store" || len(r.local.Data) != 0 {
		t.Fatalf("logout: %d %v %s", r.status(), r.local.Headers, r.local.Data)
	}
	for name, want := range map[string]int{"a": 401, "a2": 401, "b": 200, "c": 200} {
		s := map[string]string{"a": a, "a2": a2, "b": b, "c": c}[name]
		if got := l.apiStatus(s); got != want {
			t.Errorf("session %s after the logout (cached): %d, want %d", name, got, want)
		}
	}
	l.p.cache = newSessionCache(l.p.cfg.Session.CacheSize) // as another VM would open them
	if got := l.apiStatus(a); got != 401 {
		t.Errorf("session a opened afresh: %d, want 401", got)
	}
	if got := l.apiStatus(b); got != 200 {
		t.Errorf("session b opened afresh: %d, want 200", got)
	}
	// A navigation with the ended session is sent to a new login.
	if r := l.navigate("/app/", "cookie", a); r.status() != 302 || !strings.HasPrefix(r.header("location"), lhIssuer+"/authorize") {
		t.Errorf("navigation with the ended session: %d %s", r.status(), r.header("location"))
	}
	// The same token again: 400.
	r = l.logout(tok)
	if r.status() != 400 || !strings.Contains(logoutError(t, r), "already used") {
		t.Errorf("replayed logout token: %d %s", r.status(), r.local.Data)
	}
	if l.counter("oidc_proxy.backchannel_logout.ok") != 1 || l.counter("oidc_proxy.backchannel_logout.replayed") != 1 {
		t.Errorf("metrics ok=%d replayed=%d", l.counter("oidc_proxy.backchannel_logout.ok"), l.counter("oidc_proxy.backchannel_logout.replayed"))
	}
	// A new login with the same provider session id is after the logout: it works (sessions
	// have 1 s precision; one in the logout's second is refused, the safe side).
	l.advance(2 * time.Second)
	if got := l.apiStatus(l.loginAs("user-1", "sid-A")); got != 200 {
		t.Errorf("a login after the logout: %d, want 200", got)
	}
}

// A logout token with only sub ends every session of that user established before it; a
// login afterwards works.
func TestBackchannelLogoutBySubject(t *testing.T) {
	l := newLH(t, withBackchannel)
	l.ready()
	a, b, other := l.loginAs("user-1", "sid-A"), l.loginAs("user-1", ""), l.loginAs("user-2", "sid-C")
	l.advance(2 * time.Second) // the logout comes later than these logins (sessions have 1 s precision)
	r := l.logout(l.logoutToken(nil, l.kid, func(m map[string]any) { delete(m, "sid"); m["sub"] = "user-1" }))
	if r.status() != 200 {
		t.Fatalf("logout: %d %s", r.status(), r.local.Data)
	}
	if l.apiStatus(a) != 401 || l.apiStatus(b) != 401 || l.apiStatus(other) != 200 {
		t.Errorf("after a subject-wide logout: a %d b %d other %d, want 401 401 200", l.apiStatus(a), l.apiStatus(b), l.apiStatus(other))
	}
	l.advance(4 * time.Second)
	if got := l.apiStatus(l.loginAs("user-1", "sid-D")); got != 200 {
		t.Errorf("a login after the subject-wide logout: %d, want 200", got)
	}
}

// Every malformed, forged or misdirected request or token gets a 400 and ends nothing.
func TestBackchannelLogoutRejects(t *testing.T) {
	l := newLH(t, withBackchannel)
	l.ready()
	s := l.loginAs("user-1", "sid-A")
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name, ct string
		body     []byte
		want     string // in error_description
	}{
		{"nonce", "", oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, func(m map[string]any) { m["nonce"] = "n" })), "nonce"},
		{"bad signature", "", oidc.LogoutTokenForm(l.logoutToken(forger, l.kid, nil)), "invalid signature"},
		{"wrong aud", "", oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, func(m map[string]any) { m["aud"] = "another-client" })), "audience"},
		{"wrong iss", "", oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, func(m map[string]any) { m["iss"] = "https://evil.example.com" })), "issuer"},
		{"too old", "", oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, func(m map[string]any) { m["iat"] = time.Now().Add(-10 * time.Minute).Unix() })), "too old"},
		{"no event", "", oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, func(m map[string]any) { delete(m, "events") })), "events"},
		{"no jti", "", oidc.LogoutTokenForm(l.logoutToken(nil, l.kid, func(m map[string]any) { delete(m, "jti") })), "jti"},
		{"an id token", "", oidc.LogoutTokenForm(l.idToken(l.claims("n"))), "typ"},
		{"json body", "application/json", []byte(`{"logout_token":"x"}`), "content type"},
		{"no token", "", []byte("token=x"), "logout_token"},
		{"too large", "", []byte("logout_token=" + strings.Repeat("a", 9000)), "max_query_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ct
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := l.postLogout(ct, tt.body)
			if r.status() != 400 {
				t.Fatalf("%d %s, want 400", r.status(), r.local.Data)
			}
			if d := logoutError(t, r); !strings.Contains(d, tt.want) {
				t.Errorf("error_description %q, want it to mention %q", d, tt.want)
			}
			if strings.Contains(string(r.local.Data), "eyJ") {
				t.Errorf("the answer holds a token: %s", r.local.Data)
			}
		})
	}
	if got := l.apiStatus(s); got != 200 {
		t.Errorf("the session after refused logouts: %d, want 200", got)
	}
	if l.counter("oidc_proxy.backchannel_logout.invalid") != uint64(len(tests)) {
		t.Errorf("invalid counted %d, want %d", l.counter("oidc_proxy.backchannel_logout.invalid"), len(tests))
	}
	// Only POST.
	if r := l.request("GET", "/oauth2/backchannel_logout"); r.status() != 405 || r.header("allow") != "POST" {
		t.Errorf("GET: %d allow=%q", r.status(), r.header("allow"))
	}
	// A Content-Length over the cap is refused on the headers.
	id0 := l.host.InitializeHttpContext()
	l.host.CallOnRequestHeaders(id0, [][2]string{{":method", "POST"}, {":path", "/oauth2/backchannel_logout"}, {":authority", "app.example.com"},
		{"content-type", "application/x-www-form-urlencoded"}, {"content-length", "100000"}}, false)
	if r := l.reply(id0); r.status() != 400 {
		t.Errorf("content-length over the cap: %d, want 400 on the headers", r.status())
	}
	// A body in chunks is buffered, and the cap applies to the whole.
	id := l.host.InitializeHttpContext()
	l.host.CallOnRequestHeaders(id, [][2]string{{":method", "POST"}, {":path", "/oauth2/backchannel_logout"}, {":authority", "app.example.com"}, {"content-type", "application/x-www-form-urlencoded"}}, false)
	if a := l.host.CallOnRequestBody(id, []byte("logout_token="+strings.Repeat("a", 5000)), false); a != types.ActionPause {
		t.Errorf("first chunk: %v, want a pause", a)
	}
	l.host.CallOnRequestBody(id, []byte(strings.Repeat("a", 5000)), false)
	if r := l.reply(id); r.status() != 400 {
		t.Errorf("chunked oversized body: %d, want 400", r.status())
	}
}

// A logout token signed with a key the plugin does not have yet makes it fetch the JWKS
// again once, then validate.
func TestBackchannelLogoutRefetchesUnknownKey(t *testing.T) {
	l := newLH(t, withBackchannel)
	l.ready()
	s := l.loginAs("user-1", "sid-A")
	rotated, _ := rsa.GenerateKey(rand.Reader, 2048)
	r := l.logout(l.logoutToken(rotated, "kid-2", nil))
	if r.local != nil {
		t.Fatalf("answered before the refetch: %d %s", r.status(), r.local.Data)
	}
	l.host.Tick()
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &l.key.PublicKey, KeyID: l.kid, Algorithm: "RS256", Use: "sig"},
		{Key: &rotated.PublicKey, KeyID: "kid-2", Algorithm: "RS256", Use: "sig"}}})
	l.answer(l.expectCallout("/jwks"), "200", "application/json", string(jwks))
	if r = l.reply(r.id); r.status() != 200 {
		t.Fatalf("after the refetch: %d %v", r.status(), r.local)
	}
	if got := l.apiStatus(s); got != 401 {
		t.Errorf("the session after the logout: %d, want 401", got)
	}
}

// The endpoint is off unless configured: the path is then an ordinary protected path.
func TestBackchannelLogoutOffByDefault(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	id := l.host.InitializeHttpContext()
	l.host.CallOnRequestHeaders(id, [][2]string{{":method", "POST"}, {":path", "/oauth2/backchannel_logout"}, {":authority", "app.example.com"},
		{"content-type", "application/x-www-form-urlencoded"}, {"accept", "application/json"}}, false)
	if r := l.reply(id); r.status() != 401 {
		t.Errorf("POST with the endpoint off: %d, want 401 (no session)", r.status())
	}
}
