package oidc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

func baseLogoutClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "user-1", "aud": testClientID, "sid": "sid-1",
		"iat": testNow.Add(-10 * time.Second).Unix(), "jti": "jti-1",
		"events": map[string]any{EventBackchannelLogout: map[string]any{}},
	}
}

func logoutClaimsWith(f func(m map[string]any)) map[string]any {
	m := baseLogoutClaims()
	f(m)
	return m
}

func newLogoutValidator(keys ...signingKey) *LogoutTokenValidator {
	v := newValidator(keys...)
	return &LogoutTokenValidator{Issuer: v.Issuer, ClientID: v.ClientID, Verifier: v.Verifier, Now: v.Now, Leeway: v.Leeway}
}

func TestLogoutTokenValidate(t *testing.T) {
	key := newRSAKey(t, "rsa-1")
	ec := newECKey(t, "ec-1")
	unknown := newRSAKey(t, "rotated")
	otherSameKid := newRSAKey(t, "rsa-1")
	v := newLogoutValidator(key, ec)
	typed := func(claims map[string]any) string { return key.signTyp(t, TypeLogoutToken, claims) }
	good := typed(baseLogoutClaims())
	tampered := func() string {
		parts := strings.Split(good, ".")
		b, _ := json.Marshal(logoutClaimsWith(func(m map[string]any) { m["sub"] = "admin" }))
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	tests := []struct {
		name  string
		token string
		want  []error // nil: valid
	}{
		{"typed", good, nil},
		{"no typ", key.signTyp(t, "", baseLogoutClaims()), nil},
		{"typ application/logout+jwt", key.signTyp(t, "application/logout+jwt", baseLogoutClaims()), nil},
		{"es256", ec.signTyp(t, TypeLogoutToken, baseLogoutClaims()), nil},
		{"sid only", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "sub") })), nil},
		{"sub only", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "sid") })), nil},
		{"aud array", typed(logoutClaimsWith(func(m map[string]any) { m["aud"] = []string{"other", testClientID} })), nil},
		{"exp in the future", typed(logoutClaimsWith(func(m map[string]any) { m["exp"] = testNow.Add(time.Minute).Unix() })), nil},
		{"event with members", typed(logoutClaimsWith(func(m map[string]any) {
			m["events"] = map[string]any{EventBackchannelLogout: map[string]any{"x": 1}, "urn:other": map[string]any{}}
		})), nil},

		{"typ JWT", key.signTyp(t, "JWT", baseLogoutClaims()), []error{jwt.ErrType}},
		{"typ at+jwt", key.signTyp(t, "at+jwt", baseLogoutClaims()), []error{jwt.ErrType}},
		{"nonce", typed(logoutClaimsWith(func(m map[string]any) { m["nonce"] = "n" })), []error{ErrMalformed}},
		{"null nonce", typed(logoutClaimsWith(func(m map[string]any) { m["nonce"] = nil })), []error{jwt.ErrMalformed}},
		{"an id token", key.sign(t, baseClaims()), []error{jwt.ErrType}},
		{"an untyped id token", key.signTyp(t, "", baseClaims()), []error{ErrMalformed}}, // its nonce
		{"untyped id token with events", key.signTyp(t, "", claimsWith(func(m map[string]any) {
			m["jti"] = "j"
			m["events"] = map[string]any{EventBackchannelLogout: map[string]any{}}
		})), []error{ErrMalformed}},
		{"no jti", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "jti") })), []error{ErrMissingParam}},
		{"empty jti", typed(logoutClaimsWith(func(m map[string]any) { m["jti"] = "" })), []error{ErrMissingParam}},
		{"numeric jti", typed(logoutClaimsWith(func(m map[string]any) { m["jti"] = 7 })), []error{ErrMissingParam}},
		{"no sid, no sub", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "sid"); delete(m, "sub") })), []error{ErrMissingParam}},
		{"numeric sid", typed(logoutClaimsWith(func(m map[string]any) { m["sid"] = 1 })), []error{ErrMalformed}},
		{"numeric sub", typed(logoutClaimsWith(func(m map[string]any) { m["sub"] = 1 })), []error{jwt.ErrMalformed}},
		{"no events", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "events") })), []error{ErrMissingParam}},
		{"events an array", typed(logoutClaimsWith(func(m map[string]any) { m["events"] = []string{EventBackchannelLogout} })), []error{ErrMissingParam}},
		{"other event", typed(logoutClaimsWith(func(m map[string]any) { m["events"] = map[string]any{"urn:other": map[string]any{}} })), []error{ErrMissingParam}},
		{"event not an object", typed(logoutClaimsWith(func(m map[string]any) { m["events"] = map[string]any{EventBackchannelLogout: true} })), []error{ErrMissingParam}},
		{"aud of another client", typed(logoutClaimsWith(func(m map[string]any) { m["aud"] = "client-2" })), []error{jwt.ErrAudience}},
		{"no aud", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "aud") })), []error{jwt.ErrAudience}},
		{"other issuer", typed(logoutClaimsWith(func(m map[string]any) { m["iss"] = "https://evil.example.com" })), []error{jwt.ErrIssuer}},
		{"no iat", typed(logoutClaimsWith(func(m map[string]any) { delete(m, "iat") })), []error{jwt.ErrMissingClaim}},
		{"iat too old", typed(logoutClaimsWith(func(m map[string]any) { m["iat"] = testNow.Add(-6 * time.Minute).Unix() })), []error{jwt.ErrTooOld}},
		{"iat in the future", typed(logoutClaimsWith(func(m map[string]any) { m["iat"] = testNow.Add(time.Minute).Unix() })), []error{jwt.ErrIssuedInFuture}},
		{"expired", typed(logoutClaimsWith(func(m map[string]any) { m["exp"] = testNow.Add(-time.Minute).Unix() })), []error{jwt.ErrExpired}},
		{"unknown kid", unknown.signTyp(t, TypeLogoutToken, baseLogoutClaims()), []error{jwt.ErrUnknownKey}},
		{"bad signature", otherSameKid.signTyp(t, TypeLogoutToken, baseLogoutClaims()), []error{jwt.ErrSignature}},
		{"tampered", tampered, []error{jwt.ErrSignature}},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + strings.Split(good, ".")[1] + ".", []error{jwt.ErrAlgNone}},
		{"duplicate sid", key.signRaw(t, `{"alg":"RS256","kid":"rsa-1"}`,
			`{"iss":"https://op.example.com","aud":"client-1","iat":1741078790,"jti":"j","sid":"a","sid":"b","events":{"`+EventBackchannelLogout+`":{}}}`), []error{jwt.ErrMalformed}},
		{"duplicate event", key.signRaw(t, `{"alg":"RS256","kid":"rsa-1"}`,
			`{"iss":"https://op.example.com","aud":"client-1","iat":1741078790,"jti":"j","sid":"a","events":{"`+EventBackchannelLogout+`":{},"`+EventBackchannelLogout+`":{}}}`), []error{ErrDuplicateParam}},
		{"garbage", "x.y.z", []error{jwt.ErrMalformed}},
		{"empty", "", []error{ErrMissingParam}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt, err := v.Validate(tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if lt.Issuer != testIssuer || lt.JTI == "" || (lt.Subject == "" && lt.SessionID == "") {
					t.Fatalf("%+v", lt)
				}
				return
			}
			if lt != nil || !errors.Is(err, ErrLogoutToken) {
				t.Fatalf("lt=%v err=%v: want an ErrLogoutToken", lt, err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("%v does not wrap %v", err, w)
				}
			}
		})
	}
}

