package oidc

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// realisticTokenResponse is shaped like an Entra ID v2 response: a 1.5 KB
// access token, a 1.2 KB ID token and an opaque refresh token.
func realisticTokenResponse(b *testing.B) []byte {
	b.Helper()
	tok := func(n int) string {
		buf := make([]byte, n)
		rand.Read(buf)
		return base64.RawURLEncoding.EncodeToString(buf)
	}
	body, err := json.Marshal(map[string]any{
		"token_type": "Bearer", "scope": "openid profile email https://graph.microsoft.com/User.Read",
		"expires_in": 4970, "ext_expires_in": 4970,
		"access_token":  "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + tok(900) + "." + tok(256),
		"refresh_token": "1.AQ" + tok(800),
		"id_token":      "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + tok(650) + "." + tok(256),
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func BenchmarkParseTokenResponse(b *testing.B) {
	body := realisticTokenResponse(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTokenResponse(200, "application/json; charset=utf-8", body, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkValidateIDToken(b *testing.B, key signingKey) {
	v := newValidator(key)
	token := key.sign(b, claimsWith(func(m map[string]any) { m["at_hash"] = atHash(testAccess) }))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(token, testNonce, testAccess); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateIDTokenRS256(b *testing.B) { benchmarkValidateIDToken(b, newRSAKey(b, "k")) }
func BenchmarkValidateIDTokenES256(b *testing.B) { benchmarkValidateIDToken(b, newECKey(b, "k")) }

func BenchmarkParseCallback(b *testing.B) {
	md := &Metadata{Issuer: "https://sso.example.com/realms/corp", AuthorizationResponseIssParameterSupported: true}
	q := "state=" + base64.RawURLEncoding.EncodeToString(make([]byte, 300)) +
		"&session_state=5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718&iss=https%3A%2F%2Fsso.example.com%2Frealms%2Fcorp" +
		"&code=4b1e8c2a-7d3f-4e5a-9b6c-1d2e3f4a5b6c.5f3c1a2b-9d8e-4f70-a1b2-c3d4e5f60718.0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCallback(q, 0, md); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDiscovery(b *testing.B) {
	doc := readTestdata(b, "discovery_keycloak.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDiscovery(doc, keycloakIssuer, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthorizeURL(b *testing.B) {
	p := AuthParams{ClientID: "0b5c1a4e-7f2d-4c8e-9a61-3d2f8e4b7c10", RedirectURI: "https://app.example.com/oauth2/callback",
		Scopes: []string{"profile", "email", "offline_access"}, State: base64.RawURLEncoding.EncodeToString(make([]byte, 300)),
		Nonce: "n0nce-0123456789abcdef", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AuthorizeURL("https://login.microsoftonline.com/t/oauth2/v2.0/authorize", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSafeReturnPath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := SafeReturnPath("/app/reports/2025/q1?tab=summary&filter=region%3DEU", 0); !ok {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkIsAPIRequest(b *testing.B) {
	r := RequestInfo{Method: "GET", Path: "/app/page?x=1", Accept: browserAccept, SecFetchMode: "navigate", SecFetchDest: "document"}
	prefixes := []string{"/api", "/graphql"}
	b.ReportAllocs()
	for b.Loop() {
		if IsAPIRequest(r, true, prefixes) {
			b.Fatal("api")
		}
	}
}
