package filter

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
)

// lhLogin is a login started through the filter, up to the provider's redirect back.
type lhLogin struct {
	cookie      string // the browser's cookies after the authorization redirect
	state       string
	nonce, path string
}

func (l *lh) startLogin(path string) lhLogin {
	l.t.Helper()
	r := l.navigate(path)
	if r.status() != 302 {
		l.t.Fatalf("navigation to %s: %d", path, r.status())
	}
	ls, q := l.openState(r.header("location"))
	return lhLogin{cookie: lhCookies(r.headers("set-cookie")), state: q.Get("state"), nonce: ls.Nonce, path: path}
}

func (l *lh) idToken(claims map[string]any) string {
	l.t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: l.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", l.kid))
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

func (l *lh) claims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": lhIssuer, "aud": lhClient, "sub": "user-1", "email": "u@example.com",
		"groups": []string{"a", "b"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce}
}

// callback sends the provider's redirect for lg and returns the request and its token
// callout (nil if none was sent).
func (l *lh) callback(lg lhLogin, code string) (lhReply, *proxytest.HttpCalloutAttribute) {
	l.t.Helper()
	r := l.navigate("/oauth2/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(lg.state), "cookie", lg.cookie)
	cs := l.host.GetCalloutAttributesFromContext(r.id)
	if len(cs) == 0 {
		return r, nil
	}
	return r, &cs[len(cs)-1]
}

func lhTokenJSON(idToken string) string {
	b, _ := json.Marshal(map[string]any{"access_token": "at-123", "token_type": "Bearer", "expires_in": 300,
		"refresh_token": "rt-123", "id_token": idToken})
	return string(b)
}

func TestCallbackEstablishesSession(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	lg := l.startLogin("/app/page?x=1")
	r, c := l.callback(lg, "the-code")
	if c == nil || r.local != nil {
		t.Fatalf("no token callout (reply %d)", r.status())
	}
	form, _ := url.ParseQuery(string(c.Body))
	if lhHeader(c.Headers, ":path") != "/token" || form.Get("grant_type") != "authorization_code" || form.Get("code") != "the-code" ||
		form.Get("redirect_uri") != "https://app.example.com/oauth2/callback" || len(form.Get("code_verifier")) < 43 {
		t.Errorf("token request: %s %v", lhHeader(c.Headers, ":path"), form)
	}
	if !strings.HasPrefix(lhHeader(c.Headers, "authorization"), "Basic ") {
		t.Errorf("token request without client_secret_basic")
	}
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	r = l.reply(r.id)
	if r.status() != 302 || r.header("location") != "/app/page?x=1" {
		t.Fatalf("after the token response: %d %q", r.status(), r.header("location"))
	}
	cookies := lhCookies(r.headers("set-cookie"))
	if !strings.Contains(cookies, "_oidc_session=") {
		t.Fatalf("no session cookie: %v", r.headers("set-cookie"))
	}
	if got := l.counter("oidc_proxy.login.succeeded"); got != 1 {
		t.Errorf("login.succeeded = %d", got)
	}
	if got := l.counter("oidc_proxy.callout.token.ok"); got != 1 {
		t.Errorf("callout.token.ok = %d", got)
	}

	// The session: forged identity headers are replaced by the session's.
	s := l.request("GET", "/app/page", "cookie", cookies, "x-auth-request-user", "admin", "x-forwarded-access-token", "forged")
	if s.local != nil {
		t.Fatalf("request with the session answered locally: %d", s.status())
	}
	hs := l.host.GetCurrentRequestHeaders(s.id)
	if got := lhHeader(hs, "x-auth-request-user"); got != "user-1" {
		t.Errorf("x-auth-request-user = %q", got)
	}
	if got := lhHeader(hs, "x-forwarded-access-token"); got != "at-123" {
		t.Errorf("x-forwarded-access-token = %q", got)
	}
	if got := lhHeader(hs, "x-auth-request-groups"); got != "a,b" {
		t.Errorf("x-auth-request-groups = %q", got)
	}

	// The same callback again is a replay.
	r, c = l.callback(lg, "the-code")
	if r.status() != 400 || c != nil {
		t.Errorf("replayed callback: %d, callout %v", r.status(), c != nil)
	}
	for _, line := range append(l.host.GetInfoLogs(), l.host.GetWarnLogs()...) {
		for _, secret := range []string{lg.state, "the-code", "at-123", "rt-123", lhSecret} {
			if strings.Contains(line, secret) {
				t.Errorf("log line holds a secret (%.6s…): %s", secret, line)
			}
		}
	}
}

// TestCallbackChecksBeforeCallout: what can be refused locally never reaches the provider.
func TestCallbackChecksBeforeCallout(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	lg := l.startLogin("/")
	for _, tc := range []struct {
		name, query, cookie string
		status              int
		reason              string
	}{
		{"no binding cookie", "code=c&state=" + url.QueryEscape(lg.state), "", 400, "binding"},
		{"another binding cookie", "code=c&state=" + url.QueryEscape(lg.state), "_oidc_session_bind=" + strings.Repeat("A", 43), 400, "binding"},
		{"tampered state", "code=c&state=" + url.QueryEscape(lg.state[:len(lg.state)-2]+"AA"), lg.cookie, 400, "bad_state"},
		{"missing code", "state=" + url.QueryEscape(lg.state), lg.cookie, 400, "bad_callback"},
		{"duplicate code", "code=a&code=b&state=" + url.QueryEscape(lg.state), lg.cookie, 400, "bad_callback"},
		{"oversized", "code=c&state=" + strings.Repeat("A", 9000), lg.cookie, 400, "bad_callback"},
		{"other issuer (RFC 9207)", "code=c&iss=https%3A%2F%2Fevil.com&state=" + url.QueryEscape(lg.state), lg.cookie, 400, "bad_callback"},
		{"provider error", "error=access_denied&error_description=%3Cb%3Ehi%3C%2Fb%3E&state=" + url.QueryEscape(lg.state), lg.cookie, 403, "provider_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := l.counter("oidc_proxy.login.failed." + tc.reason)
			r := l.navigate("/oauth2/callback?"+tc.query, "cookie", tc.cookie)
			if r.status() != tc.status {
				t.Errorf("status %d, want %d", r.status(), tc.status)
			}
			if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) != 0 {
				t.Errorf("a callout was sent")
			}
			if got := l.counter("oidc_proxy.login.failed." + tc.reason); got != before+1 {
				t.Errorf("login.failed.%s went from %d to %d", tc.reason, before, got)
			}
			if strings.Contains(string(r.local.Data), "<b>") {
				t.Errorf("provider text echoed unescaped: %s", r.local.Data)
			}
		})
	}
	// None of these used the state up.
	r, c := l.callback(lg, "c")
	if c == nil {
		t.Errorf("the genuine callback after refused ones: %d, no callout", r.status())
	}
}

