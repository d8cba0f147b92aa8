package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// The DPoP tests run the plugin with dpop.enabled against the embedded provider with DPoP
// (e2e/op/dpop.go: proofs checked with go-jose, tokens bound by cnf.jkt, refresh tokens by
// key, a nonce required), on e2e/host and on Envoy.

// dpConfigure turns DPoP on with the token endpoint (and its refresh token) for the test, a
// route that exchanges (RFC 8693) and one that forwards the token with a proof.
func dpConfigure(more ...func(map[string]any)) func(map[string]any) {
	return rfConfigure(append([]func(map[string]any){func(cfg map[string]any) {
		cfg["dpop"] = map[string]any{"enabled": true}
		cfg["endpoints"] = map[string]any{"token": true, "token_include_refresh_token": true}
		cfg["routes"] = []any{
			map[string]any{"name": "reports", "match": map[string]any{"prefix": "/app2/"},
				"exchange": map[string]any{"type": "rfc8693", "audience": "https://reports.example", "header": "X-Exchanged-Token"}},
			map[string]any{"name": "dpop-api", "match": map[string]any{"prefix": "/dpop/"}, "upstream_dpop": true, "upstream_url": dpUpstreamURL},
		}
	}}, more...)...)
}

// dpUpstreamURL is the dpop-api route's upstream_url: the origin its proofs name.
const dpUpstreamURL = "https://reports.internal.example:8443"

func dpOP(nonce bool) func(*op.Config) {
	return func(c *op.Config) { c.DPoP, c.DPoPNonce = true, nonce }
}

// dpJKT is the cnf.jkt of a token's claims.
func dpJKT(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	s, _ := cnf["jkt"].(string)
	return s
}

// dpPluginJKT is the thumbprint of the key the plugin's proofs were signed with, as the
// provider saw them (every accepted proof must have the same one).
func dpPluginJKT(t *testing.T, s *stack.Stack) string {
	t.Helper()
	proofs := s.OP.DPoPProofs()
	if len(proofs) == 0 {
		t.Fatal("the provider accepted no DPoP proof")
	}
	for _, p := range proofs {
		if p.JKT != proofs[0].JKT {
			t.Fatalf("proofs signed by two keys: %s and %s", proofs[0].JKT, p.JKT)
		}
	}
	return proofs[0].JKT
}

