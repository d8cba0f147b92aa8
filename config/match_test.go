package config

import (
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in, want  string
		canonical bool
	}{
		{"/", "/", true},
		{"/a/b", "/a/b", true},
		{"/a/b/", "/a/b/", true},
		{"/a/b?x=/../y", "/a/b", true},
		{"/a/b#frag", "/a/b", true},
		{"/files/my%20doc.pdf", "/files/my%20doc.pdf", true}, // escapes that cannot move a prefix stay
		{"/a%3Bb", "/a%3Bb", true},
		{"/100%25", "/100%25", true},
		{"/a..b/.c", "/a..b/.c", true},
		{"", "/", false},
		{"*", "/*", false},
		{"//a", "/a", false},
		{"/a//b", "/a/b", false},
		{"/a/./b", "/a/b", false},
		{"/a/../b", "/b", false},
		{"/../../etc", "/etc", false},
		{"/a/..", "/", false},
		{"/a/b/..", "/a/", false},
		{"/a/.", "/a/", false},
		{"/%61dmin/", "/admin/", false},
		{"/x/%2e%2e/admin", "/admin", false},
		{"/x%2F..%2Fadmin", "/admin", false},
		{"/x\\..\\admin", "/admin", false},
		{"/x/%5C../admin", "/admin", false},
		{"/admin;jsessionid=1/page", "/admin/page", false},
		{"/public/..;/admin", "/admin", false},
		{"/a%zz", "/a%zz", true},
		{"/a%2", "/a%2", true},
	}
	for _, tt := range tests {
		got, canonical := NormalizePath(tt.in)
		if got != tt.want || canonical != tt.canonical {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, %v", tt.in, got, canonical, tt.want, tt.canonical)
		}
		// Normalizing is idempotent.
		if again, ok := NormalizePath(got); again != got || !ok {
			t.Errorf("NormalizePath(%q) = %q, %v: not stable", got, again, ok)
		}
	}
}

func TestNormalizePathDoesNotAllocateForCleanPaths(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { NormalizePath("/reports/2024/q1.csv?x=1") })
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func routesConfig(t *testing.T) *Config {
	return mustParse(t, with(t, `{
		"bearer_issuers": [{"name":"corp","issuer":"https://i/","cluster":"c","audiences":["a"]}],
		"routes": [
			{"name":"root-api", "match":{"prefix":"/api/"}, "auth":"bearer", "bearer_issuers":["corp"]},
			{"name":"api-v2", "match":{"prefix":"/api/v2/"}, "auth":"session_or_bearer", "bearer_issuers":["corp"]},
			{"name":"api-v2-post", "match":{"prefix":"/api/v2/", "methods":["POST"]}, "auth":"bearer", "bearer_issuers":["corp"]},
			{"name":"api-v2-tenant", "match":{"prefix":"/api/v2/", "host":"*.tenant.example"}, "auth":"session"},
			{"name":"api-v2-a", "match":{"prefix":"/api/v2/", "host":"a.tenant.example"}, "auth":"none"},
			{"name":"admin", "match":{"prefix":"/admin/"}, "authorization":{"claims":[{"claim":"groups","contains":"admins"}]}},
			{"name":"open", "match":{"prefix":"/open/"}, "auth":"none"}
		],
		"pass_through": [{"path":"/healthz"}, {"prefix":"/public/", "methods":["GET"]}],
		"api": {"prefixes":["/api/", "/graphql"]}
	}`))
}

func TestRoute(t *testing.T) {
	c := routesConfig(t)
	tests := []struct {
		host, method, path, want string
	}{
		{"apps.example.com", "GET", "/api/v1/x", "root-api"},
		{"apps.example.com", "GET", "/api/v2/x", "api-v2"},             // longest prefix wins
		{"apps.example.com", "POST", "/api/v2/x", "api-v2-post"},       // methods beat none
		{"b.tenant.example", "GET", "/api/v2/x", "api-v2-tenant"},      // wildcard beats none
		{"B.Tenant.Example:8443", "GET", "/api/v2/x", "api-v2-tenant"}, // case and port ignored
		{"a.tenant.example", "POST", "/api/v2/x", "api-v2-a"},          // exact host beats methods
		{"tenant.example", "GET", "/api/v2/x", "api-v2"},               // wildcard needs a label
		{"apps.example.com", "GET", "/admin/users", "admin"},
		{"apps.example.com", "GET", "/open/../admin/users", "admin"}, // normalized first
		{"apps.example.com", "GET", "/open/%2e%2e/admin/users", "admin"},
		{"apps.example.com", "GET", "/%61dmin/users", "admin"},
		{"apps.example.com", "GET", "/admin;x=1/users", "admin"},
		{"apps.example.com", "GET", "/open/x", "open"},
		{"apps.example.com", "GET", "/other", ""},
		{"apps.example.com", "GET", "/api", ""}, // "/api/" is a string prefix
	}
	for _, tt := range tests {
		r := c.Route(tt.host, tt.method, tt.path)
		if r == nil {
			t.Fatalf("Route(%q, %q, %q) = nil", tt.host, tt.method, tt.path)
		}
		if r.Name != tt.want {
			t.Errorf("Route(%q, %q, %q) = %q, want %q", tt.host, tt.method, tt.path, r.Name, tt.want)
		}
	}
	if d := c.Route("h", "GET", "/nothing"); d.Auth != AuthSession || d.Exchange != nil || d.Authorization != nil {
		t.Errorf("default route = %+v", d)
	}
}

