package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// signingKey signs test tokens with the standard library.
type signingKey struct {
	alg  jwt.Algorithm
	kid  string
	priv crypto.Signer
}

func newRSAKey(t testing.TB, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{jwt.RS256, kid, k}
}

func newECKey(t testing.TB, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{jwt.ES256, kid, k}
}

func (k signingKey) jwk() *jwt.Key {
	return &jwt.Key{ID: k.kid, Algorithm: k.alg, Use: "sig", Public: k.priv.Public()}
}

// signRaw signs header and payload JSON as given (so tests can send
// duplicate members or odd algs).
func (k signingKey) signRaw(t testing.TB, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		s, err := rsa.SignPKCS1v15(rand.Reader, p, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = s
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, p, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + enc.EncodeToString(sig)
}

func (k signingKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"})
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return k.signRaw(t, string(h), string(p))
}

// signTyp signs claims with the header typ given ("" leaves it out).
func (k signingKey) signTyp(t testing.TB, typ string, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": k.alg, "kid": k.kid}
	if typ != "" {
		h["typ"] = typ
	}
	hb, _ := json.Marshal(h)
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return k.signRaw(t, string(hb), string(p))
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

const (
	testIssuer   = "https://op.example.com"
	testClientID = "client-1"
	testNonce    = "nonce-SECRETVALUE"
	testAccess   = "access-SECRETVALUE"
)

var testNow = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)

func baseClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "user-1", "aud": testClientID,
		"exp": testNow.Add(time.Hour).Unix(), "iat": testNow.Add(-time.Minute).Unix(),
		"nonce": testNonce, "auth_time": testNow.Add(-time.Minute).Unix(),
	}
}

func claimsWith(f func(m map[string]any)) map[string]any {
	m := baseClaims()
	f(m)
	return m
}

func newValidator(keys ...signingKey) *IDTokenValidator {
	set := make([]*jwt.Key, len(keys))
	for i, k := range keys {
		set[i] = k.jwk()
	}
	return &IDTokenValidator{
		Issuer:   testIssuer,
		ClientID: testClientID,
		Verifier: jwt.NewVerifier(jwt.NewKeySet(set...), jwt.Options{Algorithms: []jwt.Algorithm{jwt.RS256, jwt.ES256}}),
		Now:      func() time.Time { return testNow },
		Leeway:   30 * time.Second,
	}
}

