package config

import "strings"

// Request-time helpers. They allocate nothing for ordinary paths and scan
// short lists; routes are pre-sorted by Parse.

// Endpoint identifies one of the filter's own endpoints.
type Endpoint uint8

const (
	EndpointNone Endpoint = iota
	EndpointCallback
	EndpointSignIn
	EndpointSignOut
	EndpointUserinfo // only when Endpoints.Userinfo
	EndpointToken    // only when Endpoints.Token
	EndpointSignedOut
	EndpointBackchannelLogout // only when Endpoints.BackchannelLogout
	EndpointTokenScript       // only when Endpoints.Token
)

type endpointPaths struct {
	callback, signIn, signOut, signedOut, userinfo, token, tokenScript, backchannelLogout string
}

// CallbackPath is the redirect_uri's path: RedirectURL's path if set, else
// {Prefix}/callback.
func (c *Config) CallbackPath() string { return c.paths.callback }

// SignInPath is {Prefix}/sign_in.
func (c *Config) SignInPath() string { return c.paths.signIn }

// SignOutPath is {Prefix}/sign_out.
func (c *Config) SignOutPath() string { return c.paths.signOut }

// SignedOutPath is {Prefix}/signed_out: the "You are signed out" page.
func (c *Config) SignedOutPath() string { return c.paths.signedOut }

// UserinfoPath is {Prefix}/userinfo (served only with Endpoints.Userinfo).
func (c *Config) UserinfoPath() string { return c.paths.userinfo }

// TokenPath is {Prefix}/token (served only with Endpoints.Token).
func (c *Config) TokenPath() string { return c.paths.token }

// TokenScriptPath is {Prefix}/tokens.js: the script that keeps a page's app supplied with
// fresh tokens from TokenPath (served only with Endpoints.Token).
func (c *Config) TokenScriptPath() string { return c.paths.tokenScript }

// BackchannelLogoutPath is {Prefix}/backchannel_logout (served only with
// Endpoints.BackchannelLogout).
func (c *Config) BackchannelLogoutPath() string { return c.paths.backchannelLogout }

// EndpointFor returns the endpoint a request :path (query ignored) is for,
// or EndpointNone. Disabled endpoints are EndpointNone. Paths are compared
// exactly, not normalized.
func (c *Config) EndpointFor(path string) Endpoint {
	p := stripQuery(path)
	if !strings.HasPrefix(p, "/") {
		return EndpointNone
	}
	switch p {
	case c.paths.callback:
		return EndpointCallback
	case c.paths.signIn:
		return EndpointSignIn
	case c.paths.signOut:
		return EndpointSignOut
	case c.paths.signedOut:
		return EndpointSignedOut
	case c.paths.userinfo:
		if c.Endpoints.Userinfo {
			return EndpointUserinfo
		}
	case c.paths.token:
		if c.Endpoints.Token {
			return EndpointToken
		}
	case c.paths.tokenScript:
		if c.Endpoints.Token {
			return EndpointTokenScript
		}
	case c.paths.backchannelLogout:
		if c.Endpoints.BackchannelLogout {
			return EndpointBackchannelLogout
		}
	}
	return EndpointNone
}

// CallbackURL is the redirect_uri for a request with the given :scheme and
// :authority: RedirectURL if set, else scheme://authority{CallbackPath}.
func (c *Config) CallbackURL(scheme, authority string) string {
	if c.RedirectURL != "" {
		return c.RedirectURL
	}
	return scheme + "://" + authority + c.paths.callback
}

// HostAllowed reports whether absolute URLs may be built from a request's :authority: any
// when AllowedHosts is empty, else one of them (case-insensitive; an entry without a port
// matches that host on any port). A client's Host must not choose where the provider
// sends the browser.
func (c *Config) HostAllowed(authority string) bool {
	if len(c.AllowedHosts) == 0 {
		return true
	}
	a := strings.ToLower(authority)
	host := a
	if i := strings.LastIndexByte(a, ':'); i >= 0 && !strings.HasSuffix(a, "]") {
		host = a[:i]
	}
	for _, h := range c.AllowedHosts {
		if h == a || h == host {
			return true
		}
	}
	return false
}

// PostLogoutURL is post_logout_redirect_url as an absolute URL: as configured when absolute;
// a path on redirect_url's origin when that is set; else on scheme://authority, which the
// caller must have checked (HostAllowed). "" when none is configured.
func (c *Config) PostLogoutURL(scheme, authority string) string {
	pl := c.PostLogoutRedirectURL
	switch {
	case pl == "" || !strings.HasPrefix(pl, "/"):
		return pl
	case c.redirectOrigin != "":
		return c.redirectOrigin + pl
	}
	return scheme + "://" + authority + pl
}

// Scope is Scopes joined with spaces, the authorization request's scope.
func (c *Config) Scope() string { return c.scope }

// SessionCookieName is Cookie.Name.
func (c *Config) SessionCookieName() string { return c.Cookie.Name }

// BindingCookieName is the name of the short-lived cookie that binds a login
// in progress to the browser that started it: Cookie.Name + "_bind".
func (c *Config) BindingCookieName() string { return c.bindCookie }

