package op

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

const testHTU = "http://127.0.0.1:1/oauth/token"

// signProof signs claims as a DPoP proof; edit changes the signer options.
func signProof(t *testing.T, k *ecdsa.PrivateKey, typ string, embed bool, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{EmbedJWK: embed}).WithType(jose.ContentType(typ))
	var key any = k
	if !embed {
		key = cryptosigner.Opaque(k)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDPoPProofChecks: each of RFC 9449 4.3's checks refuses a proof that breaks it, and a
// good proof is accepted once.
func TestDPoPProofChecks(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	good := func() map[string]any {
		return map[string]any{"jti": randomString(8), "htm": "POST", "htu": testHTU, "iat": now.Unix()}
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		typ    string
		embed  bool
		claims map[string]any
		ok     bool
	}{
		{"good", "dpop+jwt", true, good(), true},
		{"htu with a query", "dpop+jwt", true, with("htu", testHTU+"?x=1"), true},
		{"typ JWT", "JWT", true, good(), false},
		{"no jwk", "dpop+jwt", false, good(), false},
		{"no jti", "dpop+jwt", true, with("jti", nil), false},
		{"htm GET", "dpop+jwt", true, with("htm", "GET"), false},
		{"other htu", "dpop+jwt", true, with("htu", "http://127.0.0.1:1/other"), false},
		{"iat too old", "dpop+jwt", true, with("iat", now.Add(-2*dpopIATWindow).Unix()), false},
		{"iat ahead", "dpop+jwt", true, with("iat", now.Add(2*dpopIATWindow).Unix()), false},
		{"ath at the token endpoint", "dpop+jwt", true, with("ath", "x"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDPoPState(false)
			proof := signProof(t, k, tc.typ, tc.embed, tc.claims)
			jkt, _, code, desc := d.check(proof, "POST", testHTU, "", now)
			if tc.ok != (code == "") {
				t.Fatalf("code %q (%s), want ok=%v", code, desc, tc.ok)
			}
			if !tc.ok {
				if code != "invalid_dpop_proof" {
					t.Errorf("code %q, want invalid_dpop_proof", code)
				}
				return
			}
			if jkt == "" {
				t.Error("no thumbprint")
			}
			if _, _, code, _ := d.check(proof, "POST", testHTU, "", now); code != "invalid_dpop_proof" {
				t.Errorf("the same proof again: %q, want invalid_dpop_proof (jti used)", code)
			}
		})
	}
}

// TestDPoPNonce: with a nonce required, a proof without it or with an old one gets
// use_dpop_nonce and the current nonce; a challenge rotates the nonce even for a proof that
// has the current one.
func TestDPoPNonce(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	d := newDPoPState(true)
	proof := func(nonce string) string {
		c := map[string]any{"jti": randomString(8), "htm": "POST", "htu": testHTU, "iat": now.Unix()}
		if nonce != "" {
			c["nonce"] = nonce
		}
		return signProof(t, k, "dpop+jwt", true, c)
	}
	_, n1, code, _ := d.check(proof(""), "POST", testHTU, "", now)
	if code != "use_dpop_nonce" || n1 == "" {
		t.Fatalf("no nonce: %q %q", code, n1)
	}
	if _, _, code, _ := d.check(proof("stale"), "POST", testHTU, "", now); code != "use_dpop_nonce" {
		t.Errorf("stale nonce: %q", code)
	}
	if _, _, code, _ := d.check(proof(n1), "POST", testHTU, "", now); code != "" {
		t.Errorf("current nonce: %q", code)
	}
	d.challenges = 1
	_, n2, code, _ := d.check(proof(n1), "POST", testHTU, "", now)
	if code != "use_dpop_nonce" || n2 == n1 {
		t.Errorf("challenge: %q, nonce rotated %v", code, n2 != n1)
	}
	if _, _, code, _ := d.check(proof(n2), "POST", testHTU, "", now); code != "" {
		t.Errorf("after the challenge, with its nonce: %q", code)
	}
}

// TestDPoPResourceProof: at a resource (userinfo) the proof must carry the token's hash as
// ath, and no nonce is demanded even when the token endpoint demands one.
func TestDPoPResourceProof(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	d := newDPoPState(true)
	const htu = "http://127.0.0.1:1/userinfo"
	for _, tc := range []struct {
		ath  any
		want string
	}{{"right", ""}, {"wrong", "invalid_dpop_proof"}, {nil, "invalid_dpop_proof"}} {
		c := map[string]any{"jti": randomString(8), "htm": "GET", "htu": htu, "iat": now.Unix()}
		if tc.ath != nil {
			c["ath"] = tc.ath
		}
		if _, _, code, desc := d.check(signProof(t, k, "dpop+jwt", true, c), "GET", htu, "right", now); code != tc.want {
			t.Errorf("ath %v: %q (%s), want %q", tc.ath, code, desc, tc.want)
		}
	}
}