func TestLogoutTokenFields(t *testing.T) {
	key := newRSAKey(t, "k")
	v := newLogoutValidator(key)
	lt, err := v.Validate(key.signTyp(t, TypeLogoutToken, baseLogoutClaims()))
	if err != nil {
		t.Fatal(err)
	}
	iat := testNow.Add(-10 * time.Second).Truncate(time.Second)
	if lt.Subject != "user-1" || lt.SessionID != "sid-1" || lt.JTI != "jti-1" || !lt.IssuedAt.Equal(iat) || !lt.Expiry.IsZero() {
		t.Fatalf("%+v", lt)
	}
	if want := iat.Add(DefaultLogoutTokenMaxAge + 30*time.Second); !lt.ReplayUntil.Equal(want) {
		t.Errorf("ReplayUntil %v, want %v", lt.ReplayUntil, want)
	}
	// An exp sooner than iat + max age bounds the single-use record instead.
	exp := testNow.Add(20 * time.Second).Truncate(time.Second)
	lt, err = v.Validate(key.signTyp(t, TypeLogoutToken, logoutClaimsWith(func(m map[string]any) { m["exp"] = exp.Unix() })))
	if err != nil {
		t.Fatal(err)
	}
	if want := exp.Add(30 * time.Second); !lt.ReplayUntil.Equal(want) {
		t.Errorf("ReplayUntil %v, want %v", lt.ReplayUntil, want)
	}
	// MaxAge is configurable.
	v.MaxAge, v.Leeway = 5*time.Second, 0
	if _, err := v.Validate(key.signTyp(t, TypeLogoutToken, baseLogoutClaims())); !errors.Is(err, jwt.ErrTooOld) {
		t.Errorf("10 s old token with MaxAge 5s: %v", err)
	}
	if _, err := (&LogoutTokenValidator{Issuer: testIssuer}).Validate("x"); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("unconfigured: %v", err)
	}
}

