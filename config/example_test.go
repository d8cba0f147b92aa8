package config

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestExampleConfig(t *testing.T) {
	c := mustParse(t, readFile(t, "example.json"))

	if c.Provider.Issuer != "https://login.example.com/realms/corp" || c.Provider.JWKSCluster != "oidc_provider" {
		t.Errorf("provider = %+v", c.Provider)
	}
	if c.CallbackPath() != "/oauth2/callback" || c.SignInPath() != "/oauth2/sign_in" || c.TokenPath() != "/oauth2/token" {
		t.Errorf("paths: %s %s %s", c.CallbackPath(), c.SignInPath(), c.TokenPath())
	}
	if len(c.Keys) != 2 || c.Keys[0].ID != "k2" || len(c.Keys[0].Secret) != 32 || len(c.Keys[1].Secret) != 48 {
		t.Errorf("keys = %v", c.Keys)
	}
	if c.Session.IDTokenExpired != IDTokenReauthenticate || c.Session.Lifetime != 12*time.Hour {
		t.Errorf("session = %+v", c.Session)
	}
	if c.Forward.IDTokenHeader != "x-forwarded-id-token" || c.Forward.Claims["x-auth-request-email"] != "email" {
		t.Errorf("forward = %+v", c.Forward)
	}
	wantRemove := []string{"x-auth-request-email", "x-auth-request-groups", "x-auth-request-preferred-username",
		"x-auth-request-user", "x-forwarded-access-token", "x-forwarded-id-token",
		"x-graph-token", // the graph route's exchanged token: one list of identity headers
		"x-remote-user"}
	if !slices.Equal(c.Forward.Remove, wantRemove) {
		t.Errorf("Forward.Remove = %q, want %q", c.Forward.Remove, wantRemove)
	}

	r := c.Route("apps.example.com", "GET", "/reports/q1")
	if r.Name != "reports" || r.Auth != AuthSessionOrBearer || len(r.BearerIssuers) != 1 || r.BearerIssuers[0] != &c.BearerIssuers[0] {
		t.Fatalf("route = %+v", r)
	}
	ex := r.Exchange
	if ex.Type != RFC8693 || ex.Header != "authorization" || ex.Cluster != "oidc_provider" || ex.Margin != time.Minute ||
		ex.SubjectTokenType != "urn:ietf:params:oauth:token-type:access_token" || ex.HeaderValue("t") != "Bearer t" {
		t.Errorf("exchange = %+v", ex)
	}
	if a := r.Authorization; len(a.Claims) != 2 || a.Claims[0].Op != ClaimContains || a.Claims[1].Value != "4b3c2a10-0000-4000-8000-000000000001" {
		t.Errorf("authorization = %+v", a)
	}
	if g := c.Route("other.example.com", "GET", "/graph/me"); g.Name != "graph" || g.Exchange.Type != EntraOBO || g.Exchange.HeaderValue("t") != "t" || g.Exchange.Header != "x-graph-token" {
		t.Errorf("graph route = %+v", g)
	}
	if !c.IsPassThrough("GET", "/healthz") || c.IsPassThrough("POST", "/public/a.css") || !c.IsPassThrough("HEAD", "/public/a.css") {
		t.Error("pass-through rules not applied")
	}
	if !c.IsAPIPath("/api/v1/x") || c.IsAPIPath("/apix") {
		t.Error("API prefixes not applied")
	}
	if c.Scope() != "openid profile email offline_access" {
		t.Errorf("Scope() = %q", c.Scope())
	}
}

