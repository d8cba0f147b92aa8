package filter

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
)

func dpopOn(c map[string]any) { c["dpop"] = map[string]any{"enabled": true} }

// dpopProofOf verifies the DPoP proof a callout carries with go-jose (the oracle) against
// its own jwk and returns its claims and the jwk's thumbprint.
func dpopProofOf(t *testing.T, c proxytest.HttpCalloutAttribute) (map[string]any, string) {
	t.Helper()
	raw := lhHeader(c.Headers, "dpop")
	if raw == "" {
		t.Fatalf("callout to %s has no DPoP header", lhHeader(c.Headers, ":path"))
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil {
		t.Fatalf("proof header typ %v jwk %v", h.ExtraHeaders["typ"], h.JSONWebKey)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatalf("proof does not verify with its jwk: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	tp, _ := h.JSONWebKey.Thumbprint(crypto.SHA256)
	return claims, base64.RawURLEncoding.EncodeToString(tp)
}

func (l *lh) answerWithNonce(c proxytest.HttpCalloutAttribute, status, nonce, body string) {
	h := [][2]string{{":status", status}, {"content-type", "application/json"}}
	if nonce != "" {
		h = append(h, [2]string{"dpop-nonce", nonce})
	}
	l.host.CallOnHttpCallResponse(c.CalloutID, h, nil, []byte(body))
}

func lastCallout(l *lh, id uint32) proxytest.HttpCalloutAttribute {
	cs := l.host.GetCalloutAttributesFromContext(id)
	return cs[len(cs)-1]
}

const useNonce = `{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}`

func dpopTokenJSON(l *lh, nonce string) string {
	return strings.Replace(lhTokenJSON(l.idToken(l.claims(nonce))), `"token_type":"Bearer"`, `"token_type":"DPoP"`, 1)
}

// TestDPoPCodeExchangeNonceRetry: the code exchange carries a proof (htm POST, htu the token
// endpoint, signed by the plugin's key); a use_dpop_nonce answer is retried exactly once,
// with the nonce it came with, and the nonce is kept for the next call.
func TestDPoPCodeExchangeNonceRetry(t *testing.T) {
	l := newLH(t, dpopOn)
	l.ready()
	lg := l.startLogin("/app/page")
	r, c := l.callback(lg, "code-1")
	if c == nil {
		t.Fatalf("no code exchange: %d", r.status())
	}
	claims, jkt := dpopProofOf(t, *c)
	if claims["htm"] != "POST" || claims["htu"] != lhIssuer+"/token" || claims["nonce"] != nil || claims["jti"] == "" {
		t.Errorf("first proof claims %v", claims)
	}
	if jkt != l.p.dpopKey.Thumbprint() {
		t.Errorf("proof key %s, plugin key %s", jkt, l.p.dpopKey.Thumbprint())
	}
	l.answerWithNonce(*c, "400", "n-1", useNonce)
	if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) != 2 {
		t.Fatalf("%d token callouts after use_dpop_nonce, want 2 (one retry)", len(cs))
	}
	retry := lastCallout(l, r.id)
	claims2, _ := dpopProofOf(t, retry)
	if claims2["nonce"] != "n-1" || claims2["jti"] == claims["jti"] {
		t.Errorf("retry proof claims %v (first jti %v)", claims2, claims["jti"])
	}
	l.answerWithNonce(retry, "200", "n-2", dpopTokenJSON(l, lg.nonce))
	if rr := l.reply(r.id); rr.status() != 302 || rr.header("location") != "/app/page" {
		t.Fatalf("after the retry: %d %s", rr.status(), rr.header("location"))
	}
	if got := l.p.dpopNonce(lhIssuer); got != "n-2" {
		t.Errorf("kept nonce %q, want the last one n-2", got)
	}
	for name, want := range map[string]uint64{"oidc_proxy.dpop.proof": 2, "oidc_proxy.dpop.nonce_retry": 1, "oidc_proxy.dpop.nonce_updated": 2} {
		if got := l.counter(name); got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
}

// TestDPoPRefusals: a second use_dpop_nonce stands (a 502 with a correlation id, no third
// request), and a Bearer answer to a request with a proof is refused (502), never a
// silent downgrade.
func TestDPoPRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string // bodies of the token endpoint's answers, in order
		status  []string
		calls   int
	}{
		{"nonce refused twice", []string{useNonce, useNonce}, []string{"400", "400"}, 2},
		{"bearer answer", []string{"bearer"}, []string{"200"}, 1},
		{"use_dpop_nonce without a nonce", []string{useNonce}, []string{"400"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, dpopOn)
			l.ready()
			lg := l.startLogin("/app/page")
			r, _ := l.callback(lg, "code-1")
			for i, body := range tc.answers {
				nonce := ""
				if tc.name != "use_dpop_nonce without a nonce" {
					nonce = "n-" + string(rune('a'+i))
				}
				if body == "bearer" {
					body = lhTokenJSON(l.idToken(l.claims(lg.nonce)))
				}
				l.answerWithNonce(lastCallout(l, r.id), tc.status[i], nonce, body)
			}
			if n := len(l.host.GetCalloutAttributesFromContext(r.id)); n != tc.calls {
				t.Errorf("%d token callouts, want %d", n, tc.calls)
			}
			rr := l.reply(r.id)
			if rr.status() != 502 || rr.header("x-correlation-id") == "" {
				t.Fatalf("status %d, correlation id %q; want 502 with one", rr.status(), rr.header("x-correlation-id"))
			}
		})
	}
}

// TestDPoPAuthorizationRequest: the authorization request names the DPoP key by dpop_jkt
// (RFC 9449 10), so the code is bound to it; a push carries dpop_jkt and a proof of the same
// key at the PAR endpoint (RFC 9449 10.1). Without dpop neither is sent.
func TestDPoPAuthorizationRequest(t *testing.T) {
	t.Run("redirect", func(t *testing.T) {
		l := newLH(t, dpopOn)
		l.ready()
		r := l.navigate("/app/page")
		loc, _ := url.Parse(r.header("location"))
		if got := loc.Query().Get("dpop_jkt"); r.status() != 302 || got != l.p.dpopKey.Thumbprint() {
			t.Errorf("authorization redirect %d, dpop_jkt %q, want the key's %s", r.status(), got, l.p.dpopKey.Thumbprint())
		}
	})
	t.Run("push", func(t *testing.T) {
		l := newLH(t, dpopOn)
		l.readyPAR(false)
		r := l.navigate("/app/page")
		c := l.requestCallout(r.id, "/par")
		form, _ := url.ParseQuery(string(c.Body))
		claims, jkt := dpopProofOf(t, c)
		if form.Get("dpop_jkt") != jkt || jkt != l.p.dpopKey.Thumbprint() || claims["htu"] != lhIssuer+"/par" || claims["htm"] != "POST" {
			t.Errorf("push: dpop_jkt %q, proof key %s, htu %v", form.Get("dpop_jkt"), jkt, claims["htu"])
		}
	})
	t.Run("without dpop", func(t *testing.T) {
		l := newLH(t, nil)
		l.ready()
		if r := l.navigate("/app/page"); strings.Contains(r.header("location"), "dpop_jkt") {
			t.Errorf("dpop_jkt without dpop: %s", r.header("location"))
		}
	})
}
