package config

import (
	"net/url"
	"strings"
)

// endpointsUnder checks prefix, redirect_url and post_logout_redirect_url
// and derives the endpoint paths.
func (v *validator) endpointsUnder() {
	r := v.r
	c := v.c
	if msg := checkPath(r.Prefix); msg != "" {
		v.add("prefix", "%s", msg)
	} else if r.Prefix == "/" || strings.HasSuffix(r.Prefix, "/") {
		v.add("prefix", "must not end with /")
	}
	c.Prefix = r.Prefix
	c.paths = endpointPaths{
		callback:  r.Prefix + "/callback",
		signIn:    r.Prefix + "/sign_in",
		signOut:   r.Prefix + "/sign_out",
		signedOut: r.Prefix + "/signed_out",
		userinfo:  r.Prefix + "/userinfo",
		token:     r.Prefix + "/token",

		tokenScript: r.Prefix + "/tokens.js",

		backchannelLogout: r.Prefix + "/backchannel_logout",
	}

	httpOK := v.r.Provider.InsecureAllowHTTP
	if r.RedirectURL != "" {
		if u, msg := v.ownURL(r.RedirectURL, httpOK); msg != "" {
			v.add("redirect_url", "%s", msg)
		} else if p := u.EscapedPath(); checkPath(p) != "" || p == "/" {
			v.add("redirect_url", "its path must be a plain, normalized path other than / (it is the callback path)")
		} else if p != c.paths.callback && (p == c.paths.signIn || p == c.paths.signOut || p == c.paths.signedOut || p == c.paths.userinfo || p == c.paths.token || p == c.paths.backchannelLogout) {
			v.add("redirect_url", "its path %s is already another endpoint's", quote(p))
		} else {
			c.paths.callback = p
		}
		c.RedirectURL = r.RedirectURL
	}

	if pl := r.PostLogoutRedirectURL; pl != "" {
		if strings.HasPrefix(pl, "/") {
			if strings.HasPrefix(pl, "//") || strings.ContainsAny(pl, "\\ ") || hasCtl(pl) {
				v.add("post_logout_redirect_url", "must be an absolute URL or a path starting with a single / (no spaces or backslashes)")
			}
		} else if _, msg := v.ownURL(pl, httpOK); msg != "" {
			v.add("post_logout_redirect_url", "%s", msg)
		}
		c.PostLogoutRedirectURL = pl
	}
	var hosts uniq
	for i, h := range r.AllowedHosts {
		p := indexPath("allowed_hosts", i)
		l := strings.ToLower(h)
		if msg := checkAuthority(l); msg != "" || l == "" {
			v.add(p, "must be host or host:port (IPv6 in brackets), like apps.example.com or apps.example.com:8443")
		} else if hosts.check(v, p, l, "host") {
			c.AllowedHosts = append(c.AllowedHosts, l)
		}
	}
	if c.RedirectURL != "" {
		u, _ := url.Parse(c.RedirectURL)
		if u != nil {
			c.redirectOrigin = u.Scheme + "://" + u.Host
		}
	}
}

// ownURL checks a URL of the protected site itself: https, or http for
// loopback hosts or with provider.insecure_allow_http.
func (v *validator) ownURL(s string, httpOK bool) (*url.URL, string) {
	pu, msg := checkURL(s, urlRules{allowHTTP: true, allowQuery: true})
	if msg != "" {
		return nil, msg
	}
	if pu.Scheme == "http" && !httpOK && !isLoopback(pu.Hostname()) {
		return nil, "must use https (http only for loopback hosts, or with provider.insecure_allow_http)"
	}
	return pu, ""
}

func (v *validator) scopes() {
	var u uniq
	openid := false
	for i, s := range v.r.Scopes {
		p := indexPath("scopes", i)
		if !isScopeToken(s) {
			v.add(p, "must be an RFC 6749 scope token (printable ASCII, no spaces, quotes or backslashes)")
			continue
		}
		if u.check(v, p, s, "scope") {
			v.c.Scopes = append(v.c.Scopes, s)
		}
		openid = openid || s == "openid"
	}
	if !openid {
		v.add("scopes", "must contain \"openid\"")
	}
	v.c.scope = strings.Join(v.c.Scopes, " ")
}

// isScopeToken: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 3.3).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// reservedAuthParams are set by the filter on every authorization request.
var reservedAuthParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "response_mode", "request", "request_uri",
	"dpop_jkt", // with dpop.enabled
}

func (v *validator) extraAuthParams() {
	v.c.ExtraAuthParams = make(map[string]string, len(v.r.ExtraAuthParams))
	for _, name := range sortedKeys(v.r.ExtraAuthParams) {
		val := v.r.ExtraAuthParams[name]
		p := mapPath("extra_auth_params", name)
		switch {
		case contains(reservedAuthParams, name):
			v.add(p, "reserved: the filter sets this parameter itself")
		case name == "acr_values":
			// Sent here it would never be checked: a user who deletes it from the
			// authorization URL would get the weaker login accepted.
			v.add(p, "use login.acr_values, which also checks the ID token's acr")
		case name == "max_age":
			v.add(p, "use session.max_age, which also checks the ID token's auth_time")
		case !isParamName(name):
			v.add(p, "the name must be letters, digits, '_', '-' or '.'")
		case checkText(val, 2048) != "":
			v.add(p, "%s", checkText(val, 2048))
		default:
			v.c.ExtraAuthParams[name] = val
		}
	}
}

func isParamName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

const (
	minKeyBytes = 32
	maxKeyBytes = 1024
)

func (v *validator) keys() {
	if len(v.r.Keys) == 0 {
		v.add("keys", "required: at least one key of %d or more random bytes, base64", minKeyBytes)
		return
	}
	var ids uniq
	for i, k := range v.r.Keys {
		p := indexPath("keys", i)
		ok := true
		if !isIdent(k.ID, 16) {
			v.add(p+".id", "must match [A-Za-z0-9_-]{1,16}")
			ok = false
		} else if !ids.check(v, p+".id", k.ID, "key id") {
			ok = false
		}
		// Messages describe the secret; they never quote it.
		encoded, at, from, found := v.secret(p, k.Secret, k.SecretEnv, "required")
		if !found {
			continue
		}
		secret, decoded := decodeSecret(encoded)
		switch {
		case !decoded:
			v.add(at, "%smust be base64 (standard or URL alphabet, padding optional)", from)
		case len(secret) < minKeyBytes:
			v.add(at, "%sdecodes to %d bytes, need at least %d", from, len(secret), minKeyBytes)
		case len(secret) > maxKeyBytes:
			v.add(at, "%sdecodes to %d bytes, at most %d", from, len(secret), maxKeyBytes)
		default:
			if ok {
				v.c.Keys = append(v.c.Keys, Key{ID: k.ID, Secret: secret, SecretEnv: k.SecretEnv})
			}
		}
	}
}

func (v *validator) logLevel() {
	l, _ := v.enum("log_level", v.r.LogLevel, true,
		LogTrace, LogDebug, LogInfo, LogWarn, LogError, LogCritical)
	v.c.LogLevel = l
}