// LoopCookieName is the name of the loop guard's counter cookie:
// Cookie.Name + "_loop".
func (c *Config) LoopCookieName() string { return c.loopCookie }

// Route returns the route for a request: among routes whose prefix, host and
// methods match, the one with the longest prefix; on equal prefixes an exact
// host beats a wildcard beats none, and a route with methods beats one
// without; then configuration order. Without a match it returns the default
// route: Name "", prefix "/", AuthSession, no exchange, no authorization.
// The result is never nil. host is the :authority (a port is ignored); path
// is the :path, matched in its normalized form (see NormalizePath).
func (c *Config) Route(host, method, path string) *Route {
	p, _ := NormalizePath(path)
	for _, r := range c.routeOrder {
		if strings.HasPrefix(p, r.Match.Prefix) && hostMatches(r.Match.Host, host) && methodMatches(r.Match.Methods, method) {
			return r
		}
	}
	return &c.defaultRoute
}

// IsPassThrough reports whether a request skips authentication. A path that
// is not already in normalized form (see NormalizePath) never passes
// through, so "/public/../admin" cannot borrow a public prefix.
func (c *Config) IsPassThrough(method, path string) bool {
	p, canonical := NormalizePath(path)
	if !canonical {
		return false
	}
	for i := range c.PassThrough {
		pt := &c.PassThrough[i]
		if (pt.Path != "" && p == pt.Path || pt.Prefix != "" && strings.HasPrefix(p, pt.Prefix)) && methodMatches(pt.Methods, method) {
			return true
		}
	}
	return false
}

// IsAPIPath reports whether the normalized path is under one of
// API.Prefixes. (Header-based detection, API.Detect, is the caller's.)
func (c *Config) IsAPIPath(path string) bool {
	p, _ := NormalizePath(path)
	for _, pre := range c.API.Prefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func methodMatches(methods []string, m string) bool {
	return len(methods) == 0 || contains(methods, m)
}

// hostMatches compares a route host ("" = any, "example.com",
// "*.example.com") with a request authority, ignoring its port, case and a
// trailing dot.
func hostMatches(pattern, authority string) bool {
	if pattern == "" {
		return true
	}
	h := hostOnly(authority)
	if rest, ok := strings.CutPrefix(pattern, "*"); ok { // rest is ".example.com"
		return len(h) > len(rest) && strings.EqualFold(h[len(h)-len(rest):], rest)
	}
	return strings.EqualFold(h, pattern)
}

func hostOnly(authority string) string {
	h := authority
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[:i+1]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

func stripQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// NormalizePath returns the path part of a request :path (before any '?' or
// '#') in the form routes, pass-through rules and API prefixes are matched
// against, and whether the path was already in that form. Normalizing
// percent-decodes the octets a prefix may hold (letters, digits, "-._~",
// "!$&'()*+,=:@" and '/') and '\', turns '\' into '/', removes
// ";parameters" from segments, merges repeated slashes and resolves "." and
// ".." segments (never above the root); a trailing slash is kept. Other
// escapes (%20, %25, %3B, ...) stay as they are: they cannot change which
// prefix matches. So a prefix "/admin/" also governs "/x/../%61dmin;y//page",
// as most upstream servers would read it.
//
// Upstreams differ in how they read such paths; a filter that wants no doubt
// answers 400 when canonical is false. Ordinary paths, escapes like %20
// included, are canonical, and cost one scan and no allocation.
func NormalizePath(p string) (clean string, canonical bool) {
	p = stripQuery(p)
	if !needsCleaning(p) {
		return p, true
	}
	return cleanPath(p), false
}

func needsCleaning(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\', ';':
			return true
		case '%':
			if _, ok := decodeEscape(p, i); ok {
				return true
			}
		case '/':
			rest := p[i+1:]
			if strings.HasPrefix(rest, "/") || rest == "." || rest == ".." ||
				strings.HasPrefix(rest, "./") || strings.HasPrefix(rest, "../") {
				return true
			}
		}
	}
	return false
}

func cleanPath(p string) string {
	b := make([]byte, 0, len(p)+1)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if d, ok := decodeEscape(p, i); ok {
			c = d
			i += 2
		}
		if c == '\\' {
			c = '/'
		}
		b = append(b, c)
	}
	var segs []string
	trailing := false
	for _, seg := range strings.Split(string(b), "/") {
		seg, _, _ = strings.Cut(seg, ";")
		trailing = false
		switch seg {
		case "":
			trailing = true
		case ".":
			trailing = true
		case "..":
			trailing = true
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
	}
	out := "/" + strings.Join(segs, "/")
	if trailing && len(segs) > 0 {
		out += "/"
	}
	return out
}

// decodeEscape decodes the escape at p[i] if it is one NormalizePath decodes.
func decodeEscape(p string, i int) (byte, bool) {
	if p[i] != '%' || i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
		return 0, false
	}
	d := unhex(p[i+1])<<4 | unhex(p[i+2])
	return d, d == '\\' || isPathChar(d)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
