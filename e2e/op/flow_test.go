package op

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestDiscovery(t *testing.T) {
	s := startOP(t, Config{})
	r := get(t, nil, s.Endpoints().Discovery)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	d := r.json(t)
	e := s.Endpoints()
	for k, want := range map[string]string{
		"issuer":                 s.Issuer(),
		"authorization_endpoint": e.Authorize,
		"token_endpoint":         e.Token,
		"jwks_uri":               e.JWKS,
		"userinfo_endpoint":      e.Userinfo,
		"revocation_endpoint":    e.Revocation,
		"introspection_endpoint": e.Introspection,
		"end_session_endpoint":   e.EndSession,
	} {
		if d[k] != want {
			t.Errorf("%s = %v, want %s", k, d[k], want)
		}
	}
	if !strings.HasPrefix(s.Issuer(), "http://127.0.0.1:") {
		t.Errorf("issuer %q is not a loopback http URL", s.Issuer())
	}
	for k, want := range map[string][]string{
		"code_challenge_methods_supported":      {"S256"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"response_types_supported":              {"code"},
		"scopes_supported":                      {"openid", "profile", "email", "offline_access"},
	} {
		got, _ := d[k].([]any)
		for _, w := range want {
			if !slices.Contains(got, any(w)) {
				t.Errorf("%s = %v, missing %s", k, got, w)
			}
		}
	}
	if c := s.Counts().Discovery; c != 1 {
		t.Errorf("Counts().Discovery = %d, want 1", c)
	}
}

var (
	inputID  = regexp.MustCompile(`<input[^>]*id="(username|password)"`)
	buttonID = regexp.MustCompile(`<button[^>]*id="submit"`)
)

// TestCodeFlowDrivenByForm walks the whole browser flow with a plain
// client: authorize, login form, callback, code for tokens.
func TestCodeFlowDrivenByForm(t *testing.T) {
	s := startOP(t, Config{})
	c := noRedirectClient(t)
	p := newPKCE()

	r := get(t, c, authorizeURL(s, p, nil))
	if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), loginPath+"?authRequestID=") {
		t.Fatalf("authorize: %d Location %q", r.status, r.header.Get("Location"))
	}
	loginURL := s.Issuer() + r.header.Get("Location")
	form := get(t, c, loginURL)
	if form.status != http.StatusOK || len(inputID.FindAllString(form.body, -1)) != 2 || !buttonID.MatchString(form.body) {
		t.Fatalf("login form: %d, want inputs #username #password and button #submit:\n%s", form.status, form.body)
	}
	reqID := must(url.Parse(loginURL)).Query().Get("authRequestID")

	bad := post(t, c, s.Endpoints().Login, url.Values{"authRequestID": {reqID}, "username": {"demo"}, "password": {"wrong"}}, "", "")
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "Invalid username or password") {
		t.Fatalf("wrong password: %d %q", bad.status, bad.body)
	}

	r = post(t, c, s.Endpoints().Login, url.Values{"authRequestID": {reqID}, "username": {"demo"}, "password": {"demo"}}, "", "")
	if r.status != http.StatusFound {
		t.Fatalf("login POST: %d %s", r.status, r.body)
	}
	r = get(t, c, s.Issuer()+r.header.Get("Location"))
	cb := must(url.Parse(r.header.Get("Location")))
	if r.status != http.StatusFound || !strings.HasPrefix(cb.String(), testRedirect+"?") {
		t.Fatalf("callback: %d Location %q", r.status, cb)
	}
	if cb.Query().Get("state") != "st-123" || cb.Query().Get("code") == "" {
		t.Fatalf("callback query %q", cb.RawQuery)
	}
	code := cb.Query().Get("code")

	// A wrong verifier fails (and does not burn the code in this library).
	tok := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {newPKCE().verifier}}
	if r := post(t, nil, s.Endpoints().Token, tok, s.ClientID(), s.ClientSecret()); r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
		t.Fatalf("wrong code_verifier: %d %s", r.status, r.body)
	}

	// client_secret_post
	tok.Set("code_verifier", p.verifier)
	tok.Set("client_id", s.ClientID())
	tok.Set("client_secret", s.ClientSecret())
	r = post(t, nil, s.Endpoints().Token, tok, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	tr := r.json(t)
	if tr["token_type"] != "Bearer" || tr["refresh_token"] == "" || num(tr, "expires_in") < 290 {
		t.Errorf("token response %v", tr)
	}
	id := mustVerify(t, s, tr["id_token"].(string))
	for k, want := range map[string]any{
		"iss": s.Issuer(), "sub": "demo-user-0001", "nonce": "n-456", "email": "demo@example.com",
		"name": "Demo User", "preferred_username": "demo", "azp": s.ClientID(),
	} {
		if id[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, id[k], want)
		}
	}
	if g, _ := id["groups"].([]any); len(g) != 2 || g[0] != "users" || g[1] != "admins" {
		t.Errorf("id_token groups = %v", id["groups"])
	}
	if id["sid"] == nil || !slices.Equal(audOf(id), []string{s.ClientID()}) {
		t.Errorf("id_token sid %v aud %v", id["sid"], id["aud"])
	}
	at := mustVerify(t, s, tr["access_token"].(string))
	if !slices.Equal(audOf(at), []string{s.ClientID()}) || at["email"] != "demo@example.com" || at["jti"] == nil {
		t.Errorf("access token claims %v", at)
	}

	// The code is single use.
	if r := post(t, nil, s.Endpoints().Token, tok, "", ""); r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("code reuse: %d %s", r.status, r.body)
	}

	// Userinfo with the access token.
	req := must(http.NewRequest(http.MethodGet, s.Endpoints().Userinfo, nil))
	req.Header.Set("Authorization", "Bearer "+tr["access_token"].(string))
	if ui := do(t, nil, req); ui.status != http.StatusOK || ui.json(t)["email"] != "demo@example.com" {
		t.Errorf("userinfo: %d %s", ui.status, ui.body)
	}

	cnt := s.Counts()
	if cnt.Authorize != 1 || cnt.Login != 3 || cnt.Code != 3 || cnt.Token != 3 || cnt.Userinfo != 1 {
		t.Errorf("counts %+v", cnt)
	}
}

