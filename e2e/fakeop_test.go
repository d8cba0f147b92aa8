package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/host"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// fakeOP is a scriptable OpenID Provider for attacks the embedded one will not stage: its
// token endpoint answers with whatever ID token the test prepared for a code, and each of
// its endpoints can be made to fail.
type fakeOP struct {
	srv    *httptest.Server
	issuer string
	key    *rsa.PrivateKey
	kid    string

	discovery, jwks, token atomic.Int64

	mu     sync.Mutex
	grants map[string]fakeGrant // code -> what the token endpoint returns for it
	faults map[string]string    // "discovery", "jwks", "token" -> fault
	delay  time.Duration        // for the "slow" fault
}

type fakeGrant struct {
	challenge string // the PKCE code_challenge of the authorization request
	idToken   string
}

// Faults a fake OP endpoint can have.
const (
	fault500     = "500"
	faultHTML    = "html"
	faultGarbage = "garbage"
	faultSlow    = "slow"
	faultReset   = "reset"
	faultDeep    = "deep" // the right answer plus a member whose arrays nest 50,000 deep (100 KB)
)

// writeJSONDeep writes v, a JSON object, with one more member "x" nesting arrays 50,000
// deep: valid JSON that a recursive validator walks with a stack frame per level, and
// that, but for its depth, is a correct answer.
func writeJSONDeep(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
		panic("writeJSONDeep: not an object")
	}
	const depth = 50_000
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, string(b[:len(b)-1])+`,"x":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+`}`)
}

func newFakeOP(t testing.TB) *fakeOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOP{key: key, kid: "fake-key-1", grants: map[string]fakeGrant{}, faults: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL
	return f
}

func (f *fakeOP) setFault(endpoint, fault string, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault == "" {
		delete(f.faults, endpoint)
	} else {
		f.faults[endpoint] = fault
	}
	f.delay = delay
}

// grant prepares the token endpoint's answer for code.
func (f *fakeOP) grant(code, challenge, idToken string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants[code] = fakeGrant{challenge, idToken}
}

func (f *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	var endpoint string
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		endpoint = "discovery"
		f.discovery.Add(1)
	case "/jwks":
		endpoint = "jwks"
		f.jwks.Add(1)
	case "/token":
		endpoint = "token"
		f.token.Add(1)
	default:
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	fault, delay := f.faults[endpoint], f.delay
	f.mu.Unlock()
	switch fault {
	case fault500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case faultHTML:
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><h1>Maintenance</h1></body></html>")
		return
	case faultGarbage:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"issuer": "`+f.issuer+`", "truncated`)
		return
	case faultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	case faultSlow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch endpoint {
	case "discovery":
		writeJSONBody(w, map[string]any{
			"issuer": f.issuer, "authorization_endpoint": f.issuer + "/authorize",
			"token_endpoint": f.issuer + "/token", "jwks_uri": f.issuer + "/jwks",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported":      []string{"S256"},
		})
	case "jwks":
		writeJSONBody(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: f.kid, Algorithm: "RS256", Use: "sig"}}})
	case "token":
		f.serveToken(w, r)
	}
}

func (f *fakeOP) serveToken(w http.ResponseWriter, r *http.Request) {
	id, secret, _ := r.BasicAuth()
	if r.Method != http.MethodPost || r.ParseForm() != nil || id != stack.ClientID || secret != stack.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSONBody(w, map[string]string{"error": "invalid_client"})
		return
	}
	f.mu.Lock()
	g, ok := f.grants[r.PostForm.Get("code")]
	delete(f.grants, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		writeJSONBody(w, map[string]string{"error": "invalid_grant"})
		return
	}
	body := map[string]any{"access_token": "fake-access-token-" + r.PostForm.Get("code"),
		"token_type": "Bearer", "expires_in": 300, "id_token": g.idToken}
	f.mu.Lock()
	deep := f.faults["token"] == faultDeep
	f.mu.Unlock()
	if deep {
		writeJSONDeep(w, body)
		return
	}
	writeJSONBody(w, body)
}

func writeJSONBody(w http.ResponseWriter, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	_ = json.NewEncoder(w).Encode(v)
}

// claims are the claims of a valid ID token for this login.
func (f *fakeOP) claims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": f.issuer, "aud": stack.ClientID, "sub": "fake-user-1", "email": "fake@example.com",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce,
	}
}

// signRS256 signs claims with key, naming kid.
func signRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	return signJWS(t, jose.SigningKey{Algorithm: jose.RS256, Key: key}, kid, claims)
}

