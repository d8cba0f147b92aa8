package filter

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func responseModeLH(t *testing.T, mode string) *lh {
	l := newLH(t, func(c map[string]any) { c["login"] = map[string]any{"response_mode": mode} })
	l.ready()
	return l
}

// post sends a POST with a body (headers, then the body to its end) and returns the reply.
func (l *lh) post(path, contentType, body string, hdrs ...string) lhReply {
	l.t.Helper()
	h := [][2]string{{":method", "POST"}, {":path", path}, {":authority", "app.example.com"}, {":scheme", "https"},
		{"content-type", contentType}}
	for i := 0; i+1 < len(hdrs); i += 2 {
		h = append(h, [2]string{hdrs[i], hdrs[i+1]})
	}
	id := l.host.InitializeHttpContext()
	a := l.host.CallOnRequestHeaders(id, h, false)
	if l.host.GetSentLocalResponse(id) == nil {
		a = l.host.CallOnRequestBody(id, []byte(body), true)
	}
	return lhReply{id: id, action: a, local: l.host.GetSentLocalResponse(id)}
}

func (l *lh) tokenCallout(r lhReply) string {
	cs := l.host.GetCalloutAttributesFromContext(r.id)
	if len(cs) == 0 {
		return ""
	}
	form, _ := url.ParseQuery(string(cs[len(cs)-1].Body))
	return form.Get("code")
}

