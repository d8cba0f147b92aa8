package op

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
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

// TestDPoPCodeBound: a login's code is bound to a DPoP key by a push's proof (RFC 9449
// 10.1) or by dpop_jkt in the authorization request (RFC 9449 10): the code exchange is
// refused without a proof and with another key's, and with the bound key's it gets a
// DPoP-bound access token (cnf.jkt, token_type DPoP). A push whose dpop_jkt names another
// key than its proof is refused.
func TestDPoPCodeBound(t *testing.T) {
	s := startOP(t, Config{PAR: true, DPoP: true})
	keyA, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyB, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jktOf := func(k *ecdsa.PrivateKey) string {
		jwk := jose.JSONWebKey{Key: &k.PublicKey}
		tp, _ := jwk.Thumbprint(crypto.SHA256)
		return base64.RawURLEncoding.EncodeToString(tp)
	}
	c := noRedirectClient(t)
	proof := func(k *ecdsa.PrivateKey, htu string) string {
		return signProof(t, k, "dpop+jwt", true, map[string]any{"jti": randomString(8), "htm": "POST", "htu": htu, "iat": time.Now().Unix()})
	}
	send := func(u string, form url.Values, dpop string) result {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.ClientID(), s.ClientSecret())
		if dpop != "" {
			req.Header.Set("DPoP", dpop)
		}
		return do(t, c, req)
	}
	authorize := func(name string, p pkce) string {
		params := url.Values{"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {testRedirect},
			"scope": {"openid"}, "state": {"st"}, "nonce": {"n"}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}
		if name == "dpop_jkt" {
			params.Set("dpop_jkt", jktOf(keyA))
			return s.Endpoints().Authorize + "?" + params.Encode()
		}
		if name == "push with another dpop_jkt" {
			params.Set("dpop_jkt", jktOf(keyB))
		}
		pr := send(s.Issuer()+parPath, params, proof(keyA, s.Issuer()+parPath))
		uri, _ := pr.json(t)["request_uri"].(string)
		if name == "push with another dpop_jkt" {
			if pr.status != http.StatusBadRequest || !strings.Contains(pr.body, "invalid_dpop_proof") {
				t.Errorf("%s: %d %s, want 400 invalid_dpop_proof", name, pr.status, pr.body)
			}
			return ""
		}
		if pr.status != http.StatusCreated || uri == "" {
			t.Fatalf("push: %d %s", pr.status, pr.body)
		}
		return s.Endpoints().Authorize + "?" + url.Values{"client_id": {s.ClientID()}, "request_uri": {uri}}.Encode()
	}
	for _, name := range []string{"pushed proof", "dpop_jkt", "push with another dpop_jkt"} {
		t.Run(name, func(t *testing.T) {
			p := newPKCE()
			authz := authorize(name, p)
			if authz == "" {
				return
			}
			cb, err := s.Login(ctxT(t), authz)
			if err != nil {
				t.Fatal(err)
			}
			cu, _ := url.Parse(cb)
			token := url.Values{"grant_type": {"authorization_code"}, "code": {cu.Query().Get("code")},
				"redirect_uri": {testRedirect}, "code_verifier": {p.verifier}}
			tokenURL := s.Endpoints().Token
			for what, dpop := range map[string]string{"no proof": "", "another key": proof(keyB, tokenURL)} {
				if r := send(tokenURL, token, dpop); r.status != http.StatusBadRequest || !strings.Contains(r.body, "invalid_dpop_proof") {
					t.Errorf("%s: %d %s, want 400 invalid_dpop_proof", what, r.status, r.body)
				}
			}
			r := send(tokenURL, token, proof(keyA, tokenURL))
			m := r.json(t)
			if r.status != http.StatusOK || m["token_type"] != "DPoP" {
				t.Fatalf("with the bound key: %d %s", r.status, r.body)
			}
			claims := mustVerify(t, s, m["access_token"].(string))
			if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != jktOf(keyA) {
				t.Errorf("access token cnf %v", claims["cnf"])
			}
		})
	}
}
