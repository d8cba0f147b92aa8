package oidc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

func newJARMValidator(keys ...signingKey) *JARMValidator {
	v := newValidator(keys...)
	return &JARMValidator{Issuer: v.Issuer, ClientID: v.ClientID, Verifier: v.Verifier, Now: v.Now, Leeway: v.Leeway}
}

func jarmClaims(f func(m map[string]any)) map[string]any {
	m := map[string]any{"iss": testIssuer, "aud": testClientID, "exp": testNow.Add(time.Minute).Unix(),
		"code": "code-SECRETVALUE", "state": "state-1"}
	if f != nil {
		f(m)
	}
	return m
}

func TestParseJARMCallback(t *testing.T) {
	key := newRSAKey(t, "k1")
	other := newRSAKey(t, "k2")
	v := newJARMValidator(key)
	resp := func(m map[string]any) string { return "response=" + url.QueryEscape(key.sign(t, m)) }

	cb, err := v.ParseJARMCallback(resp(jarmClaims(nil)), 0)
	if err != nil || cb.Code != "code-SECRETVALUE" || cb.State != "state-1" {
		t.Fatalf("valid response: %+v %v", cb, err)
	}
	good := key.sign(t, jarmClaims(nil))
	for _, tc := range []struct {
		name, raw string
		want      error
	}{
		{"wrong aud", resp(jarmClaims(func(m map[string]any) { m["aud"] = "other" })), jwt.ErrAudience},
		{"aud list without client", resp(jarmClaims(func(m map[string]any) { m["aud"] = []string{"a", "b"} })), jwt.ErrAudience},
		{"wrong iss", resp(jarmClaims(func(m map[string]any) { m["iss"] = "https://evil.example" })), jwt.ErrIssuer},
		{"expired", resp(jarmClaims(func(m map[string]any) { m["exp"] = testNow.Add(-time.Minute).Unix() })), jwt.ErrExpired},
		{"no exp", resp(jarmClaims(func(m map[string]any) { delete(m, "exp") })), ErrJARM},
		{"unknown key", "response=" + other.sign(t, jarmClaims(nil)), jwt.ErrUnknownKey},
		{"tampered signature", "response=" + good[:len(good)-2] + "AA", ErrJARM},
		{"encrypted", "response=eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", ErrJARMEncrypted},
		{"not a jwt", "response=abc", ErrJARM},
		{"missing", "x=1", ErrMissingParam},
		{"plain code", "code=c&state=s", ErrMalformed},
		{"mixed", "response=" + good + "&code=other", ErrMalformed},
		{"mixed iss", "response=" + good + "&iss=" + testIssuer, ErrMalformed},
		{"duplicate", "response=" + good + "&response=" + good, ErrDuplicateParam},
		{"no code", resp(jarmClaims(func(m map[string]any) { delete(m, "code") })), ErrMissingParam},
		{"no state", resp(jarmClaims(func(m map[string]any) { delete(m, "state") })), ErrMissingParam},
		{"code not a string", resp(jarmClaims(func(m map[string]any) { m["code"] = 5 })), ErrMalformed},
		{"too large", "response=" + strings.Repeat("a", 9000), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := v.ParseJARMCallback(tc.raw, 0)
			if cb != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want %v", cb, err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRETVALUE") {
				t.Fatalf("error holds the code: %v", err)
			}
		})
	}

	_, err = v.ParseJARMCallback(resp(jarmClaims(func(m map[string]any) {
		delete(m, "code")
		m["error"] = "login_required"
		m["error_description"] = "x\r\ny"
	})), 0)
	var ae *AuthorizationError
	if !errors.As(err, &ae) || ae.Code != "login_required" || ae.State != "state-1" || strings.ContainsAny(ae.Description, "\r\n") {
		t.Fatalf("signed error: %#v %v", ae, err)
	}
	if _, err := (&JARMValidator{}).ParseJARMCallback(resp(jarmClaims(nil)), 0); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("unconfigured validator: %v", err)
	}
}

func TestResponseModes(t *testing.T) {
	for _, tc := range []struct {
		m            ResponseMode
		jwt, formPst bool
	}{{ModeQuery, false, false}, {ModeFormPost, false, true}, {ModeQueryJWT, true, false}, {ModeFormPostJWT, true, true}, {ModeJWT, true, false}} {
		if tc.m.IsJWT() != tc.jwt || tc.m.IsFormPost() != tc.formPst {
			t.Errorf("%s: IsJWT %v IsFormPost %v", tc.m, tc.m.IsJWT(), tc.m.IsFormPost())
		}
	}
	p := AuthParams{ClientID: "c", RedirectURI: "https://a/cb", State: "s", CodeChallenge: "x"}
	for m, want := range map[ResponseMode]string{"": "", ModeQuery: "", ModeFormPost: "form_post", ModeQueryJWT: "query.jwt"} {
		p.ResponseMode = m
		u, err := AuthorizeURL("https://op/authorize", p)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		if got := pu.Query().Get("response_mode"); got != want {
			t.Errorf("mode %q: response_mode=%q", m, got)
		}
	}
}

func FuzzParseJARMCallback(f *testing.F) {
	key := newECKey(f, "k")
	v := newJARMValidator(key)
	token := key.sign(f, jarmClaims(nil))
	raw := "response=" + token
	if _, err := v.ParseJARMCallback(raw, 0); err != nil {
		f.Fatal(err)
	}
	f.Add(raw, uint(0), uint8(0))
	f.Add(raw, uint(len(raw)/2), uint8(3))
	f.Add("response=a.b.c.d.e&x=%zz", uint(1), uint8(1))
	f.Add("code=a&state=b", uint(0), uint8(0))
	f.Fuzz(func(t *testing.T, in string, pos uint, bit uint8) {
		cb, err := v.ParseJARMCallback(in, 0)
		if err == nil && (cb == nil || cb.Code == "" || cb.State == "") {
			t.Fatalf("accepted without code/state: %+v", cb)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "oidc: ") {
			t.Fatalf("error without prefix: %v", err)
		}
		// Any flipped bit of the valid response's JWT is refused.
		b := []byte(token)
		b[pos%uint(len(b))] ^= 1 << (bit % 8)
		if _, err := v.ParseJARMCallback("response="+url.QueryEscape(string(b)), 0); err == nil {
			t.Fatalf("flipped bit %d of byte %d accepted", bit%8, pos%uint(len(b)))
		}
	})
}
