package config

import (
	"strings"
	"time"
)

func (v *validator) cookie() {
	r := &v.r.Cookie
	c := &v.c.Cookie
	switch {
	case !isIdent(r.Name, 1<<30):
		v.add("cookie.name", "must match [A-Za-z0-9_-]+")
	case len(r.Name) > 64:
		v.add("cookie.name", "too long (more than 64 bytes)")
	}
	c.Name = r.Name
	v.c.bindCookie = r.Name + "_bind"
	v.c.loopCookie = r.Name + "_loop"

	if r.Domain != "" {
		d := strings.ToLower(strings.TrimPrefix(r.Domain, "."))
		if !isHostName(d) {
			v.add("cookie.domain", "must be a domain name like \"example.com\" (no scheme, port or path)")
		}
		c.Domain = d
	}
	if msg := checkPath(r.Path); msg != "" {
		v.add("cookie.path", "%s", msg)
	}
	c.Path = r.Path

	ss, _ := v.enum("cookie.same_site", r.SameSite, true, SameSiteLax, SameSiteStrict, SameSiteNone)
	c.SameSite = ss
	c.Secure = r.Secure
	if c.SameSite == SameSiteNone && !r.Secure {
		v.add("cookie.same_site", "None requires cookie.secure")
	}

	// RFC 6265bis cookie name prefixes: browsers drop cookies that break them.
	lower := strings.ToLower(r.Name)
	if strings.HasPrefix(lower, "__secure-") && !r.Secure {
		v.add("cookie.secure", "a cookie named __Secure-* requires cookie.secure")
	}
	if strings.HasPrefix(lower, "__host-") {
		if !r.Secure {
			v.add("cookie.secure", "a cookie named __Host-* requires cookie.secure")
		}
		if r.Domain != "" {
			v.add("cookie.domain", "a cookie named __Host-* must not have a domain")
		}
		if r.Path != "/" {
			v.add("cookie.path", "a cookie named __Host-* requires path /")
		}
	}

	c.MaxChunkSize = v.intRange("cookie.max_chunk_size", r.MaxChunkSize, 1024, 4093)
	c.MaxChunks = v.intRange("cookie.max_chunks", r.MaxChunks, 1, 32)
}

func (v *validator) session() {
	r := &v.r.Session
	c := &v.c.Session
	c.Lifetime = v.duration("session.lifetime", r.Lifetime, time.Minute, 720*time.Hour)
	c.RefreshMargin = v.duration("session.refresh_margin", r.RefreshMargin, 0, time.Hour)
	_, lifeBad := checkDuration(r.Lifetime, time.Minute, 720*time.Hour)
	_, marginBad := checkDuration(r.RefreshMargin, 0, time.Hour)
	if lifeBad == "" && marginBad == "" && c.RefreshMargin >= c.Lifetime {
		v.add("session.refresh_margin", "must be shorter than session.lifetime")
	}
	c.DefaultAccessTokenLifetime = v.duration("session.default_access_token_lifetime", r.DefaultAccess, 10*time.Second, 24*time.Hour)
	c.Refresh = r.Refresh
	p, _ := v.enum("session.id_token_expired", r.IDTokenExpired, false, IDTokenOmit, IDTokenReauthenticate)
	c.IDTokenExpired = p
	c.CacheSize = v.intRange("session.cache_size", r.CacheSize, 0, 1_000_000)
	if d, err := time.ParseDuration(r.MaxAge); err == nil && d == 0 {
		c.MaxAge = 0
	} else {
		c.MaxAge = v.duration("session.max_age", r.MaxAge, 10*time.Second, 720*time.Hour)
	}
}

