package filter

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

func TestBearerCache(t *testing.T) {
	now := time.Now()
	entry := func(tok string, exp time.Duration, claims int) *verifiedToken {
		return &verifiedToken{token: tok, expiry: now.Add(exp), claims: make([]byte, claims)}
	}
	t.Run("expiry", func(t *testing.T) {
		c := newBearerCache(10, 1<<20)
		c.put(entry("a", time.Minute, 0))
		if c.get("a", now) == nil || c.get("a", now.Add(time.Minute-time.Nanosecond)) == nil {
			t.Error("a live entry was not found")
		}
		if c.get("a", now.Add(time.Minute)) != nil {
			t.Error("an entry was returned at its exp")
		}
		if c.len() != 0 {
			t.Error("an expired entry stayed in the map")
		}
		if c.get("b", now) != nil {
			t.Error("an unknown token was found")
		}
	})
	t.Run("entries bound, oldest out first", func(t *testing.T) {
		c := newBearerCache(3, 1<<20)
		for i := range 10 {
			c.put(entry(fmt.Sprint(i), time.Minute, 0))
			if c.len() > 3 {
				t.Fatalf("after %d puts: %d entries", i+1, c.len())
			}
		}
		for i := range 10 {
			if got := c.get(fmt.Sprint(i), now) != nil; got != (i >= 7) {
				t.Errorf("entry %d present %v", i, got)
			}
		}
	})
	t.Run("bytes bound", func(t *testing.T) {
		c := newBearerCache(100, 10_000)
		for i := range 50 {
			c.put(entry(fmt.Sprint(i), time.Minute, 2000))
			if c.c.Bytes() > 10_000 {
				t.Fatalf("after %d puts: %d bytes", i+1, c.c.Bytes())
			}
		}
		if c.len() == 0 || c.get("49", now) == nil {
			t.Error("the newest entry is not cached")
		}
		c.put(entry("huge", time.Minute, 20_000))
		if c.get("huge", now) != nil {
			t.Error("an entry over the whole budget was cached")
		}
	})
	t.Run("re-put after expiry", func(t *testing.T) {
		c := newBearerCache(2, 1<<20)
		c.put(entry("a", -time.Second, 0))
		c.put(entry("a", time.Minute, 0))
		c.put(entry("b", time.Minute, 0)) // evicts the first "a" from the queue only
		if c.get("a", now) == nil || c.get("b", now) == nil {
			t.Error("evicting a replaced entry removed its successor")
		}
	})
}

