package op

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRefreshRotation(t *testing.T) {
	s := startOP(t, Config{})
	ctx := ctxT(t)
	first := issue(t, s)

	second, err := s.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh token not rotated: %q", second.RefreshToken)
	}
	id := mustVerify(t, s, second.IDToken)
	if id["sub"] != "demo-user-0001" || id["nonce"] != nil || id["sid"] == nil {
		t.Errorf("refreshed id_token claims %v", id)
	}

	// Reuse of the rotated token: invalid_grant, counted.
	var te *TokenError
	if _, err := s.Refresh(ctx, first.RefreshToken); !errors.As(err, &te) || te.Code != "invalid_grant" || te.Status != http.StatusBadRequest {
		t.Fatalf("reuse: %v, want 400 invalid_grant", err)
	}
	// The current token still works (no family revocation by default).
	third, err := s.Refresh(ctx, second.RefreshToken)
	if err != nil {
		t.Fatalf("current token after a reuse: %v", err)
	}
	// client_secret_post is accepted for the refresh grant too.
	r := post(t, nil, s.Endpoints().Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.RefreshToken},
		"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("refresh with client_secret_post: %d %s", r.status, r.body)
	}
	// A wrong secret is invalid_client.
	r = post(t, nil, s.Endpoints().Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.json(t)["refresh_token"].(string)}}, s.ClientID(), "wrong")
	if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %s", r.status, r.body)
	}
	if c := s.Counts(); c.Refresh != 5 || c.RefreshReuse != 1 || c.Code != 1 || c.Token != 6 {
		t.Errorf("counts %+v", c)
	}
}

// Parallel refreshes with one token: exactly one wins, the rest are reuses.
func TestConcurrentRefreshOneWins(t *testing.T) {
	s := startOP(t, Config{})
	tr := issue(t, s)
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := s.Refresh(ctxT(t), tr.RefreshToken)
			errs <- err
		}()
	}
	ok := 0
	for range n {
		if <-errs == nil {
			ok++
		}
	}
	if c := s.Counts(); ok != 1 || c.RefreshReuse != n-1 || c.Refresh != n {
		t.Errorf("%d successes, counts %+v; want 1 success and %d reuses", ok, c, n-1)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	s := startOP(t, Config{RevokeFamilyOnRefreshReuse: true})
	ctx := ctxT(t)
	first := issue(t, s)
	second, err := s.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(ctx, first.RefreshToken); err == nil {
		t.Fatal("reuse succeeded")
	}
	if _, err := s.Refresh(ctx, second.RefreshToken); err == nil {
		t.Fatal("the family survived a reuse")
	}
	if active, _, _ := s.Introspect(second.AccessToken); active {
		t.Error("the family's access token is still active")
	}
}

