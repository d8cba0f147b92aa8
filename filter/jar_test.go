package filter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jarLH is a harness whose client signs request objects with a fresh P-256 key.
func jarLH(t *testing.T) (*lh, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	l := newLH(t, func(c map[string]any) {
		cl := c["client"].(map[string]any)
		cl["private_key"], cl["signing_alg"], cl["key_id"] = pemKey, "ES256", "rp-key-1"
		c["login"] = map[string]any{"request_object": "signed"}
	})
	return l, key
}

// openRequestObject verifies a request object with the client's public key (go-jose as the
// oracle) and returns its claims.
func openRequestObject(t *testing.T, raw string, key *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("request object: %v", err)
	}
	h := jws.Signatures[0].Header
	if h.KeyID != "rp-key-1" || h.ExtraHeaders["typ"] != "oauth-authz-req+jwt" {
		t.Errorf("header kid %q typ %v", h.KeyID, h.ExtraHeaders["typ"])
	}
	payload, err := jws.Verify(&key.PublicKey)
	if err != nil {
		t.Fatalf("request object signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	now := float64(time.Now().Unix())
	if claims["iss"] != lhClient || claims["aud"] != lhIssuer || claims["client_id"] != lhClient || claims["response_type"] != "code" ||
		claims["redirect_uri"] != "https://app.example.com/oauth2/callback" || claims["code_challenge_method"] != "S256" ||
		claims["jti"] == "" || claims["exp"].(float64) > now+61 || claims["exp"].(float64) < now+50 || claims["iat"].(float64) > now+1 {
		t.Errorf("request object claims %v", claims)
	}
	return claims
}

// TestRequestObjectByValue: the browser's redirect carries the signed request object, whose
// state opens and completes the login.
func TestRequestObjectByValue(t *testing.T) {
	l, key := jarLH(t)
	l.ready()
	r := l.navigate("/app/page")
	if r.status() != 302 {
		t.Fatalf("navigation: %d", r.status())
	}
	u, _ := url.Parse(r.header("location"))
	q := u.Query()
	if q.Get("state") != "" || q.Get("code_challenge") != "" || q.Get("client_id") != lhClient || q.Get("request") == "" {
		t.Fatalf("redirect %s: want the request object, not the plain parameters", r.header("location"))
	}
	claims := openRequestObject(t, q.Get("request"), key)
	state, _ := claims["state"].(string)
	ls, _ := l.openState("https://x/?state=" + url.QueryEscape(state))
	if claims["nonce"] != ls.Nonce {
		t.Error("the request object's nonce is not the sealed one")
	}
	lg := lhLogin{cookie: lhCookies(r.headers("set-cookie")), state: state, nonce: ls.Nonce}
	cb, c := l.callback(lg, "code-1")
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r := l.reply(cb.id); r.status() != 302 || r.header("location") != "/app/page" {
		t.Fatalf("callback: %d %q", r.status(), r.header("location"))
	}
}

// TestRequestObjectInsidePAR: with PAR, the push holds only client_id and the request object.
func TestRequestObjectInsidePAR(t *testing.T) {
	l, key := jarLH(t)
	l.readyPAR(false)
	r := l.navigate("/app/")
	c := l.requestCallout(r.id, "/par")
	form, _ := url.ParseQuery(string(c.Body))
	if len(form) != 2 || form.Get("client_id") != lhClient || form.Get("request") == "" {
		t.Fatalf("push body %v, want client_id and request only", form)
	}
	openRequestObject(t, form.Get("request"), key)
	l.answer(c, "201", "application/json", `{"request_uri":"`+lhRequestURI+`","expires_in":60}`)
	if r := l.reply(r.id); r.status() != 302 {
		t.Fatalf("after the push: %d", r.status())
	}
}