func signJWS(t testing.TB, k jose.SigningKey, kid string, claims map[string]any) string {
	t.Helper()
	return signTyped(t, k, kid, "JWT", claims)
}

// signTyped is signJWS with the header's typ.
func signTyped(t testing.TB, k jose.SigningKey, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	return signWith(t, k, opts, claims)
}

// signWith signs claims as a compact JWS with k and the header options opts.
func signWith(t testing.TB, k jose.SigningKey, opts *jose.SignerOptions, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedJWT is an "alg":"none" token.
func unsignedJWT(claims map[string]any) string {
	payload, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(payload) + "."
}

// fakeStack is the plugin in the host, in front of a recorded upstream, with a fakeOP.
type fakeStack struct {
	op   *fakeOP
	p    *proxy.Proxy
	host *host.Host // nil on Envoy
	url  string
	up   *upstreamRecorder
}

// startFake starts the host for a fake OP. When ready is set it waits until the plugin has
// the provider's metadata and keys.
func startFake(t testing.TB, op *fakeOP, configure func(map[string]any), ready bool) *fakeStack {
	t.Helper()
	key, err := stack.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stack.PluginConfig(op.issuer, []stack.Key{key})
	if configure != nil {
		configure(cfg)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeStack{op: op, up: &upstreamRecorder{}}
	app := httptest.NewServer(fs.up.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "the upstream app")
	})))
	t.Cleanup(app.Close)
	cacheDir := ""
	if d, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(d, "oidc-proxy-wasm", "wazero")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	fs.p = startProxy(t, ctx, proxy.Config{
		WasmPath: pluginWasm(t), PluginConfig: cfgJSON,
		VMs: 2, Clusters: map[string]string{"oidc": op.srv.URL}, Upstream: app.URL, CacheDir: cacheDir,
	})
	fs.host, fs.url = fs.p.Host, fs.p.URL
	if ready {
		fs.waitStatus(t, http.StatusFound, 20*time.Second)
	}
	return fs
}