func TestIDTokenValidate(t *testing.T) {
	rsaKey := newRSAKey(t, "rsa-1")
	ecKey := newECKey(t, "ec-1")
	otherRSA := newRSAKey(t, "rsa-1") // same kid, different key
	unknown := newECKey(t, "rotated")
	v := newValidator(rsaKey, ecKey)
	onlyRS := newValidator(rsaKey, ecKey)
	onlyRS.Verifier = jwt.NewVerifier(jwt.NewKeySet(rsaKey.jwk(), ecKey.jwk()), jwt.Options{Algorithms: []jwt.Algorithm{jwt.RS256}})

	maxAge := newValidator(rsaKey, ecKey)
	maxAge.MaxAge = time.Hour
	authAt := func(d time.Duration) string {
		return rsaKey.sign(t, claimsWith(func(m map[string]any) { m["auth_time"] = testNow.Add(-d).Unix() }))
	}
	acr := newValidator(rsaKey, ecKey)
	acr.ACRValues = []string{"gold", "silver"}
	withACR := func(v string) string { return rsaKey.sign(t, claimsWith(func(m map[string]any) { m["acr"] = v })) }
	good := rsaKey.sign(t, baseClaims())
	tampered := func() string {
		parts := strings.Split(good, ".")
		p := claimsWith(func(m map[string]any) { m["sub"] = "admin" })
		b, _ := json.Marshal(p)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	tests := []struct {
		name        string
		v           *IDTokenValidator
		token       string
		nonce       string
		accessToken string
		want        []error // all must match; nil means success
	}{
		{"rs256", v, good, testNonce, "", nil},
		{"es256", v, ecKey.sign(t, baseClaims()), testNonce, "", nil},
		{"at_hash matches", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["at_hash"] = atHash(testAccess) })), testNonce, testAccess, nil},
		{"at_hash without access token", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["at_hash"] = atHash("other") })), testNonce, "", nil},
		{"no at_hash with access token", v, good, testNonce, testAccess, nil},
		{"aud array with azp", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["aud"] = []string{testClientID, "api"}; m["azp"] = testClientID })), testNonce, "", nil},
		{"single aud array", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["aud"] = []string{testClientID} })), testNonce, "", nil},
		{"no nonce expected", v, good, "", "", nil},
		{"no typ", v, rsaKey.signTyp(t, "", baseClaims()), testNonce, "", nil},
		{"typ jwt", v, rsaKey.signTyp(t, "jwt", baseClaims()), testNonce, "", nil},
		{"typ application/JWT", v, rsaKey.signTyp(t, "application/JWT", baseClaims()), testNonce, "", nil},
		{"typ at+jwt", v, rsaKey.signTyp(t, "at+jwt", baseClaims()), testNonce, "", []error{jwt.ErrType}},
		{"typ application/at+jwt", v, rsaKey.signTyp(t, "application/at+jwt", baseClaims()), testNonce, "", []error{jwt.ErrType}},
		{"typ logout+jwt", v, rsaKey.signTyp(t, "logout+jwt", baseClaims()), testNonce, "", []error{jwt.ErrType}},
		{"typ text/jwt", v, rsaKey.signTyp(t, "text/jwt", baseClaims()), testNonce, "", []error{jwt.ErrType}},
		{"expired within leeway", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["exp"] = testNow.Add(-10 * time.Second).Unix() })), testNonce, "", nil},
		{"iat ahead within leeway", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["iat"] = testNow.Add(10 * time.Second).Unix() })), testNonce, "", nil},

		{"at_hash mismatch", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["at_hash"] = atHash("other") })), testNonce, testAccess, []error{jwt.ErrAtHash}},
		{"at_hash with es256", v, ecKey.sign(t, claimsWith(func(m map[string]any) { m["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })), testNonce, testAccess, []error{jwt.ErrAtHash}},
		{"multiple aud without azp", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["aud"] = []string{testClientID, "api"} })), testNonce, "", []error{jwt.ErrAuthorizedParty}},
		{"azp of another client", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["azp"] = "client-2" })), testNonce, "", []error{jwt.ErrAuthorizedParty}},
		{"aud of another client", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["aud"] = "client-2" })), testNonce, "", []error{jwt.ErrAudience}},
		{"missing aud", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { delete(m, "aud") })), testNonce, "", []error{jwt.ErrAudience}},
		{"other issuer", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["iss"] = "https://evil.example.com" })), testNonce, "", []error{jwt.ErrIssuer}},
		{"issuer trailing slash", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["iss"] = testIssuer + "/" })), testNonce, "", []error{jwt.ErrIssuer}},
		{"expired", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["exp"] = testNow.Add(-time.Minute).Unix() })), testNonce, "", []error{jwt.ErrExpired}},
		{"missing exp", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { delete(m, "exp") })), testNonce, "", []error{jwt.ErrMissingClaim}},
		{"missing iat", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { delete(m, "iat") })), testNonce, "", []error{jwt.ErrMissingClaim}},
		{"iat in the future", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["iat"] = testNow.Add(time.Hour).Unix() })), testNonce, "", []error{jwt.ErrIssuedInFuture}},
		{"nbf in the future", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["nbf"] = testNow.Add(time.Hour).Unix() })), testNonce, "", []error{jwt.ErrNotYetValid}},
		{"missing sub", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { delete(m, "sub") })), testNonce, "", []error{jwt.ErrMissingClaim}},
		{"nonce mismatch", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["nonce"] = "replayed" })), testNonce, "", []error{jwt.ErrNonce}},
		{"nonce missing", v, rsaKey.sign(t, claimsWith(func(m map[string]any) { delete(m, "nonce") })), testNonce, "", []error{jwt.ErrNonce}},
		{"unknown kid", v, unknown.sign(t, baseClaims()), testNonce, "", []error{jwt.ErrUnknownKey}},
		{"wrong key for kid", v, otherRSA.sign(t, baseClaims()), testNonce, "", []error{jwt.ErrSignature}},
		{"tampered payload", v, tampered, testNonce, "", []error{jwt.ErrSignature}},
		{"alg none", v, base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + strings.Split(good, ".")[1] + ".", testNonce, "", []error{jwt.ErrAlgNone}},
		{"alg not allowed", onlyRS, ecKey.sign(t, baseClaims()), testNonce, "", []error{jwt.ErrAlgNotAllowed}},
		{"duplicate sub claim", v, rsaKey.signRaw(t, `{"alg":"RS256","kid":"rsa-1"}`,
			`{"iss":"https://op.example.com","sub":"user-1","aud":"client-1","exp":1999999999,"iat":1741078000,"sub":"admin"}`), "", "", []error{jwt.ErrMalformed}},
		{"garbage", v, "not-a-jwt", testNonce, "", []error{jwt.ErrMalformed}},
		{"empty", v, "", testNonce, "", []error{ErrMissingParam}},
		{"max_age: auth_time recent", maxAge, authAt(59 * time.Minute), testNonce, "", nil},
		{"max_age: auth_time past max_age within leeway", maxAge, authAt(time.Hour + 10*time.Second), testNonce, "", nil},
		{"max_age: auth_time too old", maxAge, authAt(time.Hour + time.Minute), testNonce, "", []error{ErrMaxAgeExceeded}},
		{"max_age: auth_time missing", maxAge, rsaKey.sign(t, claimsWith(func(m map[string]any) { delete(m, "auth_time") })), testNonce, "", []error{ErrAuthTimeMissing}},
		{"no max_age: auth_time old", v, authAt(48 * time.Hour), testNonce, "", nil},
		{"acr_values: acr one of them", acr, withACR("silver"), testNonce, "", nil},
		{"acr_values: acr missing (acr_values deleted from the URL)", acr, good, testNonce, "", []error{ErrACR, ErrIDToken}},
		{"acr_values: another acr", acr, withACR("bronze"), testNonce, "", []error{ErrACR}},
		{"acr_values: acr not a string", acr, rsaKey.sign(t, claimsWith(func(m map[string]any) { m["acr"] = []string{"gold"} })), testNonce, "", []error{ErrACR}},
		{"no acr_values: any acr", v, withACR("bronze"), testNonce, "", nil},
		{"unconfigured validator", &IDTokenValidator{Issuer: testIssuer}, good, testNonce, "", []error{ErrNotConfigured}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := tt.v.Validate(tt.token, tt.nonce, tt.accessToken)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if claims.Subject != "user-1" || claims.Issuer != testIssuer {
					t.Fatalf("claims %+v", claims)
				}
				return
			}
			if claims != nil {
				t.Fatal("claims returned with an error")
			}
			if tt.want[0] != ErrNotConfigured && !errors.Is(err, ErrIDToken) {
				t.Errorf("%v does not wrap ErrIDToken", err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
			msg := err.Error()
			if strings.Contains(msg, secretMarker) {
				t.Errorf("error leaks a nonce or access token: %q", msg)
			}
			for _, seg := range strings.Split(tt.token, ".") {
				if len(seg) > 16 && strings.Contains(msg, seg) {
					t.Errorf("error leaks part of the token: %q", msg)
				}
			}
		})
	}
}