func TestAuthorizeRules(t *testing.T) {
	a := &config.Authorization{Scopes: []string{"read"}, Combine: config.CombineAll,
		Claims: []config.ClaimRule{{Claim: "groups", Op: config.ClaimContains, Value: "admins"}, {Claim: "email_verified", Op: config.ClaimEquals, Value: true}}}
	for _, tc := range []struct {
		claims, scopes string
		missing        int
		allowed        bool
	}{
		{`{"groups":["admins"],"email_verified":true}`, "read write", 0, true},
		{`{"groups":["admins"],"email_verified":true}`, "write", 1, false},
		{`{"groups":["users"],"email_verified":true}`, "read", 0, false},
		{`{"groups":["admins"],"email_verified":"true"}`, "read", 0, false},
		{`{"groups":"admins users","email_verified":true}`, "read", 0, true},
	} {
		scopes := strings.Fields(tc.scopes)
		if got := len(engine.MissingScopes(a.Scopes, scopes)); got != tc.missing {
			t.Errorf("%s %q: %d missing scopes, want %d", tc.claims, tc.scopes, got, tc.missing)
		}
		if got := a.Allows(scopes, engine.ClaimLookup([]byte(tc.claims))); got != tc.allowed {
			t.Errorf("%s %q: allowed %v, want %v", tc.claims, tc.scopes, got, tc.allowed)
		}
	}
	if got := engine.SessionScopes("opaque-token", []string{"openid"}); len(got) != 1 || got[0] != "openid" {
		t.Errorf("scopes of an opaque access token: %q, want the requested ones", got)
	}
	at := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"scope":"openid api.read"}`)) + ".c2ln"
	if got := engine.SessionScopes(at, []string{"openid"}); strings.Join(got, " ") != "openid api.read" {
		t.Errorf("scopes of a JWT access token: %q", got)
	}
}

func TestDescribeTokenError(t *testing.T) {
	secret := "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln"
	for _, err := range []error{jwt.ErrExpired, jwt.ErrNotYetValid, jwt.ErrIssuedInFuture, jwt.ErrAudience, jwt.ErrIssuer,
		jwt.ErrAlgNone, jwt.ErrAlgNotAllowed, jwt.ErrSignature, jwt.ErrUnknownKey, jwt.ErrKeyMismatch, jwt.ErrMissingClaim,
		jwt.ErrTooLarge, jwt.ErrMalformed, jwt.ErrCrit, jwt.ErrType, errForeignIssuer, errIDTokenAsBearer, errors.New("other")} {
		wrapped := fmt.Errorf("%w: detail %s \r\n", err, secret)
		d := describeTokenError(wrapped)
		if d == "" || strings.Contains(d, "detail") || strings.ContainsAny(d, "\r\n\"\\") {
			t.Errorf("%v: description %q", err, d)
		}
		if r := rejectReason(wrapped); !containsString(bearerRejectReasons, r) {
			t.Errorf("%v: reason %q is not in the closed set", err, r)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func newBearerHarness(t *testing.T) (*lh, *bearerSigner) {
	l := newLH(t, func(c map[string]any) {
		c["bearer_issuers"] = []any{map[string]any{"name": "api", "issuer": bhIssuer, "discovery": false,
			"jwks_uri": bhIssuer + "/keys", "cluster": "oidc", "audiences": []any{"api://x"}}}
		c["routes"] = []any{
			map[string]any{"name": "api", "match": map[string]any{"prefix": "/api/"}, "auth": "bearer", "bearer_issuers": []any{"api"}},
			map[string]any{"name": "scoped", "match": map[string]any{"prefix": "/scoped/"}, "auth": "bearer", "bearer_issuers": []any{"api"},
				"authorization": map[string]any{"scopes": []any{"read"}}},
			map[string]any{"name": "mixed", "match": map[string]any{"prefix": "/mixed/"}, "auth": "session_or_bearer", "bearer_issuers": []any{"api"}},
		}
		c["forward"] = map[string]any{"access_token_header": "X-Forwarded-Access-Token", "claims": map[string]any{"X-User": "sub", "X-Groups": "groups"}}
		c["login"] = map[string]any{"claims": []any{"sub", "groups"}}
	})
	l.ready()
	return l, newBearerSigner(t, "api-1")
}

const bhIssuer = "https://api-issuer.example.com"

type bearerSigner struct {
	t   testing.TB
	key *rsa.PrivateKey
	kid string
}

func newBearerSigner(t testing.TB, kid string) *bearerSigner {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &bearerSigner{t: t, key: k, kid: kid}
}

func (s *bearerSigner) jwks(more ...*bearerSigner) string {
	keys := []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: "RS256", Use: "sig"}}
	for _, m := range more {
		keys = append(keys, jose.JSONWebKey{Key: &m.key.PublicKey, KeyID: m.kid, Algorithm: "RS256", Use: "sig"})
	}
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	return string(b)
}

func (s *bearerSigner) token(edit func(map[string]any)) string {
	c := map[string]any{"iss": bhIssuer, "aud": "api://x", "sub": "u1", "exp": time.Now().Add(time.Hour).Unix(),
		"scope": "read", "groups": []string{"g1", "g2"}}
	if edit != nil {
		edit(c)
	}
	return s.sign("", c)
}

// sign signs claims c with RS256 under the signer's kid, with a header typ ("" for none).
func (s *bearerSigner) sign(typ string, c map[string]any) string {
	opts := (&jose.SignerOptions{}).WithHeader("kid", s.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key}, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		s.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func TestBearerRoute(t *testing.T) {
	l, s := newBearerHarness(t)
	tok := s.token(nil)

	// Before the first tick the issuer's keys are not there: 503, not a login redirect.
	if r := l.request("GET", "/api/x", "authorization", "Bearer "+tok); r.status() != 503 || r.header("retry-after") == "" {
		t.Fatalf("before the keys: %d, want 503 with Retry-After", r.status())
	}
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())

	r := l.request("GET", "/api/x", "authorization", "Bearer "+tok, "x-user", "forged")
	if r.action != types.ActionContinue || r.local != nil {
		t.Fatalf("a valid token: action %v, local %+v", r.action, r.local)
	}
	got := l.host.GetCurrentRequestHeaders(r.id)
	for name, want := range map[string]string{"x-user": "u1", "x-groups": "g1,g2", "x-forwarded-access-token": tok} {
		if v := lhHeader(got, name); v != want {
			t.Errorf("upstream %s = %q, want %q", name, v, want)
		}
	}
	miss, hit := l.counter("oidc_proxy.bearer.cache_miss"), l.counter("oidc_proxy.bearer.cache_hit")
	if r := l.request("GET", "/api/x", "authorization", "Bearer "+tok); r.action != types.ActionContinue {
		t.Fatalf("the same token again: %v", r.action)
	}
	if l.counter("oidc_proxy.bearer.cache_miss") != miss || l.counter("oidc_proxy.bearer.cache_hit") != hit+1 {
		t.Error("the second use of a token was not a cache hit")
	}

	// A token past its exp but within jwt.leeway is accepted and never cached.
	late := s.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Second).Unix() })
	miss = l.counter("oidc_proxy.bearer.cache_miss")
	for range 2 {
		if r := l.request("GET", "/api/x", "authorization", "Bearer "+late); r.action != types.ActionContinue {
			t.Fatalf("a token within the leeway after exp: %v", r.action)
		}
	}
	if got := l.counter("oidc_proxy.bearer.cache_miss") - miss; got != 2 || l.p.bearer.cache.get(late, time.Now().Add(-time.Hour)) != nil {
		t.Errorf("a token past its exp was cached (%d misses for 2 requests)", got)
	}

	for _, tc := range []struct {
		name, path, authz string
		status            int
		challenge         string
	}{
		{"no token", "/api/x", "", 401, `Bearer realm="oidc-proxy"`},
		{"expired", "/api/x", "Bearer " + s.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), 401,
			`Bearer realm="oidc-proxy", error="invalid_token", error_description="The token has expired."`},
		{"malformed header", "/api/x", "Bearer a b", 400, `Bearer realm="oidc-proxy", error="invalid_request"`},
		{"missing scope", "/scoped/x", "Bearer " + s.token(func(c map[string]any) { c["scope"] = "write" }), 403,
			`Bearer realm="oidc-proxy", error="insufficient_scope", error_description="The token lacks a scope this resource requires.", scope="read"`},
		{"session_or_bearer: a bad token is not ignored", "/mixed/x", "Bearer x.y.z", 401, `error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.authz != "" {
				h = []string{"authorization", tc.authz}
			}
			r := l.request("GET", tc.path, h...)
			if r.status() != tc.status || !strings.Contains(r.header("www-authenticate"), tc.challenge) {
				t.Errorf("%d %q, want %d %q", r.status(), r.header("www-authenticate"), tc.status, tc.challenge)
			}
			if tc.challenge == `Bearer realm="oidc-proxy"` && r.header("www-authenticate") != tc.challenge {
				t.Errorf("challenge %q has more than the realm", r.header("www-authenticate"))
			}
		})
	}
	// session_or_bearer without a token is a session route: an API call gets the session
	// path's 401, a navigation a login redirect.
	if r := l.navigate("/mixed/x"); r.status() != 302 {
		t.Errorf("navigation to session_or_bearer without credentials: %d, want 302", r.status())
	}
}

