package oidc

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestAuthorizeURL(t *testing.T) {
	base := AuthParams{
		ClientID:      "app one",
		RedirectURI:   "https://app.example.com/oauth2/callback",
		Scopes:        []string{"profile", "email"},
		State:         "st.ate-1",
		Nonce:         "n0nce",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	}
	with := func(f func(p *AuthParams)) AuthParams {
		p := base
		f(&p)
		return p
	}
	const wantBase = "response_type=code&client_id=app+one&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback" +
		"&scope=openid+profile+email&state=st.ate-1&nonce=n0nce&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" +
		"&code_challenge_method=S256"
	tests := []struct {
		name     string
		endpoint string
		params   AuthParams
		want     string
		wantErr  error
	}{
		{"basic", "https://op.example.com/authorize", base, "https://op.example.com/authorize?" + wantBase, nil},
		{"endpoint query kept first", "https://login.example.com/oauth2/v2.0/authorize?p=B2C_1_signin&x=%20y", base,
			"https://login.example.com/oauth2/v2.0/authorize?p=B2C_1_signin&x=%20y&" + wantBase, nil},
		{"endpoint query overridden by ours", "https://op.example.com/authorize?client_id=evil&response_type=token&keep=1", base,
			"https://op.example.com/authorize?keep=1&" + wantBase, nil},
		{"openid already first, duplicates dropped", "https://op.example.com/a",
			with(func(p *AuthParams) { p.Scopes = []string{"openid", "email", "", "email", "offline_access"} }),
			"https://op.example.com/a?response_type=code&client_id=app+one&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback" +
				"&scope=openid+email+offline_access&state=st.ate-1&nonce=n0nce&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" +
				"&code_challenge_method=S256", nil},
		{"extra sorted, reserved ignored", "https://op.example.com/authorize",
			with(func(p *AuthParams) {
				p.Extra = map[string]string{"login_hint": "a b@example.com", "domain_hint": "example.com", "state": "evil",
					"redirect_uri": "https://evil", "response_mode": "fragment", "code_challenge_method": "plain", "prompt": "select_account"}
			}),
			"https://op.example.com/authorize?" + wantBase + "&domain_hint=example.com&login_hint=a+b%40example.com&prompt=select_account", nil},
		{"prompt none overrides extra prompt", "https://op.example.com/authorize",
			with(func(p *AuthParams) { p.Prompt = "none"; p.Extra = map[string]string{"prompt": "login"} }),
			"https://op.example.com/authorize?" + wantBase + "&prompt=none", nil},
		{"max_age in seconds, overrides extra max_age", "https://op.example.com/authorize",
			with(func(p *AuthParams) { p.MaxAge = 90 * time.Minute; p.Extra = map[string]string{"max_age": "5"} }),
			"https://op.example.com/authorize?" + wantBase + "&max_age=5400", nil},
		{"acr_values space-separated, override extra acr_values", "https://op.example.com/authorize",
			with(func(p *AuthParams) {
				p.ACRValues = []string{"gold", "silver"}
				p.Extra = map[string]string{"acr_values": "bronze"}
			}),
			"https://op.example.com/authorize?" + wantBase + "&acr_values=gold+silver", nil},
		{"extra max_age without MaxAge", "https://op.example.com/authorize",
			with(func(p *AuthParams) { p.Extra = map[string]string{"max_age": "5"} }),
			"https://op.example.com/authorize?" + wantBase + "&max_age=5", nil},
		{"no nonce", "https://op.example.com/authorize", with(func(p *AuthParams) { p.Nonce = "" }),
			"https://op.example.com/authorize?response_type=code&client_id=app+one&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback" +
				"&scope=openid+profile+email&state=st.ate-1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", nil},
		{"missing client id", "https://op.example.com/a", with(func(p *AuthParams) { p.ClientID = "" }), "", ErrMissingParam},
		{"missing redirect uri", "https://op.example.com/a", with(func(p *AuthParams) { p.RedirectURI = "" }), "", ErrMissingParam},
		{"missing state", "https://op.example.com/a", with(func(p *AuthParams) { p.State = "" }), "", ErrMissingParam},
		{"missing challenge", "https://op.example.com/a", with(func(p *AuthParams) { p.CodeChallenge = "" }), "", ErrMissingParam},
		{"bad scope", "https://op.example.com/a", with(func(p *AuthParams) { p.Scopes = []string{"a b"} }), "", ErrMalformed},
		{"scope with quote", "https://op.example.com/a", with(func(p *AuthParams) { p.Scopes = []string{`x"y`} }), "", ErrMalformed},
		{"relative endpoint", "/authorize", base, "", ErrInvalidURL},
		{"endpoint with fragment", "https://op.example.com/a#f", base, "", ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AuthorizeURL(tt.endpoint, tt.params)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if err != nil {
				return
			}
			// The result must parse back to the inputs.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("state") != tt.params.State || q.Get("client_id") != tt.params.ClientID || q.Get("code_challenge_method") != "S256" {
				t.Fatalf("round trip: %v", q)
			}
		})
	}
}

func TestIsReservedAuthParam(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"state", true}, {"redirect_uri", true}, {"request_uri", true}, {"code_challenge_method", true},
		{"prompt", false}, {"login_hint", false}, {"domain_hint", false}, {"acr_values", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsReservedAuthParam(tt.name); got != tt.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestEndSessionURL(t *testing.T) {
	tests := []struct {
		name                             string
		endpoint, hint, post, client, st string
		want                             string
		wantErr                          error
	}{
		{"all", "https://op.example.com/logout", "eyJ.a.b", "https://app.example.com/", "cid", "s1",
			"https://op.example.com/logout?id_token_hint=eyJ.a.b&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2F&client_id=cid&state=s1", nil},
		{"hint only", "https://op.example.com/logout", "eyJ.a.b", "", "", "",
			"https://op.example.com/logout?id_token_hint=eyJ.a.b", nil},
		{"nothing", "https://op.example.com/logout", "", "", "", "", "https://op.example.com/logout", nil},
		{"endpoint query kept", "https://op.example.com/logout?tenant=x&client_id=old", "", "https://app/", "cid", "",
			"https://op.example.com/logout?tenant=x&post_logout_redirect_uri=https%3A%2F%2Fapp%2F&client_id=cid", nil},
		{"bad endpoint", "op.example.com/logout", "h", "", "", "", "", ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EndSessionURL(tt.endpoint, tt.hint, tt.post, tt.client, tt.st)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