func TestOfflineAccessAndNoIDTokenOnRefresh(t *testing.T) {
	s := startOP(t, Config{RequireOfflineAccess: true, NoIDTokenOnRefresh: true})
	if tr := issue(t, s); tr.RefreshToken != "" {
		t.Fatalf("refresh token without offline_access: %q", tr.RefreshToken)
	}
	tr := issue(t, s, "openid", "email", "offline_access")
	if tr.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	next, err := s.Refresh(ctxT(t), tr.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.IDToken != "" || next.AccessToken == "" {
		t.Errorf("NoIDTokenOnRefresh: id_token %q access_token %q", next.IDToken, next.AccessToken)
	}
	s.SetNoIDTokenOnRefresh(false)
	if next, err = s.Refresh(ctxT(t), next.RefreshToken); err != nil || next.IDToken == "" {
		t.Errorf("id_token back after SetNoIDTokenOnRefresh(false): %v", err)
	}
}

func TestRevokeAllRefreshTokens(t *testing.T) {
	s := startOP(t, Config{})
	tr := issue(t, s)
	s.RevokeAllRefreshTokens()
	if _, err := s.Refresh(ctxT(t), tr.RefreshToken); err == nil {
		t.Fatal("refresh after RevokeAllRefreshTokens succeeded")
	}
	if tr2 := issue(t, s); tr2.RefreshToken == "" {
		t.Fatal("new logins get no refresh token")
	} else if _, err := s.Refresh(ctxT(t), tr2.RefreshToken); err != nil {
		t.Fatalf("a refresh token issued after the revocation: %v", err)
	}
}

func TestLifetimes(t *testing.T) {
	s := startOP(t, Config{AccessTokenLifetime: 90 * time.Second, IDTokenLifetime: 45 * time.Second, RefreshTokenLifetime: time.Second})
	check := func(tr *TokenResponse, access, id int64) {
		t.Helper()
		at, it := mustVerify(t, s, tr.AccessToken), mustVerify(t, s, tr.IDToken)
		if got := num(at, "exp") - num(at, "iat"); got < access-1 || got > access {
			t.Errorf("access token lives %ds, want %d", got, access)
		}
		if got := num(it, "exp") - num(it, "iat"); got < id-1 || got > id+1 {
			t.Errorf("id token lives %ds, want %d", got, id)
		}
		if tr.ExpiresIn < access-2 || tr.ExpiresIn > access {
			t.Errorf("expires_in %d, want about %d", tr.ExpiresIn, access)
		}
	}
	tr := issue(t, s)
	check(tr, 90, 45)

	// The refresh token expires after its one second.
	time.Sleep(1100 * time.Millisecond)
	if _, err := s.Refresh(ctxT(t), tr.RefreshToken); err == nil {
		t.Error("expired refresh token accepted")
	}

	s.SetLifetimes(30*time.Second, 20*time.Second, 0)
	if a, i, r := s.Lifetimes(); a != 30*time.Second || i != 20*time.Second || r != time.Second {
		t.Fatalf("Lifetimes() = %v %v %v", a, i, r)
	}
	check(issue(t, s), 30, 20)
}

func TestTokenExchange(t *testing.T) {
	s := startOP(t, Config{Clients: []Client{{ID: "api", Secret: "api-secret"}}})
	tr := issue(t, s)
	base := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {tr.AccessToken},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"audience":           {"https://downstream.example"},
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
	}{
		{"basic", base, s.ClientID(), s.ClientSecret()},
		{"post", withCreds(base, s.ClientID(), s.ClientSecret()), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, nil, s.Endpoints().Token, tc.form, tc.user, tc.pass)
			if r.status != http.StatusOK {
				t.Fatalf("exchange: %d %s", r.status, r.body)
			}
			res := r.json(t)
			if res["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || res["token_type"] != "Bearer" {
				t.Errorf("response %v", res)
			}
			c := mustVerify(t, s, res["access_token"].(string))
			if !slices.Equal(audOf(c), []string{"https://downstream.example"}) || c["sub"] != "demo-user-0001" {
				t.Errorf("exchanged token aud %v sub %v", c["aud"], c["sub"])
			}
			active, ic, err := s.Introspect(res["access_token"].(string))
			if err != nil || !active || !slices.Equal(audOf(ic), []string{"https://downstream.example"}) {
				t.Errorf("introspection of the exchanged token: active=%v %v %v", active, ic, err)
			}
		})
	}
	// A client that is not in the subject token's aud may not exchange it (as in Keycloak).
	if r := post(t, nil, s.Endpoints().Token, base, "api", "api-secret"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "access_denied") {
		t.Errorf("exchange by another client: %d %s, want 400 access_denied", r.status, r.body)
	}
	if c := s.Counts().TokenExchange; c != 3 {
		t.Errorf("TokenExchange count %d", c)
	}

	// resource alone names the audience too.
	byResource := withCreds(base, s.ClientID(), s.ClientSecret())
	byResource.Del("audience")
	byResource.Set("resource", "https://api.example/orders")
	r := post(t, nil, s.Endpoints().Token, byResource, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("exchange by resource: %d %s", r.status, r.body)
	}
	if c := mustVerify(t, s, r.json(t)["access_token"].(string)); !slices.Equal(audOf(c), []string{"https://api.example/orders"}) {
		t.Errorf("exchange by resource: aud %v", c["aud"])
	}

	// Failures.
	bad := func(name string, form url.Values, user, pass string, status int, code string) {
		t.Helper()
		r := post(t, nil, s.Endpoints().Token, form, user, pass)
		if r.status != status || r.json(t)["error"] != code {
			t.Errorf("%s: %d %s, want %d %s", name, r.status, r.body, status, code)
		}
	}
	bad("wrong secret", base, s.ClientID(), "nope", http.StatusUnauthorized, "invalid_client")
	garbage := withCreds(base, s.ClientID(), s.ClientSecret())
	garbage.Set("subject_token", "not-a-token")
	bad("garbage subject", garbage, "", "", http.StatusBadRequest, "invalid_request")

	if r := post(t, nil, s.Endpoints().Revocation, url.Values{"token": {tr.AccessToken}, "token_type_hint": {"access_token"}}, s.ClientID(), s.ClientSecret()); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	bad("revoked subject", base, s.ClientID(), s.ClientSecret(), http.StatusBadRequest, "invalid_request")
}

