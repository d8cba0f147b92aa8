// Package filterbench defines the whole-filter benchmarks that `make bench` runs twice: natively
// through the SDK's proxytest (filter/bench_test.go) and in wasm through the e2e test host
// (e2e/bench). Both sides take their scenarios from here, so each row of the report is the same
// configuration, the same requests and the same provider answers on both sides.
//
// # What it provides
//
// A Fixture holds fixed signing keys (testdata/, so no run pays for an RSA key generation), a
// session key ring and the OpenID Provider's answers (discovery, JWKS, token endpoint). It
// mints what requests carry: session cookies, sealed login states, ID tokens and bearer
// tokens, shaped like a real provider's (an Entra ID or Keycloak session is two cookie chunks).
// Scenarios lists the report's rows.
//
// Nothing here imports proxywasm: it is plain Go, used by benchmarks only.
package filterbench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/sessionmint"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// The benchmark's identities. The issuers are https URLs that no one resolves: callouts go to
// the cluster, which each side maps to its own provider (an httptest server, or answers given
// to proxytest).
const (
	Issuer       = "https://op.bench.test"
	BearerIssuer = "https://api-issuer.bench.test"
	BearerAud    = "bench-api"
	Cluster      = "oidc"
	ClientID     = "bench-client"
	ClientSecret = "bench-client-secret-0123456789abcdef"
	Host         = "app.bench.test"
	CookieName   = "_oidc_session"
	BindCookie   = CookieName + "_bind"
	Nonce        = "n-0S6_WzA2Mj"
	KeyID        = "k1"
	// keySecret is the session key ring's only key (32 bytes, base64url).
	keySecret = "YmVuY2gtc2Vzc2lvbi1rZXktMzItYnl0ZXMtbG9uZyE"

	// Paths the provider serves.
	DiscoveryPath  = "/.well-known/openid-configuration"
	JWKSPath       = "/jwks"
	BearerJWKSPath = "/bearer/jwks"
	TokenPath      = "/token"
)

//go:embed testdata/*.pem
var keyFiles embed.FS

// A Fixture mints tokens, sessions and login states, and answers as the provider.
type Fixture struct {
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	sealer *sessionmint.Sealer // also seals the login states (its state.Sealer)

	// Tokens a session carries, minted once: a 1.5 KB RS256 access token, a 1.1 KB RS256
	// ID token and an 800-character opaque refresh token.
	accessToken, idToken, refreshToken string
	claims                             []byte
	seq                                int
	fill                               [][][2]string
	authTime                           time.Time // the user's login: every ID token's auth_time
}

// Alg is a JWS algorithm the fixture signs with.
type Alg string

const (
	RS256 Alg = "RS256"
	ES256 Alg = "ES256"
	EdDSA Alg = "EdDSA"
)

// New loads the keys and mints the session's tokens.
func New() (*Fixture, error) {
	f := &Fixture{}
	var err error
	load := func(name string) crypto.PrivateKey {
		if err != nil {
			return nil
		}
		var b []byte
		if b, err = keyFiles.ReadFile("testdata/" + name); err != nil {
			return nil
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			err = fmt.Errorf("filterbench: %s: no PEM block", name)
			return nil
		}
		var k any
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		return k
	}
	rk, ek, dk := load("rsa2048.pem"), load("p256.pem"), load("ed25519.pem")
	if err != nil {
		return nil, err
	}
	f.rsa, f.ec, f.ed = rk.(*rsa.PrivateKey), ek.(*ecdsa.PrivateKey), dk.(ed25519.PrivateKey)
	if f.sealer, err = sessionmint.NewSealer(KeyID, keySecret); err != nil {
		return nil, err
	}
	now := time.Now()
	f.authTime = now.Add(-time.Minute).Truncate(time.Second)
	f.claims = []byte(`{"sub":"5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718","email":"ada.lovelace@example.com",` +
		`"name":"Ada Lovelace","preferred_username":"ada","groups":["engineering","oncall","grafana-editors"]}`)
	f.accessToken = f.AccessToken(RS256, Issuer, ClientID, now.Add(time.Hour))
	f.idToken = f.IDToken(RS256, now, "")
	f.refreshToken = "1.AQ" + strings.Repeat("x7Qm", 200)
	return f, nil
}