// waitStatus polls a protected navigation until it gets status (302: ready; 503: not).
func (fs *fakeStack) waitStatus(t testing.TB, status int, within time.Duration) response {
	t.Helper()
	b := newBrowser(t)
	deadline := time.Now().Add(within)
	for {
		r := b.get(fs.url + "/")
		if r.status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy still answers %d, want %d\nplugin log:\n%s", r.status, status, proxyLog(fs.p))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func proxyLog(p *proxy.Proxy) string {
	var b strings.Builder
	b.WriteString(p.LogText())
	return b.String()
}

// fakeLogin is one login through the proxy up to the callback, which the test then answers
// with an ID token of its choosing.
type fakeLogin struct {
	b                       *browser
	state, nonce, challenge string
}

func (fs *fakeStack) begin(t testing.TB, b *browser, path string) fakeLogin {
	t.Helper()
	r := b.get(fs.url + path)
	loc := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.HasPrefix(loc, fs.op.issuer+"/authorize?") {
		t.Fatalf("GET %s: %d to %q, want 302 to the fake provider", path, r.status, loc)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization request lacks PKCE, nonce or state: %s", u.RawQuery)
	}
	return fakeLogin{b: b, state: q.Get("state"), nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
}

// finish makes the fake provider answer with idToken and visits the callback.
func (fs *fakeStack) finish(t testing.TB, l fakeLogin, idToken string) response {
	t.Helper()
	code := "code-" + randomHex(t)
	fs.op.grant(code, l.challenge, idToken)
	return l.b.get(fs.url + "/oauth2/callback?code=" + code + "&state=" + url.QueryEscape(l.state))
}

func randomHex(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// logLinesWith returns the plugin log lines that contain s.
func logLinesWith(p *proxy.Proxy, s string) string {
	var b strings.Builder
	for _, l := range p.Logs() {
		if s != "" && strings.Contains(l, s) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestIDTokenAttacks answers the code exchange with forged or mismatched ID tokens. Each
// must be refused with 401, set no session and reach nothing upstream.
func TestIDTokenAttacks(t *testing.T) {
	op := newFakeOP(t)
	fs := startFake(t, op, nil, true)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&op.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(nonce string, f func(c map[string]any)) map[string]any {
		c := op.claims(nonce)
		f(c)
		return c
	}
	for _, tc := range []struct {
		name, reason string // reason: what the audit log line must say
		token        func(nonce string) string
	}{
		{"wrong nonce", "nonce does not match", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { c["nonce"] = "not-" + n }))
		}},
		{"no nonce", "missing claim: nonce", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { delete(c, "nonce") }))
		}},
		{"another issuer", "invalid issuer", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { c["iss"] = "https://evil.example.com" }))
		}},
		{"issuer with a trailing slash", "invalid issuer", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { c["iss"] = op.issuer + "/" }))
		}},
		{"another audience", "invalid audience", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { c["aud"] = "some-other-client" }))
		}},
		{"several audiences without azp", "azp is required", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { c["aud"] = []string{stack.ClientID, "other"} }))
		}},
		{"azp of another client", "invalid authorized party", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { c["azp"] = "other" }))
		}},
		{"expired", "token expired", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-10*time.Minute).Unix()
			}))
		}},
		{"no exp", "missing claim: exp", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) { delete(c, "exp") }))
		}},
		{"issued in the future", "issued in the future", func(n string) string {
			return signRS256(t, op.key, op.kid, edit(n, func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(time.Hour).Unix(), time.Now().Add(2*time.Hour).Unix()
			}))
		}},
		{"alg none", "alg none", func(n string) string { return unsignedJWT(op.claims(n)) }},
		{"alg none with the provider's kid", "alg none", func(n string) string {
			payload, _ := json.Marshal(op.claims(n))
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+op.kid+`"}`)) + "." +
				base64.RawURLEncoding.EncodeToString(payload) + "."
		}},
		{"signed by an unknown key", "unknown signing key", func(n string) string { return signRS256(t, otherKey, "unknown-kid", op.claims(n)) }},
		{"unknown key under the provider's kid", "invalid signature", func(n string) string { return signRS256(t, otherKey, op.kid, op.claims(n)) }},
		{"HS256 keyed with the public key", "algorithm not allowed", func(n string) string {
			return signJWS(t, jose.SigningKey{Algorithm: jose.HS256, Key: pubDER}, op.kid, op.claims(n))
		}},
		{"payload swapped under a valid signature", "invalid signature", func(n string) string {
			good := strings.Split(signRS256(t, op.key, op.kid, op.claims(n)), ".")
			evil, _ := json.Marshal(edit(n, func(c map[string]any) { c["sub"] = "admin" }))
			return good[0] + "." + base64.RawURLEncoding.EncodeToString(evil) + "." + good[2]
		}},
		{"not a JWT", "malformed", func(string) string { return "definitely-not-a-jwt" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, failed := fs.up.count(), metric(fs.p, "oidc_proxy.login.failed.id_token")
			b := newBrowser(t)
			l := fs.begin(t, b, "/protected")
			r := fs.finish(t, l, tc.token(l.nonce))
			wantRefused(t, r, http.StatusUnauthorized, fs.up, before)
			corr := r.header.Get("X-Correlation-Id")
			if line := logLinesWith(fs.p, corr); corr == "" || !strings.Contains(line, "id_token_rejected") || !strings.Contains(line, tc.reason) {
				t.Errorf("log for correlation id %q does not give the reason %q:\n%s", corr, tc.reason, line)
			}
			if !strings.Contains(r.body, corr) {
				t.Errorf("the error page does not show the correlation id %q", corr)
			}
			if got := metric(fs.p, "oidc_proxy.login.failed.id_token"); got != failed+1 {
				t.Errorf("login.failed.id_token went from %d to %d, want +1", failed, got)
			}
			// And the browser has no session: the protected page still sends it to log in.
			if r := b.get(fs.url + "/protected"); r.status != http.StatusFound {
				t.Errorf("after the refused login, the protected page answers %d, want 302", r.status)
			}
			fs.up.untouched(t, before)
		})
	}

	// Control: a correct ID token from the same fake provider is accepted, so the refusals
	// above are the validation's doing.
	b := newBrowser(t)
	l := fs.begin(t, b, "/protected?x=1")
	if r := fs.finish(t, l, signRS256(t, op.key, op.kid, op.claims(l.nonce))); r.status != http.StatusFound || r.header.Get("Location") != "/protected?x=1" {
		t.Fatalf("a valid ID token: %d %q; body %.300s\n%s", r.status, r.header.Get("Location"), r.body, proxyLog(fs.p))
	}
	before := fs.up.count()
	if r := b.get(fs.url + "/protected?x=1"); r.status != http.StatusOK || fs.up.count() != before+1 {
		t.Errorf("with the session: %d, upstream requests %d", r.status, fs.up.count()-before)
	}
	if got := fs.up.last().header.Get("X-Auth-Request-User"); got != "fake-user-1" {
		t.Errorf("X-Auth-Request-User = %q", got)
	}
}