func TestSessionPromptAndEndSession(t *testing.T) {
	s := startOP(t, Config{})
	c := noRedirectClient(t)
	ctx := ctxT(t)

	cb, err := s.LoginAs(ctx, c, authorizeURL(s, newPKCE(), nil), "demo", "demo")
	if err != nil || !strings.Contains(cb, "code=") {
		t.Fatalf("first login: %q %v", cb, err)
	}
	// With the session cookie, authorize goes straight back with a code.
	r := get(t, c, authorizeURL(s, newPKCE(), nil))
	r = get(t, c, s.Issuer()+r.header.Get("Location"))
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/authorize/callback") {
		t.Fatalf("with a session the form must be skipped, got %d %q", r.status, loc)
	}
	// prompt=login shows the form anyway.
	r = get(t, c, authorizeURL(s, newPKCE(), url.Values{"prompt": {"login"}}))
	if r = get(t, c, s.Issuer()+r.header.Get("Location")); r.status != http.StatusOK || !buttonID.MatchString(r.body) {
		t.Fatalf("prompt=login: %d", r.status)
	}
	// prompt=none without a session: login_required at the client.
	fresh := noRedirectClient(t)
	r = get(t, fresh, authorizeURL(s, newPKCE(), url.Values{"prompt": {"none"}}))
	r = get(t, fresh, s.Issuer()+r.header.Get("Location"))
	if loc := must(url.Parse(r.header.Get("Location"))); loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st-123" {
		t.Fatalf("prompt=none without session: %d %q", r.status, loc)
	}
	// prompt=none with a session: a code.
	cb, err = s.LoginAs(ctx, c, authorizeURL(s, newPKCE(), url.Values{"prompt": {"none"}}), "x", "x")
	if err != nil || !strings.Contains(cb, "code=") {
		t.Fatalf("prompt=none with session: %q %v", cb, err)
	}

	// Tokens of this session, then RP-initiated logout.
	p := newPKCE()
	cb, err = s.LoginAs(ctx, c, authorizeURL(s, p, nil), "", "")
	if err != nil {
		t.Fatal(err)
	}
	tokRes := post(t, nil, s.Endpoints().Token, url.Values{"grant_type": {"authorization_code"},
		"code": {must(url.Parse(cb)).Query().Get("code")}, "redirect_uri": {testRedirect}, "code_verifier": {p.verifier}},
		s.ClientID(), s.ClientSecret()).json(t)
	idToken, refresh := tokRes["id_token"].(string), tokRes["refresh_token"].(string)

	after := "http://127.0.0.1:1/signed-out"
	r = get(t, c, s.Endpoints().EndSession+"?"+url.Values{
		"id_token_hint": {idToken}, "post_logout_redirect_uri": {after}, "state": {"bye"},
	}.Encode())
	if r.status != http.StatusFound || r.header.Get("Location") != after+"?state=bye" {
		t.Fatalf("end_session: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), "Max-Age=0") {
		t.Errorf("end_session did not clear the session cookie: %q", r.header.Values("Set-Cookie"))
	}
	// The next authorize shows the form again, and the session's refresh
	// token is dead.
	r = get(t, c, authorizeURL(s, newPKCE(), nil))
	if r = get(t, c, s.Issuer()+r.header.Get("Location")); r.status != http.StatusOK || !buttonID.MatchString(r.body) {
		t.Fatalf("after end_session the form must show, got %d", r.status)
	}
	if _, err := s.Refresh(ctx, refresh); err == nil {
		t.Error("refresh token of an ended session still works")
	}
	if s.Counts().EndSession != 1 {
		t.Errorf("EndSession count %d", s.Counts().EndSession)
	}

	// An unregistered non-loopback post_logout_redirect_uri is refused.
	r = get(t, nil, s.Endpoints().EndSession+"?"+url.Values{
		"client_id": {s.ClientID()}, "post_logout_redirect_uri": {"https://evil.example/"},
	}.Encode())
	if r.status != http.StatusBadRequest {
		t.Errorf("foreign post_logout_redirect_uri: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestAuthorizeRejects(t *testing.T) {
	s := startOP(t, Config{})
	strict := startOP(t, Config{StrictRedirectURIs: true, RedirectURIs: []string{"http://127.0.0.1:1/registered"}})
	tests := []struct {
		name      string
		srv       *Server
		extra     url.Values
		wantError string // error in the redirect; "" means the OP answers 400 itself
	}{
		{"no PKCE", s, url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, "invalid_request"},
		{"plain PKCE", s, url.Values{"code_challenge_method": {"plain"}}, "invalid_request"},
		{"unknown client", s, url.Values{"client_id": {"nobody"}}, ""},
		{"foreign redirect", s, url.Values{"redirect_uri": {"https://evil.example/cb"}}, ""},
		{"unregistered loopback when strict", strict, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, nil, authorizeURL(tt.srv, newPKCE(), tt.extra))
			if tt.wantError == "" {
				if r.status != http.StatusBadRequest {
					t.Fatalf("got %d Location %q, want 400", r.status, r.header.Get("Location"))
				}
				return
			}
			loc := must(url.Parse(r.header.Get("Location")))
			if r.status != http.StatusFound || loc.Query().Get("error") != tt.wantError || !strings.HasPrefix(loc.String(), testRedirect) {
				t.Fatalf("got %d Location %q, want error=%s at the client", r.status, loc, tt.wantError)
			}
		})
	}
	// The strict server accepts its registered URI.
	q := url.Values{"redirect_uri": {"http://127.0.0.1:1/registered"}}
	if r := get(t, nil, authorizeURL(strict, newPKCE(), q)); r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), loginPath) {
		t.Errorf("registered redirect on strict server: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"non-loopback addr", Config{Addr: "0.0.0.0:0"}, "not a loopback"},
		{"bad alg", Config{SigningAlgorithm: "HS256"}, "SigningAlgorithm"},
		{"client without secret", Config{Clients: []Client{{ID: "api"}}}, "Clients[0]"},
		{"duplicate user", Config{Users: []User{DemoUser(), DemoUser()}}, "Users[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