// TestCallbackProviderFailures maps the token endpoint's failures to pages.
func TestCallbackProviderFailures(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	for _, tc := range []struct {
		name, status, ctype, body string
		numHeaders                bool // false: the callout was reset (no headers)
		want                      int
		outcome                   string
	}{
		{"router timeout", "504", "text/plain", "upstream request timeout", true, 504, "timeout"},
		{"router connect failure", "503", "text/plain", "upstream connect error or disconnect/reset before headers. reset reason: connection failure", true, 502, "unreachable"},
		{"no healthy upstream", "503", "text/plain", "no healthy upstream", true, 502, "unreachable"},
		{"reset", "", "", "", false, 502, "unreachable"},
		{"provider 503", "503", "text/html", "<h1>down</h1>", true, 503, "http_5xx"},
		{"provider 500", "500", "text/plain", "boom", true, 502, "http_5xx"},
		{"HTML 200", "200", "text/html", "<html></html>", true, 502, "invalid"},
		{"invalid_grant", "400", "application/json", `{"error":"invalid_grant","error_description":"<script>x</script>"}`, true, 502, "http_4xx"},
		{"temporarily_unavailable", "400", "application/json", `{"error":"temporarily_unavailable"}`, true, 503, "http_4xx"},
		{"no id_token", "200", "application/json", `{"access_token":"a","token_type":"Bearer"}`, true, 502, "invalid"},
		{"token_type mac", "200", "application/json", `{"access_token":"a","token_type":"mac","id_token":"x.y.z"}`, true, 502, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lg := l.startLogin("/")
			r, c := l.callback(lg, "code-"+tc.name)
			if c == nil {
				t.Fatalf("no token callout")
			}
			before := l.counter("oidc_proxy.callout.token." + tc.outcome)
			if tc.numHeaders {
				l.answer(*c, tc.status, tc.ctype, tc.body)
			} else {
				l.host.CallOnHttpCallResponse(c.CalloutID, nil, nil, nil)
			}
			r = l.reply(r.id)
			if r.status() != tc.want {
				t.Errorf("status %d, want %d; page %s", r.status(), tc.want, r.local.Data)
			}
			if got := l.counter("oidc_proxy.callout.token." + tc.outcome); got != before+1 {
				t.Errorf("callout.token.%s went from %d to %d", tc.outcome, before, got)
			}
			if strings.Contains(string(r.local.Data), "<script>") {
				t.Errorf("provider text echoed: %s", r.local.Data)
			}
			if (tc.want == 503) != (r.header("retry-after") != "") {
				t.Errorf("retry-after %q on a %d", r.header("retry-after"), tc.want)
			}
		})
	}
}