// jarm signs a JARM response for lg with the provider's key; edit changes the claims.
func (l *lh) jarm(lg lhLogin, edit func(map[string]any)) string {
	l.t.Helper()
	c := map[string]any{"iss": lhIssuer, "aud": lhClient, "exp": time.Now().Add(time.Minute).Unix(), "code": "jarm-code", "state": lg.state}
	if edit != nil {
		edit(c)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: l.key}, (&jose.SignerOptions{}).WithHeader("kid", l.kid))
	if err != nil {
		l.t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		l.t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func TestFormPostCallback(t *testing.T) {
	// cookie.secure false: the binding cookie is Secure anyway (SameSite=None requires it).
	l := newLH(t, func(c map[string]any) {
		c["login"] = map[string]any{"response_mode": "form_post"}
		c["cookie"] = map[string]any{"secure": false}
	})
	l.ready()
	r := l.navigate("/app")
	if loc := r.header("location"); !strings.Contains(loc, "response_mode=form_post") {
		t.Fatalf("authorization request without response_mode: %s", loc)
	}
	var binding string
	for _, c := range r.headers("set-cookie") {
		if strings.Contains(c, "SameSite=None") {
			binding = c
		}
	}
	if binding == "" || !strings.Contains(binding, "; Secure") {
		t.Fatalf("no SameSite=None; Secure binding cookie: %v", r.headers("set-cookie"))
	}
	lg := l.startLogin("/app/x")
	form := "code=fp-code&state=" + url.QueryEscape(lg.state)

	// Refused before any callout: a GET carrying the code, another content type.
	if g := l.navigate("/oauth2/callback?"+form, "cookie", lg.cookie); g.status() != 400 || l.tokenCallout(g) != "" {
		t.Errorf("GET callback in form_post mode: %d", g.status())
	}
	for _, ct := range []string{"application/json", "multipart/form-data; boundary=x", ""} {
		if p := l.post("/oauth2/callback", ct, form, "cookie", lg.cookie); p.status() != 400 || l.tokenCallout(p) != "" {
			t.Errorf("content type %q: %d", ct, p.status())
		}
	}
	if p := l.post("/oauth2/callback", "application/x-www-form-urlencoded", strings.Repeat("a", 9000), "cookie", lg.cookie); p.status() != 400 {
		t.Errorf("oversized form: %d", p.status())
	}

	p := l.post("/oauth2/callback", "application/x-www-form-urlencoded; charset=UTF-8", form, "cookie", lg.cookie)
	if got := l.tokenCallout(p); got != "fp-code" {
		t.Fatalf("form post callback: status %d, code sent %q", p.status(), got)
	}
	cs := l.host.GetCalloutAttributesFromContext(p.id)
	l.answer(cs[len(cs)-1], "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r := l.reply(p.id); r.status() != 302 || r.header("location") != "/app/x" {
		t.Fatalf("after the token response: %d %q", r.status(), r.header("location"))
	}
}

func TestFormPostWithoutBody(t *testing.T) {
	l := responseModeLH(t, "form_post")
	r := l.request("POST", "/oauth2/callback", "content-type", "application/x-www-form-urlencoded")
	if r.status() != 400 {
		t.Fatalf("form post without a body: %d", r.status())
	}
}

func TestJARMCallback(t *testing.T) {
	for _, mode := range []string{"query.jwt", "jwt", "form_post.jwt"} {
		t.Run(mode, func(t *testing.T) {
			l := responseModeLH(t, mode)
			lg := l.startLogin("/")
			send := func(params string) lhReply {
				if mode == "form_post.jwt" {
					return l.post("/oauth2/callback", "application/x-www-form-urlencoded", params, "cookie", lg.cookie)
				}
				return l.navigate("/oauth2/callback?"+params, "cookie", lg.cookie)
			}
			good := l.jarm(lg, nil)
			h, pl, sig := splitJWS(good)
			for _, tc := range []struct {
				name, params string
				status       int
			}{
				{"tampered signature", "response=" + h + "." + pl + "." + flipLast(sig), 400},
				{"tampered payload", "response=" + h + "." + flipLast(pl) + "." + sig, 400},
				{"wrong aud", "response=" + l.jarm(lg, func(c map[string]any) { c["aud"] = "other" }), 400},
				{"wrong iss", "response=" + l.jarm(lg, func(c map[string]any) { c["iss"] = "https://evil.example" }), 400},
				{"expired", "response=" + l.jarm(lg, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), 400},
				{"no exp", "response=" + l.jarm(lg, func(c map[string]any) { delete(c, "exp") }), 400},
				{"encrypted", "response=a.b.c.d.e", 400},
				{"plain code", "code=c&state=" + url.QueryEscape(lg.state), 400},
				{"plain code next to response", "response=" + good + "&code=other", 400},
				{"provider error", "response=" + l.jarm(lg, func(c map[string]any) { delete(c, "code"); c["error"] = "access_denied" }), 403},
			} {
				r := send(tc.params)
				if r.status() != tc.status || l.tokenCallout(r) != "" {
					t.Errorf("%s: status %d (want %d), callout %v", tc.name, r.status(), tc.status, l.tokenCallout(r) != "")
				}
				if loc := r.header("location"); loc != "" {
					t.Errorf("%s: redirected to %s", tc.name, loc)
				}
			}
			r := send("response=" + good)
			if got := l.tokenCallout(r); got != "jarm-code" {
				t.Fatalf("valid JARM response: status %d, code %q", r.status(), got)
			}
		})
	}
}

func TestResponseModeNotSupportedByProvider(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["login"] = map[string]any{"response_mode": "form_post"} })
	var d map[string]any
	_ = json.Unmarshal([]byte(l.discoveryJSON()), &d)
	d["response_modes_supported"] = []string{"query", "fragment"}
	b, _ := json.Marshal(d)
	l.answer(l.expectCallout("/.well-known/openid-configuration"), "200", "application/json", string(b))
	if l.p.provider.ready() || !strings.Contains(l.p.provider.notReadyReason(), "response_modes_supported") {
		t.Fatalf("provider ready %v, reason %q", l.p.provider.ready(), l.p.provider.notReadyReason())
	}
	r := l.navigate("/app")
	if r.status() != 503 {
		t.Fatalf("login with an unsupported response mode: %d", r.status())
	}
}

func splitJWS(s string) (h, p, sig string) {
	parts := strings.SplitN(s, ".", 3)
	return parts[0], parts[1], parts[2]
}

// flipLast changes a base64url segment's first character (a different decoded byte).
func flipLast(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}