func TestMinimalConfigHasSecureDefaults(t *testing.T) {
	c := mustParse(t, readFile(t, "minimal.json"))
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"cookie secure", c.Cookie.Secure, true},
		{"cookie SameSite", c.Cookie.SameSite, SameSiteLax},
		{"cookie host-only", c.Cookie.Domain, ""},
		{"cookie path", c.Cookie.Path, "/"},
		{"HMAC off", c.JWT.AllowHMAC, false},
		{"algorithms all asymmetric", c.JWT.Algorithms, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}},
		{"leeway", c.JWT.Leeway, 30 * time.Second},
		{"refresh on", c.Session.Refresh, true},
		{"refresh margin", c.Session.RefreshMargin, time.Minute},
		{"expired ID token omitted", c.Session.IDTokenExpired, IDTokenOmit},
		{"https only", c.Provider.InsecureAllowHTTP, false},
		{"discovery", c.Provider.Discovery, true},
		{"token endpoint off", c.Endpoints.Token, false},
		{"refresh token never handed out", c.Endpoints.TokenIncludeRefreshToken, false},
		{"ID token not forwarded", c.Forward.IDTokenHeader, ""},
		{"no Authorization forwarded", c.Forward.AuthorizationBearer, false},
		{"loop guard on", c.Login.LoopGuard.MaxAttempts, 5},
		{"state lifetime", c.Login.StateLifetime, 10 * time.Minute},
		{"basic auth", c.Client.AuthMethod, ClientSecretBasic},
		{"scopes", c.Scopes, []string{"openid", "profile", "email"}},
		{"no pass-through", len(c.PassThrough), 0},
		{"unmatched requests need a session", c.Route("any", "GET", "/x").Auth, AuthSession},
		{"timeout", c.Provider.Timeout, 5 * time.Second},
		{"log level", c.LogLevel, LogInfo},
		{"binding cookie", c.BindingCookieName(), "_oidc_session_bind"},
		{"loop cookie", c.LoopCookieName(), "_oidc_session_loop"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestResolvedValues(t *testing.T) {
	t.Run("redirect_url sets the callback path", func(t *testing.T) {
		c := mustParse(t, with(t, `{"redirect_url":"https://apps.example.com/auth/cb?x=1"}`))
		if c.CallbackPath() != "/auth/cb" || c.EndpointFor("/auth/cb?code=1") != EndpointCallback || c.EndpointFor("/oauth2/callback") != EndpointNone {
			t.Errorf("CallbackPath = %q", c.CallbackPath())
		}
		if got := c.CallbackURL("http", "ignored"); got != "https://apps.example.com/auth/cb?x=1" {
			t.Errorf("CallbackURL = %q", got)
		}
	})
	t.Run("callback URL from the request", func(t *testing.T) {
		c := mustParse(t, with(t, `{"prefix":"/_auth"}`))
		if got := c.CallbackURL("https", "apps.example.com:8443"); got != "https://apps.example.com:8443/_auth/callback" {
			t.Errorf("CallbackURL = %q", got)
		}
	})
	t.Run("jwks cluster and exchange cluster default to the provider's", func(t *testing.T) {
		c := mustParse(t, with(t, `{"provider":{"cluster":"op"},"routes":[{"name":"a","match":{"prefix":"/a"},"exchange":{"type":"rfc8693","scope":"a  b"}}]}`))
		if c.Provider.JWKSCluster != "op" || c.Routes[0].Exchange.Cluster != "op" {
			t.Errorf("clusters %q %q", c.Provider.JWKSCluster, c.Routes[0].Exchange.Cluster)
		}
		if c.Routes[0].Exchange.Scope != "a b" {
			t.Errorf("scope %q", c.Routes[0].Exchange.Scope)
		}
	})
	t.Run("bearer issuer algorithms default to jwt's asymmetric ones", func(t *testing.T) {
		c := mustParse(t, with(t, `{"jwt":{"allow_hmac":true,"algorithms":["HS256","ES256"]},
			"bearer_issuers":[{"name":"b","issuer":"https://i/","cluster":"c","audiences":["a"]}]}`))
		if !slices.Equal(c.BearerIssuers[0].Algorithms, []string{"ES256"}) {
			t.Errorf("algorithms = %v", c.BearerIssuers[0].Algorithms)
		}
	})
	t.Run("allow_hmac adds HS256 to the default", func(t *testing.T) {
		c := mustParse(t, with(t, `{"jwt":{"allow_hmac":true}}`))
		if !slices.Contains(c.JWT.Algorithms, "HS256") || slices.Contains(c.JWT.Algorithms, "HS512") {
			t.Errorf("algorithms = %v", c.JWT.Algorithms)
		}
	})
	t.Run("cookie domain normalized", func(t *testing.T) {
		c := mustParse(t, with(t, `{"cookie":{"domain":".Example.COM","same_site":"none"}}`))
		if c.Cookie.Domain != "example.com" || c.Cookie.SameSite != SameSiteNone {
			t.Errorf("cookie = %+v", c.Cookie)
		}
	})
	t.Run("forward headers lower case, empty disables", func(t *testing.T) {
		c := mustParse(t, with(t, `{"forward":{"access_token_header":"","claims":{"X-User":"sub"},"strip":["X-Legacy-User"]}}`))
		f := c.Forward
		if f.AccessTokenHeader != "" || !reflect.DeepEqual(f.Claims, map[string]string{"x-user": "sub"}) || !slices.Equal(f.Remove, []string{"x-legacy-user", "x-user"}) {
			t.Errorf("forward = %+v", f)
		}
	})
	t.Run("extra auth params", func(t *testing.T) {
		c := mustParse(t, with(t, `{"extra_auth_params":{"prompt":"consent","access_type":"offline"}}`))
		if !reflect.DeepEqual(c.ExtraAuthParams, map[string]string{"prompt": "consent", "access_type": "offline"}) {
			t.Errorf("ExtraAuthParams = %v", c.ExtraAuthParams)
		}
	})
}

// TestFiveMistakes is the acceptance test: one Parse reports every
// mistake, each at its JSON path.
func TestFiveMistakes(t *testing.T) {
	data := with(t, `{
		"cookie": {"name": "my session"},
		"session": {"lifetime": "1h", "refresh_margin": "2h"},
		"keys": [{"id": "k1", "secret": "MDEyMzQ1Njc4OWFiY2RlZg"}],
		"forward": {"claimz": {}},
		"routes": [{"name": "r", "match": {"prefix": "/r/"}, "exchange": {"type": "magic"}}]
	}`)
	_, err := Parse(data)
	want := []string{
		"cookie.name: must match [A-Za-z0-9_-]+",
		"session.refresh_margin: must be between 0s and 1h",
		"keys[0].secret: decodes to 16 bytes, need at least 32",
		`forward.claimz: unknown key (did you mean "claims"?)`,
		`routes[0].exchange.type: must be one of rfc8693, entra_obo (not "magic")`,
	}
	fes := FieldErrors(err)
	got := make([]string, len(fes))
	for i, fe := range fes {
		got[i] = fe.Error()
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	// The joined error lists the same problems, one per line.
	if lines := errLines(err); !slices.Equal(lines, got) {
		t.Errorf("err.Error() lines = %q, FieldErrors = %q", lines, got)
	}
}

func TestFieldErrors(t *testing.T) {
	if FieldErrors(nil) != nil {
		t.Error("FieldErrors(nil) != nil")
	}
	wrapped := fmt.Errorf("plugin start: %w", &FieldError{Path: "a.b", Msg: "bad"})
	if fes := FieldErrors(wrapped); len(fes) != 1 || fes[0].Path != "a.b" {
		t.Errorf("FieldErrors(wrapped) = %v", fes)
	}
	if got := (&FieldError{Msg: "empty"}).Error(); got != "config: empty" {
		t.Errorf("root error = %q", got)
	}
}

// TestNoSecretsInErrorsOrPrints checks that neither error messages nor
// printing a Config reveal the client secret or a key.
func TestNoSecretsInErrorsOrPrints(t *testing.T) {
	const clientSecret = "S3cr3t-Cl1ent-Value\u0001"
	const shortKey = "U2VjcmV0S2V5U2hvcnQ" // decodes to "SecretKeyShort"
	_, err := Parse(with(t, `{"client":{"secret":"`+clientSecret[:19]+`\u0001"},
		"keys":[{"id":"k1","secret":"`+shortKey+`"},{"id":"k2","secret":"S3cr3t*NotBase64"}],
		"jwt":{"allow_hmac":true,"algorithms":["HS512"]}}`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"S3cr3t", "U2VjcmV0", "SecretKey", "NotBase64"} {
		if bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Errorf("error reveals %q:\n%v", s, err)
		}
	}

	// A syntax error inside a secret does not quote the offending character.
	_, err = Parse([]byte("{\"client\":{\"secret\":\"ab\x01cd\"}}"))
	if err == nil || bytes.Contains([]byte(err.Error()), []byte("\\x01")) || bytes.Contains([]byte(err.Error()), []byte("'")) {
		t.Errorf("syntax error in a secret: %v", err)
	}

	c := mustParse(t, readFile(t, "example.json"))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, c)
		for _, s := range []string{c.Client.Secret, "VTqEc3pc", fmt.Sprint(c.Keys[0].Secret[:4])} {
			if bytes.Contains([]byte(out), []byte(s)) {
				t.Errorf("%s of Config reveals a secret", verb)
			}
		}
	}
}