func TestBearerUnknownKidRefetch(t *testing.T) {
	l, s := newBearerHarness(t)
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())

	rotated := newBearerSigner(t, "api-2")
	r := l.request("GET", "/api/x", "authorization", "Bearer "+rotated.token(nil))
	if r.action != types.ActionPause || r.local != nil {
		t.Fatalf("a token with an unknown kid: %v %+v, want a pause for the refetch", r.action, r.local)
	}
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks(rotated))
	if a := l.host.GetCurrentHttpStreamAction(r.id); a != types.ActionContinue {
		t.Fatalf("after the refetch: %v, want the request resumed", a)
	}
	if lhHeader(l.host.GetCurrentRequestHeaders(r.id), "x-user") != "u1" {
		t.Error("the resumed request lacks its claim headers")
	}
	// Another unknown kid within jwks_min_refetch_interval is refused at once.
	other := newBearerSigner(t, "api-3")
	if r := l.request("GET", "/api/x", "authorization", "Bearer "+other.token(nil)); r.status() != 401 {
		t.Errorf("a second unknown kid right after a refetch: %d, want 401", r.status())
	}
	l.host.Tick()
	if cs := l.rootCallouts(); len(cs) != 0 {
		t.Errorf("%d callouts after a rate-limited unknown kid", len(cs))
	}
	if l.counter("oidc_proxy.bearer.jwks.refetch_limited") != 1 {
		t.Error("the refused refetch was not counted")
	}
}