// TestDPoPLoginRefreshExchange: with a nonce required, the code exchange is refused once
// (use_dpop_nonce) and retried once with the nonce; the session's access token is bound to
// the plugin's key (cnf.jkt), and stays bound when refreshed and when exchanged; the token
// endpoint says token_type DPoP.
func TestDPoPLoginRefreshExchange(t *testing.T) {
	s, b, w := rfLoggedIn(t, stack.Options{OP: dpOP(true), Configure: dpConfigure()})
	c := s.OP.Counts()
	if c.Code != 2 {
		t.Errorf("code exchanges at the provider: %d, want 2 (one use_dpop_nonce, one retry)", c.Code)
	}
	jkt := dpPluginJKT(t, s)
	at := rfFresh(t, w, "X-Forwarded-Access-Token")
	if at == nil || dpJKT(at.Claims) != jkt {
		t.Fatalf("access token cnf %v, want jkt %s", at.Claims["cnf"], jkt)
	}
	if got := rfMetric(s, "oidc_proxy.dpop.nonce_retry"); got != 1 {
		t.Errorf("oidc_proxy.dpop.nonce_retry = %d, want 1", got)
	}
	tok := b.get(s.URL+"/oauth2/token", "Accept", "application/json", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
	if tok.status != http.StatusOK || !strings.HasPrefix(tok.body, `{"token_type":"DPoP",`) {
		t.Errorf("{prefix}/token: %d %.80s", tok.status, tok.body)
	}

	// Refresh: the new access token is bound to the same key, and the refresh used the nonce
	// kept from the login (no new refusal).
	rfWaitPast(w)
	w2 := rfWhoAmI(t, b, s, "/app1/api/whoami")
	at2 := rfFresh(t, w2, "X-Forwarded-Access-Token")
	if at2 == nil || at2.Raw == at.Raw || dpJKT(at2.Claims) != jkt {
		t.Fatalf("after the refresh: same token %v, cnf %v", at2 != nil && at2.Raw == at.Raw, at2.Claims["cnf"])
	}
	if c2 := s.OP.Counts(); c2.Refresh-c.Refresh != 1 {
		t.Errorf("refreshes at the provider: %d, want 1 (the nonce was kept)", c2.Refresh-c.Refresh)
	}

	// Exchange: the downstream token is bound too; a nonce challenge is retried once.
	s.OP.InjectDPoPNonceChallenge(1)
	x := rfWhoAmI(t, b, s, "/app2/api/whoami")
	if n := s.OP.Counts().TokenExchange; n != 2 {
		t.Errorf("token exchanges at the provider: %d, want 2 (a challenge, a retry)", n)
	}
	xt := rfFresh(t, x, "X-Exchanged-Token")
	if xt == nil || dpJKT(xt.Claims) != jkt {
		t.Fatalf("exchanged token cnf %v, want jkt %s", xt.Claims["cnf"], jkt)
	}
	if got := dpPluginJKT(t, s); got != jkt {
		t.Errorf("later proofs by key %s", got)
	}
	assertNoSecretsInLogs(t, s, at.Raw, at2.Raw, xt.Raw)
}

// TestDPoPPushed: with PAR, the push carries a proof too (RFC 9449 10.1); the first push's
// nonce challenge is retried once, and the nonce it brought serves every later push and the
// code exchange, which are not refused again. (The stack's readiness check pushes a login
// of its own before the test's.) With login.userinfo the userinfo call is DPoP too: the
// provider refuses a bound token sent as Bearer.
func TestDPoPPushed(t *testing.T) {
	s, _, w := rfLoggedIn(t, stack.Options{OP: func(c *op.Config) { dpOP(true)(c); c.PAR = true },
		Configure: dpConfigure(func(cfg map[string]any) { cfg["login"] = map[string]any{"userinfo": true} })})
	if n := s.OP.Counts().Userinfo; n != 1 {
		t.Errorf("userinfo calls: %d, want 1", n)
	}
	var pushed, nonced int
	for _, p := range s.OP.DPoPProofs() {
		if p.Endpoint == op.EndpointPAR {
			pushed++
		}
		if p.Nonce != "" {
			nonced++
		}
	}
	if c := s.OP.Counts(); pushed == 0 || c.PAR != pushed+1 || c.Code != 1 {
		t.Errorf("pushes %d, accepted %d (want one refused: the first), code exchanges %d (want 1)", c.PAR, pushed, c.Code)
	}
	if nonced != len(s.OP.DPoPProofs()) {
		t.Errorf("accepted proofs: %d of %d with the nonce", nonced, len(s.OP.DPoPProofs()))
	}
	if at := rfFresh(t, w, "X-Forwarded-Access-Token"); at == nil || dpJKT(at.Claims) != dpPluginJKT(t, s) {
		t.Errorf("the pushed login's access token is not bound to the plugin's key")
	}
}

// TestDPoPNonceChallenge: a provider that rotates its nonce under the client gets exactly one
// retry: one challenge and the login completes; two in a row and the login ends on a 502
// with a correlation id, after two requests, not more.
func TestDPoPNonceChallenge(t *testing.T) {
	for _, tc := range []struct {
		challenges, status, codes int
	}{{1, http.StatusFound, 2}, {2, http.StatusBadGateway, 2}} {
		s := start(t, stack.Options{OP: dpOP(false), Configure: dpConfigure()})
		b := newBrowser(t)
		r := b.get(s.URL + "/app1/")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		callback, err := s.OP.Login(ctx, r.header.Get("Location"))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		s.OP.InjectDPoPNonceChallenge(tc.challenges)
		final := b.get(callback)
		if final.status != tc.status {
			t.Errorf("%d challenges: callback %d, want %d: %.300s", tc.challenges, final.status, tc.status, final.body)
		}
		if tc.status != http.StatusFound && final.header.Get("X-Correlation-Id") == "" {
			t.Errorf("%d challenges: no correlation id", tc.challenges)
		}
		if c := s.OP.Counts().Code; c != tc.codes {
			t.Errorf("%d challenges: %d code exchanges, want %d", tc.challenges, c, tc.codes)
		}
	}
}

// TestDPoPRefreshNonceChallenge: a refresh challenged once is retried once and succeeds; one
// challenged twice keeps the session (the refresh token is not at fault) and, the tokens
// having expired, answers 502 with a correlation id; the next request refreshes.
func TestDPoPRefreshNonceChallenge(t *testing.T) {
	s, b, w := rfLoggedIn(t, stack.Options{OP: dpOP(false), Configure: dpConfigure()})
	rfWaitPast(w)
	s.OP.InjectDPoPNonceChallenge(1)
	before := s.OP.Counts().Refresh
	w2 := rfWhoAmI(t, b, s, "/app1/api/whoami")
	if n := s.OP.Counts().Refresh - before; n != 2 {
		t.Errorf("refreshes after one challenge: %d, want 2", n)
	}
	rfFresh(t, w2, "X-Forwarded-Access-Token")

	rfWaitPast(w2)
	s.OP.InjectDPoPNonceChallenge(2)
	before = s.OP.Counts().Refresh
	r := b.api(s.URL + "/app1/api/whoami")
	if r.status != http.StatusBadGateway || r.header.Get("X-Correlation-Id") == "" {
		t.Errorf("refresh challenged twice: %d (correlation id %q), want 502 with one: %.200s", r.status, r.header.Get("X-Correlation-Id"), r.body)
	}
	if n := s.OP.Counts().Refresh - before; n != 2 {
		t.Errorf("refreshes after two challenges: %d, want 2 (one retry, no more)", n)
	}
	// The failure is parked for 2 s (filter/flight.go minPark) for requests with the same
	// cookie; after that the next request refreshes.
	time.Sleep(2500 * time.Millisecond)
	rfFresh(t, rfWhoAmI(t, b, s, "/app1/api/whoami"), "X-Forwarded-Access-Token")
	if got := rfMetric(s, "oidc_proxy.dpop.nonce_refused"); got != 1 {
		t.Errorf("oidc_proxy.dpop.nonce_refused = %d, want 1", got)
	}
}

// TestDPoPBindingRefused: the tokens the plugin got are bound to its key at the provider. A
// proof the plugin sent is refused when replayed; the refresh token is refused without a
// proof and with a proof by another key; and a proof the provider treats as replayed fails
// the login (a 502), with no retry.
func TestDPoPBindingRefused(t *testing.T) {
	s, b, _ := rfLoggedIn(t, stack.Options{OP: dpOP(false), Configure: dpConfigure()})
	tok := b.get(s.URL+"/oauth2/token", "Accept", "application/json", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
	var tj struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &tj); err != nil || tj.RefreshToken == "" {
		t.Fatalf("{prefix}/token: %d %.200s", tok.status, tok.body)
	}
	endpoint := s.OP.Endpoints().Token
	refresh := func(proof string) (int, string) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}}
		req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(stack.ClientID, stack.ClientSecret)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	proofs := s.OP.DPoPProofs()
	for name, proof := range map[string]string{
		"replayed proof": proofs[len(proofs)-1].Raw,
		"no proof":       "",
		"another key":    dpProof(t, "POST", endpoint, ""),
	} {
		if status, body := refresh(proof); status != http.StatusBadRequest || !strings.Contains(body, "invalid_dpop_proof") {
			t.Errorf("%s: %d %s, want 400 invalid_dpop_proof", name, status, body)
		}
	}
	// The refresh token is still good for the plugin's key: the session refreshes.
	if w := rfWhoAmI(t, b, s, "/app1/api/whoami"); w.Tokens["X-Forwarded-Access-Token"] == nil {
		t.Error("the session lost its token")
	}

	b2 := newBrowser(t)
	r := b2.get(s.URL + "/app1/")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	callback, err := s.OP.Login(ctx, r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	before := s.OP.Counts().Code
	s.OP.InjectDPoPReplay(1)
	if final := b2.get(callback); final.status != http.StatusBadGateway || !strings.Contains(final.body, "invalid_dpop_proof") {
		t.Errorf("login with a refused proof: %d %.300s", final.status, final.body)
	}
	if n := s.OP.Counts().Code - before; n != 1 {
		t.Errorf("%d code exchanges after a refused proof, want 1 (no retry)", n)
	}
}