func TestIsPassThrough(t *testing.T) {
	c := routesConfig(t)
	tests := []struct {
		method, path string
		want         bool
	}{
		{"GET", "/healthz", true},
		{"POST", "/healthz", true},
		{"GET", "/healthz?probe=1", true},
		{"GET", "/healthz/x", false}, // path is exact
		{"GET", "/public/app.js", true},
		{"POST", "/public/app.js", false},
		{"GET", "/public/my%20file.png", true},
		{"GET", "/public/../admin/", false}, // not canonical: never passes through
		{"GET", "/public/%2e%2e/admin/", false},
		{"GET", "/public//x", false},
		{"GET", "/publicx", false},
	}
	for _, tt := range tests {
		if got := c.IsPassThrough(tt.method, tt.path); got != tt.want {
			t.Errorf("IsPassThrough(%q, %q) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestIsAPIPath(t *testing.T) {
	c := routesConfig(t)
	for path, want := range map[string]bool{
		"/api/x": true, "/graphql": true, "/graphql?q=1": true, "/x/../api/y": true,
		"/ap": false, "/": false, "/web/api/": false,
	} {
		if got := c.IsAPIPath(path); got != want {
			t.Errorf("IsAPIPath(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestEndpointFor(t *testing.T) {
	c := mustParse(t, with(t, `{"endpoints":{"userinfo":false,"token":true}}`))
	tests := map[string]Endpoint{
		"/oauth2/callback?code=x&state=y": EndpointCallback,
		"/oauth2/sign_in?rd=/x":           EndpointSignIn,
		"/oauth2/sign_out":                EndpointSignOut,
		"/oauth2/userinfo":                EndpointNone, // disabled
		"/oauth2/token":                   EndpointToken,
		"/oauth2/tokens.js":               EndpointTokenScript,
		"/oauth2/callback/":               EndpointNone,
		"/oauth2//callback":               EndpointNone,
		"/oauth2":                         EndpointNone,
		"":                                EndpointNone,
	}
	for path, want := range tests {
		if got := c.EndpointFor(path); got != want {
			t.Errorf("EndpointFor(%q) = %v, want %v", path, got, want)
		}
	}
	if c.UserinfoPath() != "/oauth2/userinfo" || c.SignOutPath() != "/oauth2/sign_out" {
		t.Error("endpoint paths")
	}
	if got := c.EndpointFor("/oauth2/backchannel_logout"); got != EndpointNone {
		t.Errorf("backchannel_logout off by default: %v", got)
	}
	bc := mustParse(t, with(t, `{"endpoints":{"backchannel_logout":true}}`))
	if got := bc.EndpointFor("/oauth2/backchannel_logout"); got != EndpointBackchannelLogout || bc.BackchannelLogoutPath() != "/oauth2/backchannel_logout" {
		t.Errorf("backchannel_logout on: %v %s", got, bc.BackchannelLogoutPath())
	}
}

func BenchmarkRoute(b *testing.B) {
	c := mustParse(b, readFile(b, "example.json"))
	for b.Loop() {
		c.Route("apps.example.com", "GET", "/reports/2024/q1?x=1")
	}
}

// TestHostAllowed: with allowed_hosts only those hosts (any letter case; an entry without a
// port on any port) may have absolute URLs built from them; without it every one may.
func TestHostAllowed(t *testing.T) {
	c := mustParse(t, with(t, `{"allowed_hosts":["apps.example.com","Admin.Example.com:8443","[::1]"]}`))
	for authority, want := range map[string]bool{
		"apps.example.com": true, "APPS.example.com": true, "apps.example.com:8443": true,
		"admin.example.com:8443": true, "admin.example.com": false, "admin.example.com:443": false,
		"[::1]": true, "[::1]:8080": true, "evil.example": false, "apps.example.com.evil.example": false, "": false,
	} {
		if got := c.HostAllowed(authority); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", authority, got, want)
		}
	}
	if open := mustParse(t, with(t, `{}`)); !open.HostAllowed("evil.example") {
		t.Error("without allowed_hosts a host was refused")
	}
}

// TestPostLogoutURL: a path-form post_logout_redirect_url goes on redirect_url's origin
// when that is set, never on the request's Host.
func TestPostLogoutURL(t *testing.T) {
	c := mustParse(t, with(t, `{"redirect_url":"https://apps.example.com/oauth2/callback","post_logout_redirect_url":"/bye"}`))
	if got := c.PostLogoutURL("https", "evil.example"); got != "https://apps.example.com/bye" {
		t.Errorf("with redirect_url: %q", got)
	}
	c = mustParse(t, with(t, `{"post_logout_redirect_url":"/bye"}`))
	if got := c.PostLogoutURL("https", "apps.example.com"); got != "https://apps.example.com/bye" {
		t.Errorf("without redirect_url: %q", got)
	}
	c = mustParse(t, with(t, `{"post_logout_redirect_url":"https://www.example.com/bye"}`))
	if got := c.PostLogoutURL("https", "evil.example"); got != "https://www.example.com/bye" {
		t.Errorf("absolute: %q", got)
	}
}
