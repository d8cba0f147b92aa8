package oidc

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// verifyProof checks a proof with go-jose as the oracle: the embedded jwk
// verifies the signature, typ is dpop+jwt, and the jwk is the public key.
func verifyProof(t *testing.T, proof string, alg jose.SignatureAlgorithm, key *jwt.SigningKey) map[string]any {
	t.Helper()
	sig, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("go-jose parse: %v", err)
	}
	h := sig.Signatures[0].Protected
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		t.Fatalf("jwk header missing or not public: %+v", h.JSONWebKey)
	}
	if h.KeyID != "" {
		t.Errorf("kid %q must not be set on a proof", h.KeyID)
	}
	if typ, _ := h.ExtraHeaders["typ"].(string); typ != "dpop+jwt" {
		t.Errorf("typ = %q", typ)
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(tp); got != key.Thumbprint() {
		t.Errorf("jwk thumbprint %s, key's %s", got, key.Thumbprint())
	}
	payload, err := sig.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatalf("go-jose verify with the embedded jwk: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestBuildDPoPProofAlgs(t *testing.T) {
	for _, c := range []struct {
		alg  jwt.Algorithm
		jose jose.SignatureAlgorithm
	}{{"ES256", jose.ES256}, {"RS256", jose.RS256}, {"PS256", jose.PS256}, {"EdDSA", jose.EdDSA}} {
		t.Run(string(c.alg), func(t *testing.T) {
			key, err := jwt.GenerateSigningKey(c.alg, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := BuildDPoPProof(key, DPoPProof{
				Method: "POST", URL: "HTTPS://OP.Example:8443/token?x=1#frag", IssuedAt: 1700000000,
				Nonce: "n-1", AccessToken: "at.value",
			}, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			cl := verifyProof(t, proof, c.jose, key)
			want := map[string]any{"htm": "POST", "htu": "https://op.example:8443/token", "iat": float64(1700000000),
				"nonce": "n-1", "ath": AccessTokenHash("at.value")}
			for k, v := range want {
				if cl[k] != v {
					t.Errorf("%s = %v, want %v", k, cl[k], v)
				}
			}
			if jti, _ := cl["jti"].(string); len(jti) < 22 {
				t.Errorf("jti %q too short", jti)
			}
		})
	}
}

func TestBuildDPoPProofOptionalClaimsAndUniqueJTI(t *testing.T) {
	key, _ := jwt.GenerateSigningKey("ES256", rand.Reader)
	seen := map[any]bool{}
	for range 20 {
		proof, err := BuildDPoPProof(key, DPoPProof{Method: "GET", URL: "http://app/api", IssuedAt: 1}, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		cl := verifyProof(t, proof, jose.ES256, key)
		if _, ok := cl["nonce"]; ok {
			t.Error("nonce present without one")
		}
		if _, ok := cl["ath"]; ok {
			t.Error("ath present without an access token")
		}
		if seen[cl["jti"]] {
			t.Fatal("jti repeated")
		}
		seen[cl["jti"]] = true
	}
}

func TestBuildDPoPProofRefusals(t *testing.T) {
	key, _ := jwt.GenerateSigningKey("ES256", rand.Reader)
	for _, p := range []DPoPProof{
		{Method: "", URL: "https://op/token"},
		{Method: "PO ST", URL: "https://op/token"},
		{Method: "POST", URL: "/token"},
		{Method: "POST", URL: "ftp://op/token"},
		{Method: "POST", URL: "https://user:pw@op/token"},
		{Method: "POST", URL: "https://op/token", Nonce: `a"b`},
		{Method: "POST", URL: "https://op/token", Nonce: strings.Repeat("n", 1025)},
	} {
		if _, err := BuildDPoPProof(key, p, rand.Reader); !errors.Is(err, ErrDPoP) {
			t.Errorf("%+v: err %v, want ErrDPoP", p, err)
		}
	}
	if _, err := BuildDPoPProof(nil, DPoPProof{Method: "POST", URL: "https://op/t"}, rand.Reader); !errors.Is(err, ErrDPoP) {
		t.Errorf("nil key: %v", err)
	}
}

func TestAccessTokenHashVector(t *testing.T) {
	// RFC 9449 section 7.1's example access token and its ath.
	const at = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	if got := AccessTokenHash(at); got != "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo" {
		t.Errorf("ath = %s", got)
	}
}

func TestDPoPNonce(t *testing.T) {
	for in, want := range map[string]string{
		"eyJ7S_zG.eyJH0-Z.HX4w-7v": "eyJ7S_zG.eyJH0-Z.HX4w-7v",
		"  abc ":                   "abc",
		"":                         "",
		`a"b`:                      "",
		"a b":                      "",
		strings.Repeat("x", 1025):  "",
	} {
		if got := DPoPNonce(in); got != want {
			t.Errorf("DPoPNonce(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsUseDPoPNonce(t *testing.T) {
	_, err := ParseDPoPTokenResponse(400, "application/json",
		[]byte(`{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}`), 0)
	if !IsUseDPoPNonce(err) {
		t.Errorf("use_dpop_nonce not recognised: %v", err)
	}
	_, err = ParseDPoPTokenResponse(400, "application/json", []byte(`{"error":"invalid_dpop_proof"}`), 0)
	if err == nil || IsUseDPoPNonce(err) {
		t.Errorf("invalid_dpop_proof taken for a nonce demand: %v", err)
	}
	if IsUseDPoPNonce(nil) || IsUseDPoPNonce(ErrDPoP) {
		t.Error("non-endpoint errors")
	}
}

func TestParseDPoPTokenResponseType(t *testing.T) {
	body := func(tt string) []byte {
		return []byte(`{"access_token":"a","token_type":"` + tt + `","expires_in":10}`)
	}
	if r, err := ParseDPoPTokenResponse(200, "application/json", body("DPoP"), 0); err != nil || r.TokenType != "DPoP" {
		t.Errorf("DPoP: %v %v", r, err)
	}
	if _, err := ParseDPoPTokenResponse(200, "application/json", body("dpop"), 0); err != nil {
		t.Errorf("dpop (any case): %v", err)
	}
	if _, err := ParseDPoPTokenResponse(200, "application/json", body("Bearer"), 0); !errors.Is(err, ErrTokenType) {
		t.Errorf("Bearer with DPoP on: %v, want ErrTokenType", err)
	}
	if _, err := ParseTokenResponse(200, "application/json", body("DPoP"), 0); !errors.Is(err, ErrTokenType) {
		t.Errorf("DPoP with DPoP off: %v, want ErrTokenType", err)
	}
	ex := []byte(`{"access_token":"a","token_type":"N_A","issued_token_type":"urn:ietf:params:oauth:token-type:id_token"}`)
	if _, err := ParseDPoPExchangeResponse(200, "application/json", ex, 0); err != nil {
		t.Errorf("exchange N_A: %v", err)
	}
}

func FuzzDPoPHeaders(f *testing.F) {
	f.Add(`DPoP error="use_dpop_nonce"`)
	f.Add(`Bearer realm="a\"b", DPoP algs=ES256`)
	f.Fuzz(func(t *testing.T, s string) {
		if n := DPoPNonce(s); n != "" && !validNonce(n) {
			t.Fatalf("DPoPNonce returned an invalid nonce %q", n)
		}
		if u, err := DPoPTargetURI(s); err == nil && (strings.ContainsAny(u, "?#") || !isVSCHAR(u)) {
			t.Fatalf("htu %q from %q", u, s)
		}
	})
}

// TestAuthorizeURLDPoPJKT: dpop_jkt is sent when set (RFC 9449 10), and configuration's
// Extra cannot set it.
func TestAuthorizeURLDPoPJKT(t *testing.T) {
	ap := AuthParams{ClientID: "app", RedirectURI: "https://app.example/cb", State: "s", CodeChallenge: "c",
		Extra: map[string]string{"dpop_jkt": "from-config"}}
	for _, jkt := range []string{"", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"} {
		ap.DPoPJKT = jkt
		raw, err := AuthorizeURL("https://op.example/authorize", ap)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		if got := u.Query()["dpop_jkt"]; len(got) != min(len(jkt), 1) || (jkt != "" && got[0] != jkt) {
			t.Errorf("DPoPJKT %q: dpop_jkt %v", jkt, got)
		}
	}
}
