package op

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestLogoutToken(t *testing.T) {
	s := startOP(t, Config{})
	tok, err := s.LogoutToken("sid-1", "", func(c map[string]any) { c["extra"] = true })
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	set := s.JWKS()
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || h.ExtraHeaders["typ"] != "logout+jwt" {
		t.Fatalf("header %+v, %d keys", h, len(keys))
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	ev, _ := c["events"].(map[string]any)
	if c["iss"] != s.Issuer() || c["aud"] != s.ClientID() || c["sid"] != "sid-1" || c["sub"] != nil || c["jti"] == "" || c["extra"] != true || ev[EventBackchannelLogout] == nil {
		t.Errorf("claims %v", c)
	}

	var got string
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			got = r.PostFormValue("logout_token")
		}
		w.Header().Set("Cache-Control", "no-store")
	}))
	defer rp.Close()
	status, cc, _, err := s.BackchannelLogout(ctxT(t), rp.URL, tok)
	if err != nil || status != 200 || cc != "no-store" || got != tok {
		t.Errorf("post: %d %q %v; the RP got the token: %v", status, cc, err, got == tok)
	}
}