// Config is the plugin configuration of the filter's rows: a provider found by discovery,
// the session's tokens and the default claim headers forwarded, a health check passed
// through, and a bearer route for /api/. jwt.leeway is 5 minutes: the bearer "miss" rows use
// a token that expired a moment ago, which the cache never serves (it keys entries by exp)
// and verification still accepts.
func (f *Fixture) Config() []byte {
	cfg := map[string]any{
		"provider": map[string]any{"issuer": Issuer, "cluster": Cluster, "timeout": "3s"},
		"client":   map[string]any{"id": ClientID, "secret": ClientSecret},
		"scopes":   []any{"openid", "profile", "email", "offline_access"},
		"keys":     []any{map[string]any{"id": KeyID, "secret": keySecret}},
		"forward": map[string]any{
			"access_token_header": "X-Forwarded-Access-Token",
			"id_token_header":     "X-Forwarded-Id-Token",
		},
		"jwt":          map[string]any{"leeway": "5m"},
		"pass_through": []any{map[string]any{"path": "/healthz"}},
		"api":          map[string]any{"prefixes": []any{"/api/"}},
		"bearer_issuers": []any{map[string]any{
			"name": "api", "issuer": BearerIssuer, "discovery": false, "jwks_uri": Issuer + BearerJWKSPath,
			"cluster": Cluster, "audiences": []any{BearerAud},
		}},
		"routes": []any{map[string]any{
			"name": "api", "match": map[string]any{"prefix": "/api/"}, "auth": "bearer", "bearer_issuers": []any{"api"},
		}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return b
}

// Response is an HTTP answer from the provider: status, headers (without ":status") and body.
type Response struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// Pairs returns the response's headers as a proxy-wasm header map, ":status" first.
func (r *Response) Pairs() [][2]string {
	out := make([][2]string, 0, len(r.Headers)+2)
	out = append(out, [2]string{":status", strconv.Itoa(r.Status)})
	out = append(out, r.Headers...)
	return append(out, [2]string{"content-length", strconv.Itoa(len(r.Body))})
}

func jsonResponse(v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &Response{Status: 200, Headers: [][2]string{{"content-type", "application/json"}}, Body: b}
}

// Provider answers a GET of the provider's discovery document or key sets; nil for any other
// path.
func (f *Fixture) Provider(path string) *Response {
	switch path {
	case DiscoveryPath:
		return jsonResponse(map[string]any{
			"issuer": Issuer, "authorization_endpoint": Issuer + "/authorize", "token_endpoint": Issuer + TokenPath,
			"userinfo_endpoint": Issuer + "/userinfo", "jwks_uri": Issuer + JWKSPath,
			"end_session_endpoint": Issuer + "/logout", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"},
			"code_challenge_methods_supported": []string{"S256"}, "scopes_supported": []string{"openid", "profile", "email", "offline_access"},
			"grant_types_supported": []string{"authorization_code", "refresh_token"},
		})
	case JWKSPath, BearerJWKSPath:
		return jsonResponse(map[string]any{"keys": f.jwks()})
	}
	return nil
}

func (f *Fixture) jwks() []any {
	b64 := base64.RawURLEncoding.EncodeToString
	pub, err := f.ec.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		panic(err)
	}
	ecx, ecy := pub[1:33], pub[33:65]
	return []any{
		map[string]any{"kty": "RSA", "kid": "rs", "use": "sig", "alg": "RS256",
			"n": b64(f.rsa.PublicKey.N.Bytes()), "e": b64(big.NewInt(int64(f.rsa.PublicKey.E)).Bytes())},
		map[string]any{"kty": "EC", "kid": "es", "use": "sig", "alg": "ES256", "crv": "P-256", "x": b64(ecx), "y": b64(ecy)},
		map[string]any{"kty": "OKP", "kid": "ed", "use": "sig", "alg": "EdDSA", "crv": "Ed25519",
			"x": b64(f.ed.Public().(ed25519.PublicKey))},
	}
}

// Sign returns a compact JWS of claims signed with the fixture's key for alg.
func (f *Fixture) Sign(alg Alg, claims map[string]any) string {
	kid := map[Alg]string{RS256: "rs", ES256: "es", EdDSA: "ed"}[alg]
	h, _ := json.Marshal(map[string]string{"alg": string(alg), "kid": kid, "typ": "JWT"})
	p, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case RS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, f.rsa, crypto.SHA256, digest[:])
	case ES256:
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, f.ec, digest[:]); err == nil {
			sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		}
	case EdDSA:
		sig = ed25519.Sign(f.ed, []byte(input))
	}
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// userClaims are the user's claims as an ID token carries them.
func (f *Fixture) userClaims(m map[string]any) map[string]any {
	var c map[string]any
	if err := json.Unmarshal(f.claims, &c); err != nil {
		panic(err)
	}
	for k, v := range c {
		m[k] = v
	}
	return m
}

