package filter

import (
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// jwt.allow_hmac: an ID token signed HS256 with the client secret (OpenID Connect Core 10.1)
// is accepted; without the setting it is refused; signed with another secret, refused.
func TestHMACIDTokens(t *testing.T) {
	secret := strings.Repeat("client-secret-", 3) // 42 bytes: enough for HS256
	for _, tc := range []struct {
		name      string
		allow     bool
		signWith  string
		wantLogin bool
	}{
		{"allow_hmac, the client secret", true, secret, true},
		{"allow_hmac, another secret", true, strings.Repeat("x", 42), false},
		{"allow_hmac off", false, secret, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, func(c map[string]any) {
				c["client"] = map[string]any{"id": lhClient, "secret": secret}
				if tc.allow {
					c["jwt"] = map[string]any{"allow_hmac": true}
				}
			})
			l.ready()
			lg := l.startLogin("/app/")
			r, c := l.callback(lg, "code-1")
			if c == nil {
				t.Fatalf("no token callout: %d", r.status())
			}
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(tc.signWith)}, (&jose.SignerOptions{}).WithType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(l.claims(lg.nonce))
			jws, _ := signer.Sign(payload)
			idt, _ := jws.CompactSerialize()
			l.answer(*c, "200", "application/json", lhTokenJSON(idt))
			r = l.reply(r.id)
			if got := r.status() == 302 && r.header("location") == "/app/"; got != tc.wantLogin {
				t.Fatalf("login: %d %q, want success %v", r.status(), r.header("location"), tc.wantLogin)
			}
		})
	}
}
