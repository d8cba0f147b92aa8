package oidc

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestRequestObjectClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := AuthParams{ClientID: "app", RedirectURI: "https://app.example.com/cb", State: "st", Nonce: "n",
		CodeChallenge: "ch", MaxAge: time.Hour, Prompt: "login", Extra: map[string]string{"login_hint": "a@b", "request_uri": "evil"}}
	b, err := RequestObjectClaims(p, "https://op.example.com", now, time.Minute, "jti-1")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"iss": "app", "aud": "https://op.example.com", "iat": 1.8e9, "nbf": 1.8e9, "exp": 1.8e9 + 60, "jti": "jti-1",
		"response_type": "code", "client_id": "app", "redirect_uri": "https://app.example.com/cb", "scope": "openid",
		"state": "st", "nonce": "n", "code_challenge": "ch", "code_challenge_method": "S256", "prompt": "login",
		"max_age": 3600.0, "login_hint": "a@b"}
	if len(got) != len(want) {
		t.Errorf("claims %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}
	if _, err := RequestObjectClaims(AuthParams{ClientID: "app"}, "https://op.example.com", now, time.Minute, "j"); !errors.Is(err, ErrMissingParam) {
		t.Errorf("incomplete params: %v", err)
	}
	if _, err := RequestObjectClaims(p, "", now, time.Minute, "j"); !errors.Is(err, ErrMissingParam) {
		t.Errorf("no issuer: %v", err)
	}
}

func TestRequestObjectURL(t *testing.T) {
	got, err := RequestObjectURL("https://op.example.com/auth?x=1", AuthParams{ClientID: "app", Scopes: []string{"email"}}, "h.p.s")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	q := u.Query()
	if len(q) != 5 || q.Get("x") != "1" || q.Get("client_id") != "app" || q.Get("request") != "h.p.s" ||
		q.Get("response_type") != "code" || q.Get("scope") != "openid email" || q.Get("state") != "" {
		t.Errorf("URL %s", got)
	}
	if _, err := RequestObjectURL("https://op.example.com/auth", AuthParams{ClientID: "app"}, ""); !errors.Is(err, ErrMissingParam) {
		t.Errorf("no request object: %v", err)
	}
}