// TestCallbackUnknownKidWaitsForTheTick: an ID token signed by a key the plugin has not seen
// waits for one JWKS refetch (sent from the root context) and then succeeds.
func TestCallbackUnknownKidWaitsForTheTick(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	lg := l.startLogin("/after")
	r, c := l.callback(lg, "code")
	oldKey, oldKid := l.key, l.kid
	l.kid = "kid-2"
	var err error
	if l.key, err = lhRSAKey(); err != nil {
		t.Fatal(err)
	}
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r = l.reply(r.id); r.local != nil {
		t.Fatalf("answered before the refetch: %d", r.status())
	}
	l.host.Tick()
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &oldKey.PublicKey, KeyID: oldKid, Algorithm: "RS256", Use: "sig"},
		{Key: &l.key.PublicKey, KeyID: l.kid, Algorithm: "RS256", Use: "sig"}}})
	l.answer(l.expectCallout("/jwks"), "200", "application/json", string(jwks))
	if r = l.reply(r.id); r.status() != 302 || r.header("location") != "/after" {
		t.Fatalf("after the refetch: %d %q", r.status(), r.header("location"))
	}
}

func lhRSAKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// TestCallbackUserinfo: with login.userinfo the claims of the userinfo endpoint are merged,
// and a userinfo answer for another subject ends the login.
func TestCallbackUserinfo(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["login"] = map[string]any{"userinfo": true} })
	l.ready()
	for _, tc := range []struct {
		name, body string
		status     int
		email      string
	}{
		{"merged", `{"sub":"user-1","email":"info@example.com"}`, 302, "info@example.com"},
		{"another subject", `{"sub":"user-2","email":"x@example.com"}`, 502, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lg := l.startLogin("/")
			r, c := l.callback(lg, "code-"+tc.name)
			l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
			cs := l.host.GetCalloutAttributesFromContext(r.id)
			ui := cs[len(cs)-1]
			if lhHeader(ui.Headers, ":path") != "/userinfo" || lhHeader(ui.Headers, "authorization") != "Bearer at-123" {
				t.Fatalf("userinfo request: %v", ui.Headers)
			}
			if l.reply(r.id).local != nil {
				t.Fatal("answered before userinfo")
			}
			l.answer(ui, "200", "application/json", tc.body)
			r = l.reply(r.id)
			if r.status() != tc.status {
				t.Fatalf("status %d, want %d", r.status(), tc.status)
			}
			if tc.email == "" {
				return
			}
			s := l.request("GET", "/", "cookie", lhCookies(r.headers("set-cookie")))
			if got := lhHeader(l.host.GetCurrentRequestHeaders(s.id), "x-auth-request-email"); got != tc.email {
				t.Errorf("x-auth-request-email = %q, want %q", got, tc.email)
			}
		})
	}
}