func TestParseLogoutRequest(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           string
		err            error
	}{
		{"form", "application/x-www-form-urlencoded", "logout_token=a.b.c", "a.b.c", nil},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", "logout_token=a.b.c&x=1", "a.b.c", nil},
		{"escaped", "application/x-www-form-urlencoded", string(LogoutTokenForm("a.b_c-d")), "a.b_c-d", nil},
		{"json", "application/json", `{"logout_token":"a"}`, "", ErrMalformed},
		{"no content type", "", "logout_token=a", "", ErrMalformed},
		{"missing", "application/x-www-form-urlencoded", "token=a", "", ErrMissingParam},
		{"empty", "application/x-www-form-urlencoded", "logout_token=", "", ErrMissingParam},
		{"twice", "application/x-www-form-urlencoded", "logout_token=a&logout_token=b", "", ErrDuplicateParam},
		{"bad escape", "application/x-www-form-urlencoded", "logout_token=%zz", "", ErrMalformed},
		{"too large", "application/x-www-form-urlencoded", "logout_token=" + strings.Repeat("a", 100), "", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLogoutRequest(tt.ct, []byte(tt.body), 64)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || got != "" {
					t.Fatalf("got %q, %v; want %v", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLogoutErrorJSON(t *testing.T) {
	var m map[string]string
	b := LogoutErrorJSON("oidc: invalid logout token: \"quoted\" \\ \n" + strings.Repeat("x", 1000))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["error"] != "invalid_request" || !strings.HasPrefix(m["error_description"], `invalid logout token: "quoted"`) || len(m["error_description"]) > maxDescriptionLen+3 {
		t.Errorf("%q", m)
	}
}

func FuzzLogoutTokenBitFlip(f *testing.F) {
	key := newECKey(f, "k")
	v := newLogoutValidator(key)
	token := key.signTyp(f, TypeLogoutToken, baseLogoutClaims())
	if _, err := v.Validate(token); err != nil {
		f.Fatal(err)
	}
	for _, pos := range []uint{0, 10, uint(len(token) / 2), uint(len(token) - 1)} {
		f.Add(pos, uint8(0))
	}
	f.Fuzz(func(t *testing.T, pos uint, bit uint8) {
		b := []byte(token)
		b[pos%uint(len(b))] ^= 1 << (bit % 8)
		if _, err := v.Validate(string(b)); err == nil {
			t.Fatalf("flipped bit %d of byte %d accepted", bit%8, pos%uint(len(b)))
		}
	})
}

// FuzzLogoutToken: any payload signed with the right key either validates to a token that
// names a session or subject and has a jti, or fails with ErrLogoutToken; never a panic.
func FuzzLogoutToken(f *testing.F) {
	key := newRSAKey(f, "k")
	v := newLogoutValidator(key)
	b, _ := json.Marshal(baseLogoutClaims())
	f.Add(string(b))
	f.Add(`{"iss":"https://op.example.com","aud":"client-1","iat":1741078790,"jti":"j","sub":"s","events":{"` + EventBackchannelLogout + `":{}}}`)
	f.Add(`{"iss":"https://op.example.com","aud":"client-1","iat":1741078790,"jti":"j","sub":"s","nonce":1,"events":{"` + EventBackchannelLogout + `":{}}}`)
	f.Add(`{"events":{"a":{"b":{"c":[]}}}}`)
	f.Fuzz(func(t *testing.T, payload string) {
		lt, err := v.Validate(key.signRaw(t, `{"alg":"RS256","kid":"k","typ":"logout+jwt"}`, payload))
		if err != nil {
			if lt != nil || !errors.Is(err, ErrLogoutToken) {
				t.Fatalf("lt=%v err=%v", lt, err)
			}
			return
		}
		if lt.JTI == "" || (lt.SessionID == "" && lt.Subject == "") || lt.Issuer != testIssuer || gjson.Get(payload, "nonce").Exists() {
			t.Fatalf("accepted %s as %+v", payload, lt)
		}
	})
}

func FuzzParseLogoutRequest(f *testing.F) {
	f.Add("logout_token=a.b.c")
	f.Add("logout_token=a&logout_token=b")
	f.Add("logout_token=%zz&&x")
	f.Fuzz(func(t *testing.T, body string) {
		tok, err := ParseLogoutRequest("application/x-www-form-urlencoded", []byte(body), 256)
		if err != nil {
			if tok != "" || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("tok=%q err=%v", tok, err)
			}
			return
		}
		if tok == "" || len(body) > 256 || !strings.Contains(body, "logout_token=") {
			t.Fatalf("accepted %q as %q", body, tok)
		}
	})
}
