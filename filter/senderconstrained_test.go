package filter

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// TestBearerSenderConstrained: a token bound to a DPoP key (cnf.jkt) is refused as a Bearer
// token (RFC 9449 7.2), a certificate-bound one (cnf.x5t#S256) unless the connection's client
// certificate is the one it names (RFC 8705 3), each with an RFC 6750 invalid_token that says
// why; unbound tokens are unaffected. A leaked session access token of a dpop or mTLS client
// is therefore useless at the plugin's own bearer routes.
func TestBearerSenderConstrained(t *testing.T) {
	l, s := newBearerHarness(t)
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())

	cert := sha256.Sum256([]byte("the client certificate's DER"))
	x5t := base64.RawURLEncoding.EncodeToString(cert[:])
	other := sha256.Sum256([]byte("another certificate"))
	bound := func(cnf map[string]any) string {
		return s.token(func(c map[string]any) { c["cnf"] = cnf })
	}
	for _, tc := range []struct {
		name, token, peerDigest string
		status                  int
		desc                    string
	}{
		{"unbound", s.token(nil), "", 200, ""},
		{"DPoP-bound", bound(map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}), "", 401, "bound to a DPoP key"},
		{"DPoP-bound, with a client certificate", bound(map[string]any{"jkt": "x", "x5t#S256": x5t}), hex.EncodeToString(cert[:]), 401, "bound to a DPoP key"},
		{"certificate-bound, no client certificate", bound(map[string]any{"x5t#S256": x5t}), "", 401, "client certificate that this connection did not present"},
		{"certificate-bound, another certificate", bound(map[string]any{"x5t#S256": x5t}), hex.EncodeToString(other[:]), 401, "client certificate that this connection did not present"},
		{"certificate-bound, its certificate", bound(map[string]any{"x5t#S256": x5t}), hex.EncodeToString(cert[:]), 200, ""},
		{"certificate-bound, its certificate in upper-case hex", bound(map[string]any{"x5t#S256": x5t}), strings.ToUpper(hex.EncodeToString(cert[:])), 200, ""},
		{"x5t#S256 not 32 bytes", bound(map[string]any{"x5t#S256": "AAAA"}), hex.EncodeToString(cert[:]), 401, "cannot verify"},
		{"cnf with another method", bound(map[string]any{"jwk": map[string]any{"kty": "oct"}}), "", 401, "cannot verify"},
		{"empty cnf", bound(map[string]any{}), "", 401, "cannot verify"},
		{"cnf not an object", s.token(func(c map[string]any) { c["cnf"] = "jkt" }), "", 401, "cannot verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digest := tc.peerDigest
			if digest == "" {
				digest = "-" // proxytest keeps properties; this one decodes to nothing
			}
			if err := l.host.SetProperty([]string{"connection", "sha256_peer_certificate_digest"}, []byte(digest)); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second from the cache of verified tokens
				r := l.request("GET", "/api/x", "authorization", "Bearer "+tc.token)
				if tc.status == 200 {
					if r.action != types.ActionContinue || r.local != nil {
						t.Fatalf("action %v, local %+v, want it forwarded", r.action, r.local)
					}
					continue
				}
				if ch := r.header("www-authenticate"); r.status() != tc.status || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, tc.desc) {
					t.Fatalf("%d %q, want %d invalid_token %q", r.status(), ch, tc.status, tc.desc)
				}
			}
		})
	}
	if n := l.counter("oidc_proxy.bearer.rejected.sender_constrained"); n != 16 {
		t.Errorf("bearer.rejected.sender_constrained = %d, want 16", n)
	}
}