// TestDPoPUpstream: on a routes[].upstream_dpop route the app receives the session's access
// token as "Authorization: DPoP" with a proof for its own request (htm, htu without the
// query, ath of the token) that verifies against the token's cnf.jkt, fresh for each request
// and in place of any DPoP header the client sent.
func TestDPoPUpstream(t *testing.T) {
	up := &upstreamRecorder{}
	s, b, _ := rfLoggedIn(t, stack.Options{OP: dpOP(false), Upstream: up.wrap, AccessTTL: time.Minute, Configure: dpConfigure()})
	jtis := map[string]bool{}
	for i := range 2 {
		n := up.count()
		// A proof the client sends itself is replaced by the plugin's; the second request
		// names another Host, which the proof's htu must not follow.
		b.c.Transport = hostRewriter(map[bool]string{true: "evil.example"}[i == 1])
		if r := b.get(s.URL+"/dpop/api/whoami?q=1", "Accept", "application/json", "Sec-Fetch-Mode", "cors", "DPoP", "forged"); r.status != http.StatusOK {
			t.Fatalf("upstream_dpop route: %d %.300s", r.status, r.body)
		}
		b.c.Transport = nil
		req := dpLast(t, up, n)
		scheme, token, _ := strings.Cut(req.header.Get("Authorization"), " ")
		if scheme != "DPoP" || token == "" {
			t.Fatalf("Authorization %.20q, want DPoP <token>", req.header.Get("Authorization"))
		}
		claims := dpVerify(t, req.header.Get("DPoP"), dpTokenJKT(t, token))
		sum := sha256.Sum256([]byte(token))
		want := map[string]any{"htm": "GET", "htu": dpUpstreamURL + "/dpop/api/whoami", "ath": base64.RawURLEncoding.EncodeToString(sum[:])}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("proof %s = %v, want %v", k, claims[k], v)
			}
		}
		jti, _ := claims["jti"].(string)
		if jti == "" || jtis[jti] {
			t.Errorf("proof jti %q is missing or repeated", jti)
		}
		jtis[jti] = true
	}
	// A route without upstream_dpop forwards no proof.
	n := up.count()
	b.api(s.URL + "/app1/api/whoami")
	if req := dpLast(t, up, n); req.header.Get("DPoP") != "" {
		t.Error("a route without upstream_dpop got a DPoP proof")
	}
	if got := rfMetric(s, "oidc_proxy.dpop.upstream_proof"); got != 2 {
		t.Errorf("oidc_proxy.dpop.upstream_proof = %d, want 2", got)
	}
}

