package jwt

import (
	"crypto/sha512"
	"errors"
	"strings"
	"testing"
	"time"
)

func claimsOf(t *testing.T, payload string) (*Claims, error) {
	t.Helper()
	tok := &Token{Payload: []byte(payload)}
	return tok.Claims()
}

func TestClaimsParse(t *testing.T) {
	c, err := claimsOf(t, `{"iss":"https://op.example","sub":"alice","azp":"client","nonce":"n-0S6","at_hash":"77QmUPtjPfzWtF2AnpK9RQ",
		"aud":["client","api"],"exp":1700000600,"nbf":1700000000.25,"iat":1700000000,"auth_time":1699999000,"email":"a@example.com","iss_extra":{"iss":1}}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://op.example" || c.Subject != "alice" || c.AuthorizedParty != "client" || c.Nonce != "n-0S6" || c.AtHash != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Fatalf("strings: %+v", c)
	}
	if len(c.Audience) != 2 || c.Audience[1] != "api" {
		t.Fatalf("aud: %q", c.Audience)
	}
	if c.Expiry.Unix() != 1700000600 || c.NotBefore.UnixMilli() != 1700000000250 || c.IssuedAt.Unix() != 1700000000 || c.AuthTime.Unix() != 1699999000 {
		t.Fatalf("dates: %+v", c)
	}

	c, err = claimsOf(t, `{"aud":"client","iss":"a\u002fb"}`)
	if err != nil || len(c.Audience) != 1 || c.Audience[0] != "client" || c.Issuer != "a/b" {
		t.Fatalf("aud string: %v %+v", err, c)
	}
	c, err = claimsOf(t, `{}`)
	if err != nil || !c.Expiry.IsZero() || c.Audience != nil {
		t.Fatalf("empty: %v %+v", err, c)
	}
}

func TestClaimsRejects(t *testing.T) {
	tests := []struct{ name, payload string }{
		{"duplicate iss", `{"iss":"a","iss":"b"}`},
		{"duplicate, escaped", `{"sub":"a","s\u0075b":"b"}`},
		{"duplicate custom claim", `{"groups":[],"groups":["admin"]}`},
		{"iss number", `{"iss":1}`},
		{"sub null", `{"sub":null}`},
		{"nonce array", `{"nonce":["a"]}`},
		{"aud number", `{"aud":1}`},
		{"aud array with number", `{"aud":["a",1]}`},
		{"aud object", `{"aud":{"a":1}}`},
		{"exp string", `{"exp":"1700000000"}`},
		{"exp negative", `{"exp":-1}`},
		{"exp milliseconds", `{"exp":1700000000000}`},
		{"exp huge", `{"exp":1e400}`},
		{"iat bool", `{"iat":true}`},
		{"not an object", `[1]`},
		{"not JSON", `{"iss":"a",}`},
		{"too many claims", "{" + strings.Repeat(`"a":1,`, maxClaims) + `"b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := claimsOf(t, tt.payload); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	now := time.Unix(1700000000, 0)
	base := Claims{
		Issuer: "https://op.example", Subject: "alice", Audience: []string{"client"}, Nonce: "n-0S6",
		Expiry: now.Add(5 * time.Minute), IssuedAt: now.Add(-time.Minute), AuthTime: now.Add(-time.Hour),
	}
	exp := Expected{
		Issuer: "https://op.example", Audience: "client", AuthorizedParty: "client", Nonce: "n-0S6",
		Now: func() time.Time { return now }, Leeway: 30 * time.Second,
		RequireExpiry: true, RequireIssuedAt: true, RequireSubject: true,
	}
	tests := []struct {
		name   string
		claims func(*Claims)
		exp    func(*Expected)
		want   []error
	}{
		{"valid", nil, nil, nil},
		{"no issuer configured", nil, func(e *Expected) { e.Issuer = "" }, []error{ErrIssuer}},
		{"issuer differs", func(c *Claims) { c.Issuer = "https://op.example/" }, nil, []error{ErrIssuer}},
		{"issuer missing", func(c *Claims) { c.Issuer = "" }, nil, []error{ErrIssuer, ErrMissingClaim}},
		{"no audience configured", nil, func(e *Expected) { e.Audience = "" }, []error{ErrAudience}},
		{"audience differs", func(c *Claims) { c.Audience = []string{"other"} }, nil, []error{ErrAudience}},
		{"audience missing", func(c *Claims) { c.Audience = nil }, nil, []error{ErrAudience, ErrMissingClaim}},
		{"two audiences without azp", func(c *Claims) { c.Audience = []string{"client", "api"} }, nil, []error{ErrAuthorizedParty, ErrMissingClaim}},
		{"two audiences with azp", func(c *Claims) { c.Audience, c.AuthorizedParty = []string{"api", "client"}, "client" }, nil, nil},
		{"azp differs", func(c *Claims) { c.AuthorizedParty = "spa" }, nil, []error{ErrAuthorizedParty}},
		{"azp not checked for access tokens", func(c *Claims) { c.Audience, c.AuthorizedParty = []string{"client", "api"}, "spa" }, func(e *Expected) { e.AuthorizedParty = "" }, nil},
		{"expired", func(c *Claims) { c.Expiry = now.Add(-31 * time.Second) }, nil, []error{ErrExpired}},
		{"expired exactly at exp+leeway", func(c *Claims) { c.Expiry = now.Add(-30 * time.Second) }, nil, []error{ErrExpired}},
		{"within leeway after exp", func(c *Claims) { c.Expiry = now.Add(-29 * time.Second) }, nil, nil},
		{"expired without leeway", func(c *Claims) { c.Expiry = now }, func(e *Expected) { e.Leeway = 0 }, []error{ErrExpired}},
		{"negative leeway is zero", func(c *Claims) { c.Expiry = now.Add(time.Second) }, func(e *Expected) { e.Leeway = -time.Hour }, nil},
		{"exp required", func(c *Claims) { c.Expiry = time.Time{} }, nil, []error{ErrMissingClaim}},
		{"exp optional", func(c *Claims) { c.Expiry = time.Time{} }, func(e *Expected) { e.RequireExpiry = false }, nil},
		{"not yet valid", func(c *Claims) { c.NotBefore = now.Add(31 * time.Second) }, nil, []error{ErrNotYetValid}},
		{"nbf within leeway", func(c *Claims) { c.NotBefore = now.Add(30 * time.Second) }, nil, nil},
		{"issued in the future", func(c *Claims) { c.IssuedAt = now.Add(31 * time.Second) }, nil, []error{ErrIssuedInFuture}},
		{"iat within leeway", func(c *Claims) { c.IssuedAt = now.Add(30 * time.Second) }, nil, nil},
		{"iat required", func(c *Claims) { c.IssuedAt = time.Time{} }, nil, []error{ErrMissingClaim}},
		{"max age", nil, func(e *Expected) { e.MaxAge = 29 * time.Second }, []error{ErrTooOld}},
		{"max age within leeway", nil, func(e *Expected) { e.MaxAge = 31 * time.Second }, nil},
		{"max age requires iat", func(c *Claims) { c.IssuedAt = time.Time{} }, func(e *Expected) { e.MaxAge, e.RequireIssuedAt = time.Hour, false }, []error{ErrMissingClaim}},
		{"max auth age", nil, func(e *Expected) { e.MaxAuthAge = 30 * time.Minute }, []error{ErrAuthTooOld}},
		{"max auth age met", nil, func(e *Expected) { e.MaxAuthAge = 2 * time.Hour }, nil},
		{"max auth age requires auth_time", func(c *Claims) { c.AuthTime = time.Time{} }, func(e *Expected) { e.MaxAuthAge = time.Hour }, []error{ErrMissingClaim}},
		{"nonce differs", func(c *Claims) { c.Nonce = "n-0S7" }, nil, []error{ErrNonce}},
		{"nonce missing", func(c *Claims) { c.Nonce = "" }, nil, []error{ErrNonce, ErrMissingClaim}},
		{"nonce not expected", func(c *Claims) { c.Nonce = "" }, func(e *Expected) { e.Nonce = "" }, nil},
		{"sub required", func(c *Claims) { c.Subject = "" }, nil, []error{ErrMissingClaim}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, e := base, exp
			if tt.claims != nil {
				tt.claims(&c)
			}
			if tt.exp != nil {
				tt.exp(&e)
			}
			err := c.Validate(e)
			if len(tt.want) == 0 && err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if len(tt.want) > 0 && err == nil {
				t.Fatalf("got nil, want %v", tt.want)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Fatalf("got %v, want %v", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "n-0S") {
				t.Fatalf("error %q contains the nonce", err)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := Claims{Issuer: "https://evil.example/" + strings.Repeat("x", 200), Audience: []string{"a", "b", "c", "d", "e"}}
	err := c.Validate(Expected{Issuer: "https://op.example", Audience: "client", Now: func() time.Time { return now }})
	if !strings.Contains(err.Error(), `expected "https://op.example", got "https://evil.example/`) || len(err.Error()) > 200 {
		t.Fatalf("issuer message: %q", err)
	}
	c.Issuer = "https://op.example"
	err = c.Validate(Expected{Issuer: "https://op.example", Audience: "client", Now: func() time.Time { return now }})
	if want := `jwt: invalid audience: expected "client", got ["a" "b" "c" "d" and 1 more]`; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}

func TestVerifyAtHash(t *testing.T) {
	// OpenID Connect Core 1.0, Appendix A.3 (RS256).
	if err := VerifyAtHash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", RS256, "77QmUPtjPfzWtF2AnpK9RQ"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  string
		alg    Algorithm
		atHash string
		want   []error
	}{
		{"wrong access token", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Z", RS256, "77QmUPtjPfzWtF2AnpK9RQ", []error{ErrAtHash}},
		{"wrong hash for alg", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", RS384, "77QmUPtjPfzWtF2AnpK9RQ", []error{ErrAtHash}},
		{"padded", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", RS256, "77QmUPtjPfzWtF2AnpK9RQ==", []error{ErrAtHash}},
		{"missing", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", RS256, "", []error{ErrAtHash, ErrMissingClaim}},
		{"alg none", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "none", "77QmUPtjPfzWtF2AnpK9RQ", []error{ErrAtHash}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyAtHash(tt.token, tt.alg, tt.atHash)
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Fatalf("got %v, want %v", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "jHkWEd") {
				t.Fatal("error contains the access token")
			}
		})
	}
	sum := sha512.Sum512([]byte("token"))
	if err := VerifyAtHash("token", EdDSA, b64.EncodeToString(sum[:32])); err != nil {
		t.Fatalf("EdDSA must use SHA-512: %v", err)
	}
	// Each alg uses its own hash.
	for _, alg := range allAlgs {
		h := lookupAlg(alg).hash.New()
		h.Write([]byte("token"))
		sum := h.Sum(nil)
		if err := VerifyAtHash("token", alg, b64.EncodeToString(sum[:len(sum)/2])); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
	}
}