func TestIDTokenValidateRefreshed(t *testing.T) {
	key := newRSAKey(t, "k1")
	v := newValidator(key)
	prev, err := v.Validate(key.sign(t, baseClaims()), testNonce, "")
	if err != nil {
		t.Fatal(err)
	}
	refreshed := func(f func(m map[string]any)) string {
		return key.sign(t, claimsWith(func(m map[string]any) {
			delete(m, "nonce")
			m["iat"] = testNow.Unix()
			f(m)
		}))
	}
	otherIssuer := *prev
	otherIssuer.Issuer = "https://old-op.example.com"
	twoAud := *prev
	twoAud.Audience = []string{testClientID, "api-2"}
	twoAudAzp := twoAud
	twoAudAzp.AuthorizedParty = testClientID
	tests := []struct {
		name        string
		token       string
		accessToken string
		prev        *jwt.Claims
		want        error
	}{
		{"no nonce", refreshed(func(m map[string]any) {}), "", prev, nil},
		{"same nonce", refreshed(func(m map[string]any) { m["nonce"] = testNonce }), "", prev, nil},
		{"no auth_time", refreshed(func(m map[string]any) { delete(m, "auth_time") }), "", prev, nil},
		{"at_hash matches", refreshed(func(m map[string]any) { m["at_hash"] = atHash(testAccess) }), testAccess, prev, nil},
		{"subject changed", refreshed(func(m map[string]any) { m["sub"] = "user-2" }), "", prev, ErrSubjectChanged},
		{"other nonce", refreshed(func(m map[string]any) { m["nonce"] = "other" }), "", prev, jwt.ErrNonce},
		{"auth_time changed", refreshed(func(m map[string]any) { m["auth_time"] = testNow.Unix() }), "", prev, ErrAuthTimeChanged},
		{"azp appeared", refreshed(func(m map[string]any) { m["azp"] = testClientID }), "", prev, ErrAuthorizedParty},
		{"session from another issuer", refreshed(func(m map[string]any) {}), "", &otherIssuer, ErrIssuerMismatch},
		{"other issuer", refreshed(func(m map[string]any) { m["iss"] = "https://evil.example.com" }), "", prev, jwt.ErrIssuer},
		{"aud without client", refreshed(func(m map[string]any) { m["aud"] = "client-2" }), "", prev, jwt.ErrAudience},
		{"aud with another audience added", refreshed(func(m map[string]any) {
			m["aud"] = []any{testClientID, "https://api.example.com"}
			m["azp"] = testClientID
		}), "", prev, ErrAudienceChanged},
		{"aud the same, as an array", refreshed(func(m map[string]any) { m["aud"] = []any{testClientID} }), "", prev, nil},
		{"aud with an audience dropped", refreshed(func(m map[string]any) {}), "", &twoAud, ErrAudienceChanged},
		{"aud the same, in another order", refreshed(func(m map[string]any) { m["aud"] = []any{"api-2", testClientID}; m["azp"] = testClientID }), "", &twoAudAzp, nil},
		{"expired", refreshed(func(m map[string]any) { m["exp"] = testNow.Add(-time.Hour).Unix() }), "", prev, jwt.ErrExpired},
		{"missing iat", refreshed(func(m map[string]any) { delete(m, "iat") }), "", prev, jwt.ErrMissingClaim},
		{"at_hash mismatch", refreshed(func(m map[string]any) { m["at_hash"] = atHash("x") }), testAccess, prev, jwt.ErrAtHash},
		{"no previous claims", refreshed(func(m map[string]any) {}), "", nil, ErrNoPreviousIDToken},
		{"typ at+jwt", key.signTyp(t, "AT+JWT", claimsWith(func(m map[string]any) { delete(m, "nonce"); m["iat"] = testNow.Unix() })), "", prev, jwt.ErrType},
		{"typ JWT", key.signTyp(t, "JWT", claimsWith(func(m map[string]any) { delete(m, "nonce"); m["iat"] = testNow.Unix() })), "", prev, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.ValidateRefreshed(tt.token, tt.accessToken, tt.prev)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && (claims.Subject != prev.Subject || claims.IssuedAt.Equal(prev.IssuedAt)) {
				t.Fatalf("claims %+v", claims)
			}
			if err != nil && tt.want != ErrNoPreviousIDToken && !errors.Is(err, ErrIDToken) {
				t.Fatalf("%v does not wrap ErrIDToken", err)
			}
		})
	}
}

func TestIDTokenEveryBitFlipFails(t *testing.T) {
	tests := []struct {
		name string
		key  signingKey
	}{
		{"rs256", newRSAKey(t, "k")},
		{"es256", newECKey(t, "k")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(tt.key)
			token := tt.key.sign(t, baseClaims())
			if _, err := v.Validate(token, testNonce, ""); err != nil {
				t.Fatal(err)
			}
			b := []byte(token)
			for i := range b {
				for bit := range 8 {
					b[i] ^= 1 << bit
					if _, err := v.Validate(string(b), testNonce, ""); err == nil {
						t.Fatalf("flipping bit %d of byte %d was accepted", bit, i)
					}
					b[i] ^= 1 << bit
				}
			}
		})
	}
}