// dpLast is the request the upstream got after the first n.
func dpLast(t *testing.T, u *upstreamRecorder, n int) recordedRequest {
	t.Helper()
	if u.count() <= n {
		t.Fatalf("the upstream got no request (had %d)", n)
	}
	return u.last()
}

// dpTokenJKT reads cnf.jkt from a JWT access token without verifying it.
func dpTokenJKT(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the access token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	jkt := dpJKT(claims)
	if jkt == "" {
		t.Fatal("the access token has no cnf.jkt")
	}
	return jkt
}

// dpVerify verifies a DPoP proof with go-jose against its own jwk, checks that the jwk's
// thumbprint is jkt, and returns its claims.
func dpVerify(t *testing.T, proof, jkt string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("DPoP proof: %v", err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil {
		t.Fatalf("proof typ %v jwk %v", h.ExtraHeaders["typ"], h.JSONWebKey != nil)
	}
	tp, _ := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if got := base64.RawURLEncoding.EncodeToString(tp); got != jkt {
		t.Errorf("proof key %s, token bound to %s", got, jkt)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatalf("proof signature: %v", err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	return claims
}

// dpProof signs a proof with a key of its own (not the plugin's).
func dpProof(t *testing.T, method, htu, nonce string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString([]byte(time.Now().String())), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"), claims)
}

// TestDPoPBoundTokenAsBearer: the session's access token, bound to the plugin's key (cnf.jkt),
// leaks to the app (forward.access_token_header) and is replayed as a Bearer token at a bearer
// route of the same plugin whose issuer is the provider: RFC 9449 7.2 forbids accepting it,
// and the plugin answers 401 invalid_token saying why. An unbound token of the same provider
// (a login without DPoP) passes the same route.
func TestDPoPBoundTokenAsBearer(t *testing.T) {
	bearerRoute := func(cfg map[string]any) {
		p := cfg["provider"].(map[string]any)
		cfg["bearer_issuers"] = []any{map[string]any{"name": "op", "issuer": p["issuer"], "insecure_allow_http": true,
			"cluster": "oidc", "audiences": []any{stack.ClientID}}}
		cfg["routes"] = append(cfg["routes"].([]any), map[string]any{"name": "api", "match": map[string]any{"prefix": "/bearer/"},
			"auth": "bearer", "bearer_issuers": []any{"op"}})
	}
	for _, dpop := range []bool{true, false} {
		name := map[bool]string{true: "DPoP-bound", false: "unbound"}[dpop]
		t.Run(name, func(t *testing.T) {
			o := stack.Options{OP: dpOP(false), AccessTTL: time.Minute, Configure: dpConfigure(bearerRoute)}
			if !dpop {
				o = stack.Options{AccessTTL: time.Minute, Configure: rfConfigure(func(cfg map[string]any) { cfg["routes"] = []any{} }, bearerRoute)}
			}
			s, _, w := rfLoggedIn(t, o)
			at := rfFresh(t, w, "X-Forwarded-Access-Token")
			if at == nil || (dpJKT(at.Claims) != "") != dpop {
				t.Fatalf("the session's access token: cnf %v", at)
			}
			var r response
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				// 503 until the VM serving it has fetched the issuer's keys.
				r = newBrowser(t).get(s.URL+"/bearer/api/whoami", "Accept", "application/json", "Authorization", "Bearer "+at.Raw)
				if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
					break
				}
			}
			ch := r.header.Get("Www-Authenticate")
			switch {
			case dpop && (r.status != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, "bound to a DPoP key")):
				t.Errorf("the DPoP-bound token as Bearer: %d %q, want 401 invalid_token (bound to a DPoP key)", r.status, ch)
			case !dpop && r.status != http.StatusOK:
				t.Errorf("an unbound token of the same provider: %d %q %.200s", r.status, ch, r.body)
			}
			assertNoSecretsInLogs(t, s, at.Raw)
		})
	}
}

// hostRewriter is a transport that sends requests with the given Host header ("" leaves it).
type hostRewriter string

func (h hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if h != "" {
		r = r.Clone(r.Context())
		r.Host = string(h)
	}
	return http.DefaultTransport.RoundTrip(r)
}