// Native benchmarks of the bearer path, without the host: a cache miss verifies the token
// and computes its claim headers; a hit finds it and authorizes it. The same paths through
// the compiled plugin are BenchmarkBearerWasm in e2e.
func BenchmarkBearerNative(b *testing.B) {
	cfg, err := config.Parse([]byte(`{
		"provider": {"issuer": "https://op.example.com", "cluster": "oidc"},
		"client": {"id": "c", "secret": "a-client-secret-that-is-long-enough-for-tests"},
		"keys": [{"id": "k1", "secret": "VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="}],
		"bearer_issuers": [{"name": "api", "issuer": "https://api.example.com", "jwks_uri": "https://api.example.com/keys",
			"discovery": false, "cluster": "oidc", "audiences": ["api://x"]}],
		"routes": [{"name": "api", "match": {"prefix": "/api/"}, "auth": "bearer", "bearer_issuers": ["api"],
			"authorization": {"scopes": ["read"], "claims": [{"claim": "groups", "contains": "admins"}]}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	route := &cfg.Routes[0]
	p := &pluginContext{cfg: cfg}
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		signer, pub := benchKey(b, alg)
		ks := jwt.NewKeySet(&jwt.Key{ID: "k", Algorithm: jwt.Algorithm(alg), Use: "sig", Public: pub})
		it := &issuer{bi: route.BearerIssuers[0], keySource: &keySource{verifier: jwt.NewVerifier(ks, jwt.Options{})}}
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"iss": "https://api.example.com", "aud": "api://x", "sub": "user-1",
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "scope": "openid read", "groups": []string{"users", "admins"},
			"email": "user@example.com"})
		token := benchSign(b, alg, signer, claims)
		b.Run(alg+"/miss", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := verifyBearer(it, token, now, 30*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				v.headers = p.claimHeaders(v.claims)
			}
		})
		b.Run(alg+"/hit", func(b *testing.B) {
			c := newBearerCache(bearerCacheEntries, bearerCacheBytes)
			v, err := verifyBearer(it, token, now, 30*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			v.headers = p.claimHeaders(v.claims)
			c.put(v)
			b.ReportAllocs()
			for b.Loop() {
				v := c.get(token, now)
				if v == nil || !acceptsIssuer(route, v.issuer) || len(engine.MissingScopes(route.Authorization.Scopes, v.scopes)) > 0 ||
					!route.Authorization.Allows(v.scopes, engine.ClaimLookup(v.claims)) {
					b.Fatal("not accepted")
				}
			}
		})
	}
}

func benchKey(b *testing.B, alg string) (crypto.Signer, crypto.PublicKey) {
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case "RS256":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		b.Fatal(err)
	}
	return k, k.Public()
}

func benchSign(b *testing.B, alg string, k crypto.Signer, claims []byte) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"k","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		h := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case "ES256":
		h := sha256.Sum256([]byte(input))
		r, s, e := ecdsa.Sign(rand.Reader, k.(*ecdsa.PrivateKey), h[:])
		sig, err = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), e
	case "EdDSA":
		sig = ed25519.Sign(k.(ed25519.PrivateKey), []byte(input))
	}
	if err != nil {
		b.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}