func (v *validator) login() {
	r := &v.r.Login
	c := &v.c.Login
	c.StateLifetime = v.duration("login.state_lifetime", r.StateLifetime, 30*time.Second, time.Hour)
	c.Userinfo = r.Userinfo
	c.ResponseMode, _ = v.enum("login.response_mode", r.ResponseMode, false, "query", "form_post", "query.jwt", "form_post.jwt", "jwt")
	c.PAR, _ = v.enum("login.par", r.PAR, false, PARAuto, PARAlways, PARNever)
	c.RequestObject, _ = v.enum("login.request_object", r.RequestObject, false, RequestObjectNone, RequestObjectSigned)
	c.LoopGuard.MaxAttempts = v.intRange("login.loop_guard.max_attempts", r.LoopGuard.MaxAttempts, 0, 100)
	c.LoopGuard.Window = v.duration("login.loop_guard.window", r.LoopGuard.Window, 10*time.Second, time.Hour)
	if len(r.Claims) > 64 {
		v.add("login.claims", "at most 64 claims")
	}
	var u uniq
	for i, name := range r.Claims {
		p := indexPath("login.claims", i)
		if msg := checkClaimName(name); msg != "" {
			v.add(p, "%s", msg)
		} else if u.check(v, p, name, "claim") {
			c.Claims = append(c.Claims, name)
		}
	}
	v.introspect()
	var acr uniq
	if len(r.ACRValues) > 16 {
		v.add("login.acr_values", "at most 16 values")
	}
	for i, val := range r.ACRValues {
		p := indexPath("login.acr_values", i)
		if !isScopeToken(val) || len(val) > 256 {
			v.add(p, "must be 1 to 256 characters of printable ASCII without spaces, quotes or backslashes (an acr value)")
		} else if acr.check(v, p, val, "value") {
			c.ACRValues = append(c.ACRValues, val)
		}
	}
}

func (v *validator) introspect() {
	r := &v.r.Login.Introspect
	c := &v.c.Login.Introspect
	c.Enabled, c.RequireSub, c.RequireClientID = r.Enabled, r.RequireSub, r.RequireClientID
	var u uniq
	for i, s := range r.RequireScopes {
		p := indexPath("login.introspect.require_scopes", i)
		if !isScopeToken(s) {
			v.add(p, "must be an RFC 6749 scope token (printable ASCII, no spaces, quotes or backslashes)")
		} else if u.check(v, p, s, "scope") {
			c.RequireScopes = append(c.RequireScopes, s)
		}
	}
	if !r.Enabled {
		if len(r.RequireScopes) > 0 {
			v.add("login.introspect.require_scopes", "requires login.introspect.enabled")
		}
		return
	}
	if !v.r.Provider.Discovery && v.r.Provider.IntrospectionEndpoint == "" {
		v.add("login.introspect.enabled", "needs provider.introspection_endpoint when provider.discovery is false")
	}
}

// checkClaimName checks a claim path (claimpath.go): "email", "realm_access.roles",
// "https://example\.com/roles".
func checkClaimName(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if msg := checkText(s, 256); msg != "" {
		return msg
	}
	if _, err := ParseClaimPath(s); err != nil {
		return strings.TrimPrefix(err.Error(), "config: ")
	}
	return ""
}

// keepsClaim reports whether sessions hold claim ("sub" always): login.claims names it or
// an object that holds it ("realm_access" keeps "realm_access.roles").
func (v *validator) keepsClaim(claim string) bool {
	if claim == "sub" {
		return true
	}
	for _, kept := range v.c.Login.Claims {
		if claimPathCovers(kept, claim) {
			return true
		}
	}
	return false
}

func (v *validator) limits() {
	r := &v.r.Limits
	c := &v.c.Limits
	c.MaxQueryBytes = v.intRange("limits.max_query_bytes", r.MaxQueryBytes, 1024, 64<<10)
	c.MaxStateBytes = v.intRange("limits.max_state_bytes", r.MaxStateBytes, 512, 16<<10)
	c.MaxCookieBytes = v.intRange("limits.max_cookie_bytes", r.MaxCookieBytes, 4096, 1<<20)
	c.MaxTokenResponseBytes = v.intRange("limits.max_token_response_bytes", r.MaxTokenResponseBytes, 4096, 16<<20)
	c.MaxJWKSBytes = v.intRange("limits.max_jwks_bytes", r.MaxJWKSBytes, 4096, 4<<20)
	c.MaxHeaderValueBytes = v.intRange("limits.max_header_value_bytes", r.MaxHeaderValueBytes, 1024, 64<<10)
	if c.MaxStateBytes > c.MaxQueryBytes {
		v.add("limits.max_state_bytes", "must not exceed limits.max_query_bytes")
	}
}