// IDToken returns an ID token issued at iat for the client, valid for an hour, with the
// fixture's nonce and auth_time (the same in every token, as a refresh keeps it) and an
// at_hash of the access token when accessToken is not empty.
func (f *Fixture) IDToken(alg Alg, iat time.Time, accessToken string) string {
	m := f.userClaims(map[string]any{
		"iss": Issuer, "aud": ClientID, "azp": ClientID, "iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix(),
		"auth_time": f.authTime.Unix(), "sid": "2b7e1516-28ae-4d2a-a6d2-abf7158809cf", "nonce": Nonce,
		"acr": "1", "amr": []string{"pwd", "mfa"},
	})
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		m["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	return f.Sign(alg, m)
}

// AccessToken returns a JWT access token of about 1.5 KB (Entra ID and Keycloak access tokens
// carry this much) for audience aud, expiring at exp.
func (f *Fixture) AccessToken(alg Alg, iss, aud string, exp time.Time) string {
	return f.Sign(alg, f.userClaims(map[string]any{
		"iss": iss, "aud": aud, "exp": exp.Unix(), "iat": exp.Add(-time.Hour).Unix(), "nbf": exp.Add(-time.Hour).Unix(),
		"azp": ClientID, "client_id": ClientID, "scope": "openid profile email offline_access api.read api.write",
		"jti": "b8a1f3e2-4c5d-4e6f-8a9b-0c1d2e3f4a5b", "sid": "2b7e1516-28ae-4d2a-a6d2-abf7158809cf",
		"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
		"realm_access":    map[string]any{"roles": []string{"offline_access", "uma_authorization", "default-roles-corp"}},
		"resource_access": map[string]any{"account": map[string]any{"roles": []string{"manage-account", "view-profile"}}},
		"allowed-origins": []string{"https://" + Host},
		"acr":             "1", "typ": "Bearer", "session_state": "2b7e1516-28ae-4d2a-a6d2-abf7158809cf",
		"given_name": "Ada", "family_name": "Lovelace", "email_verified": true, "locale": "en-GB",
	}))
}

// TokenResponse is the token endpoint's answer to a code exchange or a refresh: a new access
// token, the fixture's refresh token, and an ID token signed with alg (none if alg is "").
func (f *Fixture) TokenResponse(alg Alg) *Response {
	now := time.Now()
	at := f.AccessToken(RS256, Issuer, ClientID, now.Add(time.Hour))
	m := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": f.refreshToken, "scope": "openid profile email offline_access"}
	if alg != "" {
		m["id_token"] = f.IDToken(alg, now, at)
	}
	r := jsonResponse(m)
	r.Headers = append(r.Headers, [2]string{"cache-control", "no-store"}, [2]string{"pragma", "no-cache"})
	return r
}

// SessionCookie returns a Cookie header value with a sealed session, as the filter sets it after
// a login (two chunks), plus two unrelated cookies a browser typically sends along. i makes
// the session distinct (its id and refresh token); accessExpiry is the access token's expiry.
func (f *Fixture) SessionCookie(i int, accessExpiry time.Time) string {
	now := time.Now().Truncate(time.Second)
	s := &state.Session{
		Version: 1, Subject: "5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718", SessionID: "sid-" + strconv.Itoa(i), Issuer: Issuer,
		Claims: f.claims, IDToken: f.idToken, AccessToken: f.accessToken,
		RefreshToken:  f.refreshToken[:len(f.refreshToken)-12] + fmt.Sprintf("%012d", i),
		IDTokenExpiry: now.Add(time.Hour), AccessTokenExpiry: accessExpiry,
		AuthTime: f.authTime, IssuedAt: now.Add(-time.Minute), Expiry: now.Add(24 * time.Hour),
	}
	c, err := f.sealer.Cookie(s)
	if err != nil {
		panic(err)
	}
	return "_ga=GA1.2.1820512345.1700000000; theme=dark; " + c
}

// LoginState returns a sealed state parameter for a login started now with the fixture's nonce
// and the binding cookie value it is bound to. Each call's state is distinct (fresh verifier
// and nonce of the envelope), as each login's is.
func (f *Fixture) LoginState() (sealed, binding string) {
	var buf [32]byte
	rand.Read(buf[:])
	binding = base64.RawURLEncoding.EncodeToString(buf[:])
	rand.Read(buf[:])
	ls := &state.LoginState{Verifier: base64.RawURLEncoding.EncodeToString(buf[:]) + "abcdefghijk", Nonce: Nonce,
		ReturnPath: "/app/dashboard?tab=1", IssuedAt: time.Now().Truncate(time.Second), BindingHash: state.BindingHash(binding)}
	plain, err := ls.MarshalBinary()
	if err != nil {
		panic(err)
	}
	sealed, err = f.sealer.Seal(state.PurposeState, BindCookie, plain, time.Now().Add(10*time.Minute))
	if err != nil {
		panic(err)
	}
	return sealed, binding
}
