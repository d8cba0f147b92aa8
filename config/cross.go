package config

import (
	"slices"
	"strings"
)

// crossChecks runs the checks that span sections, once all are resolved.
func (v *validator) crossChecks() {
	c := v.c

	// Exchanged tokens go in their route's header: clients must not send their own.
	for i := range c.Routes {
		if x := c.Routes[i].Exchange; x != nil && x.Header != "" && x.Header != "authorization" {
			c.Forward.Remove = append(c.Forward.Remove, x.Header)
		}
	}
	slices.Sort(c.Forward.Remove)
	c.Forward.Remove = slices.Compact(c.Forward.Remove)

	for _, h := range sortedKeys(v.r.Forward.Claims) {
		claim := v.r.Forward.Claims[h]
		if _, valid := c.Forward.Claims[strings.ToLower(h)]; valid && !v.keepsClaim(claim) {
			v.add(mapPath("forward.claims", h), "claim %s is not kept in sessions; add it to login.claims", quote(claim))
		}
	}

	if c.Login.RequestObject == RequestObjectSigned && c.Client.SigningKey == nil && v.r.Client.PrivateKey == "" && v.r.Client.PrivateKeyEnv == "" {
		v.add("login.request_object", "signed needs the client's private key (client.private_key or client.private_key_env)")
	}

	if total := c.Cookie.MaxChunkSize * c.Cookie.MaxChunks; total > c.Limits.MaxCookieBytes {
		v.add("cookie.max_chunks", "cookie.max_chunk_size × cookie.max_chunks = %d bytes, more than limits.max_cookie_bytes (%d): the filter would refuse its own cookies", total, c.Limits.MaxCookieBytes)
	}

	// The session cookie must reach the endpoints, and the binding cookie
	// the callback.
	if checkPath(c.Cookie.Path) == "" {
		if !cookiePathMatches(c.Cookie.Path, c.paths.signOut) {
			v.add("cookie.path", "%s does not cover the endpoints under prefix %s", quote(c.Cookie.Path), quote(c.Prefix))
		} else if !cookiePathMatches(c.Cookie.Path, c.paths.callback) {
			v.add("cookie.path", "%s does not cover the callback path %s", quote(c.Cookie.Path), quote(c.paths.callback))
		}
	}

	// A cookie domain must cover the host the callback sets it on.
	if c.Cookie.Domain != "" && c.RedirectURL != "" {
		if u, msg := checkURL(c.RedirectURL, urlRules{allowHTTP: true, allowQuery: true}); msg == "" {
			h := strings.ToLower(u.Hostname())
			if h != c.Cookie.Domain && !strings.HasSuffix(h, "."+c.Cookie.Domain) {
				v.add("cookie.domain", "%s does not cover the redirect_url host", quote(c.Cookie.Domain))
			}
		}
	}
}

// cookiePathMatches is RFC 6265 section 5.1.4 path-match.
func cookiePathMatches(cookiePath, reqPath string) bool {
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return len(reqPath) == len(cookiePath) || strings.HasSuffix(cookiePath, "/") || reqPath[len(cookiePath)] == '/'
}
