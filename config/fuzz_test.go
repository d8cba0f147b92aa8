package config

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// canonicalJSON renders a Config back into plugin JSON with every value
// explicit. Parsing it must give an equal Config. It lives in a test: a
// marshaller in the package would be one more way to print secrets.
func canonicalJSON(t testing.TB, c *Config) []byte {
	t.Helper()
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	dur := func(d interface{ String() string }) string { return d.String() }
	r := rawConfig{
		Provider: rawProvider{
			Issuer: c.Provider.Issuer, InsecureAllowHTTP: c.Provider.InsecureAllowHTTP, Discovery: c.Provider.Discovery,
			AuthorizationEndpoint: c.Provider.AuthorizationEndpoint, TokenEndpoint: c.Provider.TokenEndpoint,
			UserinfoEndpoint: c.Provider.UserinfoEndpoint, JWKSURI: c.Provider.JWKSURI,
			EndSessionEndpoint: c.Provider.EndSessionEndpoint, RevocationEndpoint: c.Provider.RevocationEndpoint,
			IntrospectionEndpoint: c.Provider.IntrospectionEndpoint, PAREndpoint: c.Provider.PAREndpoint, Cluster: c.Provider.Cluster,
			JWKSCluster: c.Provider.JWKSCluster, Authority: c.Provider.Authority, Timeout: dur(c.Provider.Timeout),
			MetadataRefreshInterval: dur(c.Provider.MetadataRefreshInterval), JWKSMinRefetchInterval: dur(c.Provider.JWKSMinRefetchInterval),
		},
		Client:                rawClient{ID: c.Client.ID, Secret: c.Client.Secret, AuthMethod: c.Client.AuthMethod, AssertionAudience: c.Client.AssertionAudience},
		Prefix:                c.Prefix,
		RedirectURL:           c.RedirectURL,
		PostLogoutRedirectURL: c.PostLogoutRedirectURL,
		Scopes:                nonNil(c.Scopes),
		ExtraAuthParams:       c.ExtraAuthParams,
		Cookie: rawCookie{Name: c.Cookie.Name, Domain: c.Cookie.Domain, Path: c.Cookie.Path, SameSite: c.Cookie.SameSite,
			Secure: c.Cookie.Secure, MaxChunkSize: c.Cookie.MaxChunkSize, MaxChunks: c.Cookie.MaxChunks},
		Session: rawSession{Lifetime: dur(c.Session.Lifetime), RefreshMargin: dur(c.Session.RefreshMargin), DefaultAccess: dur(c.Session.DefaultAccessTokenLifetime), Refresh: c.Session.Refresh,
			IDTokenExpired: c.Session.IDTokenExpired, CacheSize: c.Session.CacheSize, MaxAge: dur(c.Session.MaxAge)},
		Login: rawLogin{StateLifetime: dur(c.Login.StateLifetime), Userinfo: c.Login.Userinfo,
			LoopGuard: rawLoopGuard{MaxAttempts: c.Login.LoopGuard.MaxAttempts, Window: dur(c.Login.LoopGuard.Window)},
			Claims:    nonNil(c.Login.Claims), ResponseMode: c.Login.ResponseMode, PAR: c.Login.PAR, RequestObject: c.Login.RequestObject,
			Introspect: rawIntrospect{Enabled: c.Login.Introspect.Enabled, RequireSub: c.Login.Introspect.RequireSub,
				RequireClientID: c.Login.Introspect.RequireClientID, RequireScopes: c.Login.Introspect.RequireScopes}},
		Forward: rawForward{AccessTokenHeader: c.Forward.AccessTokenHeader, IDTokenHeader: c.Forward.IDTokenHeader,
			AuthorizationBearer: c.Forward.AuthorizationBearer, Claims: c.Forward.Claims, Strip: nonNil(c.Forward.Strip)},
		PassThrough: []rawPassThrough{},
		API:         rawAPI{Prefixes: nonNil(c.API.Prefixes), Detect: c.API.Detect},
		Endpoints: rawEndpoints{Userinfo: c.Endpoints.Userinfo, Token: c.Endpoints.Token,
			TokenIncludeRefreshToken: c.Endpoints.TokenIncludeRefreshToken, TokenRefreshOfflineOnly: c.Endpoints.TokenRefreshOfflineOnly,
			BackchannelLogout: c.Endpoints.BackchannelLogout},
		JWT:           rawJWT{Leeway: dur(c.JWT.Leeway), Algorithms: c.JWT.Algorithms, AllowHMAC: c.JWT.AllowHMAC},
		BearerIssuers: []rawBearerIssuer{},
		Routes:        []rawRoute{},
		Limits: rawLimits{MaxQueryBytes: c.Limits.MaxQueryBytes, MaxStateBytes: c.Limits.MaxStateBytes,
			MaxCookieBytes: c.Limits.MaxCookieBytes, MaxTokenResponseBytes: c.Limits.MaxTokenResponseBytes,
			MaxJWKSBytes: c.Limits.MaxJWKSBytes, MaxHeaderValueBytes: c.Limits.MaxHeaderValueBytes},
		LogLevel: c.LogLevel,
	}
	for _, k := range c.Keys {
		r.Keys = append(r.Keys, rawKey{ID: k.ID, Secret: base64.StdEncoding.EncodeToString(k.Secret)})
	}
	for _, p := range c.PassThrough {
		r.PassThrough = append(r.PassThrough, rawPassThrough{Path: p.Path, Prefix: p.Prefix, Methods: nonNil(p.Methods)})
	}
	for _, b := range c.BearerIssuers {
		r.BearerIssuers = append(r.BearerIssuers, rawBearerIssuer{Name: b.Name, Issuer: b.Issuer, InsecureAllowHTTP: b.InsecureAllowHTTP,
			Discovery: b.Discovery, JWKSURI: b.JWKSURI, Cluster: b.Cluster, Authority: b.Authority,
			Audiences: nonNil(b.Audiences), Algorithms: nonNil(b.Algorithms)})
	}
	for _, rt := range c.Routes {
		rr := rawRoute{Name: rt.Name, Auth: rt.Auth, BearerIssuers: []string{},
			Match: rawMatch{Prefix: rt.Match.Prefix, Host: rt.Match.Host, Methods: nonNil(rt.Match.Methods)}}
		for _, b := range rt.BearerIssuers {
			rr.BearerIssuers = append(rr.BearerIssuers, b.Name)
		}
		if e := rt.Exchange; e != nil {
			rr.Exchange = &rawExchange{Type: e.Type, Audience: e.Audience, Resource: e.Resource, Scope: e.Scope,
				SubjectTokenType: e.SubjectTokenType, RequestedTokenType: e.RequestedTokenType, Header: e.Header,
				Margin: dur(e.Margin), Cluster: e.Cluster}
		}
		if a := rt.Authorization; a != nil {
			ra := &rawAuthorization{Scopes: nonNil(a.Scopes), Claims: []rawClaimRule{}, Combine: a.Combine}
			for _, cr := range a.Claims {
				rc := rawClaimRule{Claim: cr.Claim}
				if cr.Op == ClaimContains {
					rc.Contains = cr.Value
				} else {
					rc.Equals = cr.Value
				}
				ra.Claims = append(ra.Claims, rc)
			}
			rr.Authorization = ra
		}
		r.Routes = append(r.Routes, rr)
	}
	b, err := json.Marshal(omitNulls(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// omitNulls drops members whose value is null (absent exchange,
// authorization, contains, equals), which Parse rightly rejects.
func omitNulls(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				if e == nil {
					delete(x, k)
				} else {
					x[k] = walk(e)
				}
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return x
	}
	return walk(tree)
}

func TestCanonicalRoundTrip(t *testing.T) {
	for _, name := range []string{"example.json", "minimal.json"} {
		c := mustParse(t, readFile(t, name))
		again := mustParse(t, canonicalJSON(t, c))
		if !reflect.DeepEqual(c, again) {
			t.Errorf("%s: Parse(canonical(Parse(x))) differs", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "example.json"))
	f.Add(readFile(f, "minimal.json"))
	f.Add(with(f, `{"routes":[{"name":"a","match":{"prefix":"/a/","host":"*.x.example","methods":["GET"]},"auth":"none"}],"pass_through":[{"prefix":"/p/"}]}`))
	f.Add(with(f, `{"cookie":{"name":"__Host-x","same_site":"none"},"jwt":{"allow_hmac":true,"algorithms":["HS256","ES256"]},"client":{"secret":"0123456789abcdef0123456789abcdef"}}`))
	f.Add(with(f, `{"redirect_url":"http://127.0.0.1:8080/cb","post_logout_redirect_url":"/bye","extra_auth_params":{"prompt":"login"}}`))
	f.Add([]byte(`{"provider":{"issuer":"x","issuer":"y"}}`))
	f.Add([]byte(`{"a":[[[[{"b":null}]]]]} trailing`))
	f.Add([]byte("{\"prefix\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Config with error")
			}
			fes := FieldErrors(err)
			if len(fes) == 0 || len(fes) != len(errLines(err)) {
				t.Fatalf("error is not one FieldError per line: %v", err)
			}
			for _, fe := range fes {
				if fe.Msg == "" || strings.Contains(fe.Msg, "\n") {
					t.Fatalf("bad FieldError %q", fe.Error())
				}
			}
			return
		}
		// A config that parses renders canonically and parses to the same.
		canon := canonicalJSON(t, c)
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, canon)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("canonical form parses differently:\n%s", canon)
		}
		// Request-time helpers never panic and never return a nil route.
		for _, p := range []string{"/", c.Prefix, "/a/../b", string(data[:min(len(data), 40)])} {
			if c.Route("h", "GET", p) == nil {
				t.Fatal("nil route")
			}
			c.IsPassThrough("GET", p)
			c.IsAPIPath(p)
			c.EndpointFor(p)
		}
	})
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "/a;b/c", "\\x", "//", "/a%2F%2e%2E/", "/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		clean, canonical := NormalizePath(p)
		if !strings.HasPrefix(clean, "/") {
			t.Fatalf("NormalizePath(%q) = %q: not absolute", p, clean)
		}
		if canonical && clean != stripQuery(p) {
			t.Fatalf("NormalizePath(%q) canonical but changed it to %q", p, clean)
		}
		// Stable, except where decoding once built a new escape ("%7%30" is
		// "%70"): upstreams decode once too, so that is not decoded again.
		if again, ok := NormalizePath(clean); (again != clean || !ok) && !strings.Contains(clean, "%") {
			t.Fatalf("NormalizePath(%q) = %q, then %q, %v", p, clean, again, ok)
		}
		for _, seg := range strings.Split(clean, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q keeps a dot segment", p, clean)
			}
		}
	})
}