func withCreds(v url.Values, id, secret string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	out.Set("client_id", id)
	out.Set("client_secret", secret)
	return out
}

func TestRevocationAndIntrospection(t *testing.T) {
	s := startOP(t, Config{Clients: []Client{{ID: "other", Secret: "other-secret"}}})
	tr := issue(t, s)

	active, c, err := s.Introspect(tr.AccessToken)
	if err != nil || !active || c["sub"] != "demo-user-0001" || c["client_id"] != s.ClientID() || c["username"] != "demo" {
		t.Fatalf("introspect: %v %v %v", active, c, err)
	}
	// Over HTTP with client_secret_post.
	r := post(t, nil, s.Endpoints().Introspection, url.Values{"token": {tr.AccessToken}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, "", "")
	if r.status != http.StatusOK || r.json(t)["active"] != true {
		t.Fatalf("introspect with client_secret_post: %d %s", r.status, r.body)
	}
	// Unauthenticated introspection is refused.
	if r := post(t, nil, s.Endpoints().Introspection, url.Values{"token": {tr.AccessToken}}, "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("unauthenticated introspection: %d", r.status)
	}
	if active, _, _ := s.Introspect("garbage"); active {
		t.Error("garbage is active")
	}

	// Another client may not revoke our refresh token.
	r = post(t, nil, s.Endpoints().Revocation, url.Values{"token": {tr.RefreshToken}}, "other", "other-secret")
	if r.status == http.StatusOK {
		t.Errorf("foreign client revoked the token: %s", r.body)
	}
	// Revoking the refresh token (client_secret_post) kills it and its
	// access tokens.
	r = post(t, nil, s.Endpoints().Revocation, url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"refresh_token"},
		"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("revoke refresh token: %d %s", r.status, r.body)
	}
	if _, err := s.Refresh(ctxT(t), tr.RefreshToken); err == nil {
		t.Error("revoked refresh token still works")
	}
	if active, _, _ := s.Introspect(tr.AccessToken); active {
		t.Error("access token of a revoked grant is active")
	}
	// Unknown tokens revoke fine (RFC 7009 2.2).
	if r := post(t, nil, s.Endpoints().Revocation, url.Values{"token": {"unknown"}}, s.ClientID(), s.ClientSecret()); r.status != http.StatusOK {
		t.Errorf("revoke unknown: %d", r.status)
	}
	// Access token revocation alone.
	tr2 := issue(t, s)
	post(t, nil, s.Endpoints().Revocation, url.Values{"token": {tr2.AccessToken}}, s.ClientID(), s.ClientSecret())
	if active, _, _ := s.Introspect(tr2.AccessToken); active {
		t.Error("revoked access token is active")
	}
	if _, err := s.Refresh(ctxT(t), tr2.RefreshToken); err != nil {
		t.Errorf("revoking an access token killed the refresh token: %v", err)
	}
	if c := s.Counts(); c.Revocation != 4 || c.Introspection != 2 {
		t.Errorf("counts %+v", c)
	}
}
