package config

import (
	"net/url"
	"sort"
	"strings"
	"time"
)

const (
	tokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeID     = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeJWT    = "urn:ietf:params:oauth:token-type:jwt"
)

func (v *validator) routes() {
	c := v.c
	c.Routes = make([]Route, len(v.r.Routes))
	var names uniq
	for i := range v.r.Routes {
		r := &v.r.Routes[i]
		p := indexPath("routes", i)
		rt := &c.Routes[i]
		rt.Name = r.Name
		if !isIdent(r.Name, 64) {
			v.add(p+".name", "must match [A-Za-z0-9_-]{1,64}")
		} else {
			names.check(v, p+".name", r.Name, "route name")
		}
		rt.Match = v.match(p+".match", &r.Match)
		a, _ := v.enum(p+".auth", r.Auth, false, AuthSession, AuthBearer, AuthSessionOrBearer, AuthNone)
		rt.Auth = a
		rt.BearerIssuers = v.routeIssuers(p, rt.Auth, r.BearerIssuers)
		v.bearerTokenRules(p, rt, r)
		if r.Exchange != nil {
			if rt.Auth == AuthNone {
				v.add(p+".exchange", "needs an authenticated user: not possible with auth none")
			}
			rt.Exchange = v.exchange(p+".exchange", r.Exchange)
		}
		if r.Authorization != nil {
			if rt.Auth == AuthNone {
				v.add(p+".authorization", "needs an authenticated user: not possible with auth none")
			}
			rt.Authorization = v.authorization(p+".authorization", rt.Auth, r.Authorization)
		}
	}
	v.overlaps()
	c.routeOrder = make([]*Route, len(c.Routes))
	for i := range c.Routes {
		c.routeOrder[i] = &c.Routes[i]
	}
	sort.SliceStable(c.routeOrder, func(i, j int) bool {
		a, b := &c.routeOrder[i].Match, &c.routeOrder[j].Match
		if len(a.Prefix) != len(b.Prefix) {
			return len(a.Prefix) > len(b.Prefix)
		}
		if hostRank(a.Host) != hostRank(b.Host) {
			return hostRank(a.Host) > hostRank(b.Host)
		}
		return len(a.Methods) > 0 && len(b.Methods) == 0
	})
	c.defaultRoute = Route{Match: RouteMatch{Prefix: "/"}, Auth: AuthSession}
}

// bearerTokenRules validates require_typ and accept_id_tokens, which only
// bearer-capable routes use.
func (v *validator) bearerTokenRules(p string, rt *Route, r *rawRoute) {
	usesBearer := rt.Auth == AuthBearer || rt.Auth == AuthSessionOrBearer
	if r.RequireTyp != "" {
		switch {
		case !usesBearer:
			v.add(p+".require_typ", "only used with auth bearer or session_or_bearer")
		case !isMediaType(r.RequireTyp):
			v.add(p+".require_typ", "must be a media type like at+jwt or application/at+jwt")
		default:
			rt.RequireTyp = r.RequireTyp
		}
	}
	if r.AcceptIDTokens {
		switch {
		case !usesBearer:
			v.add(p+".accept_id_tokens", "only used with auth bearer or session_or_bearer")
		case rt.RequireTyp != "" && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(rt.RequireTyp), "application/"), "jwt"):
			v.add(p+".accept_id_tokens", "ID tokens have typ JWT, which require_typ %s refuses", quote(rt.RequireTyp))
		default:
			rt.AcceptIDTokens = true
		}
	}
}

// isMediaType reports whether s is type/subtype or a bare subtype (RFC 6838
// restricted names, at most 127 characters each), as a JOSE typ may be.
func isMediaType(s string) bool {
	t, sub, slash := strings.Cut(s, "/")
	return isRestrictedName(t) && (!slash || isRestrictedName(sub))
}

func isRestrictedName(s string) bool {
	if s == "" || len(s) > 127 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("!#$&^_.+-", rune(c)) {
			return false
		}
	}
	return true
}

// hostRank orders route hosts: exact (2) before wildcard (1) before any (0).
func hostRank(h string) int {
	switch {
	case h == "":
		return 0
	case strings.HasPrefix(h, "*."):
		return 1
	}
	return 2
}

func (v *validator) match(path string, r *rawMatch) RouteMatch {
	m := RouteMatch{Prefix: r.Prefix, Host: strings.ToLower(r.Host)}
	if r.Prefix == "" {
		v.add(path+".prefix", "required")
	} else if msg := checkPath(r.Prefix); msg != "" {
		v.add(path+".prefix", "%s", msg)
	}
	if h := m.Host; h != "" && !isHostName(strings.TrimPrefix(h, "*.")) {
		v.add(path+".host", "must be a host name or \"*.domain\" (no port)")
	}
	m.Methods = v.methods(path+".methods", r.Methods)
	return m
}

// overlaps rejects two routes that would match the same requests with equal
// precedence (same prefix and host, and both without methods or with a
// method in common). A route with methods beside one without is fine: the
// one with methods wins for its methods.
func (v *validator) overlaps() {
	rs := v.c.Routes
	for j := range rs {
		for i := 0; i < j; i++ {
			a, b := &rs[i].Match, &rs[j].Match
			if a.Prefix == b.Prefix && a.Host == b.Host && methodsOverlap(a.Methods, b.Methods) {
				v.add(indexPath("routes", j)+".match", "same prefix, host and methods as routes[%d] (%s)", i, quote(rs[i].Name))
				break
			}
		}
	}
}

func methodsOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	for _, m := range a {
		if contains(b, m) {
			return true
		}
	}
	return false
}

func (v *validator) routeIssuers(path string, auth string, names []string) []*BearerIssuer {
	p := path + ".bearer_issuers"
	usesBearer := auth == AuthBearer || auth == AuthSessionOrBearer
	switch {
	case !usesBearer && len(names) > 0:
		v.add(p, "only used with auth bearer or session_or_bearer")
		return nil
	case usesBearer && len(names) == 0:
		v.add(p, "required for auth %s", auth)
		return nil
	}
	var out []*BearerIssuer
	var u uniq
	for i, name := range names {
		ip := indexPath(p, i)
		if !u.check(v, ip, name, "bearer issuer") {
			continue
		}
		found := false
		for k := range v.c.BearerIssuers {
			if v.c.BearerIssuers[k].Name == name {
				out = append(out, &v.c.BearerIssuers[k])
				found = true
				break
			}
		}
		if !found {
			v.add(ip, "no bearer issuer named %s", quote(name))
		}
	}
	return out
}

func (v *validator) exchange(path string, r *rawExchange) *Exchange {
	e := &Exchange{
		Audience:           r.Audience,
		Resource:           r.Resource,
		SubjectTokenType:   r.SubjectTokenType,
		RequestedTokenType: r.RequestedTokenType,
		Cluster:            r.Cluster,
	}
	t, ok := v.enum(path+".type", r.Type, false, RFC8693, EntraOBO)
	e.Type = t
	e.Scope = v.scopeList(path+".scope", r.Scope)
	if msg := checkText(r.Audience, 1024); msg != "" {
		v.add(path+".audience", "%s", msg)
	}
	if r.Resource != "" {
		if u, err := url.Parse(r.Resource); err != nil || !u.IsAbs() || u.Fragment != "" || hasCtl(r.Resource) || strings.Contains(r.Resource, " ") {
			v.add(path+".resource", "must be an absolute URI without a fragment (RFC 8707)")
		}
	}
	switch {
	case !ok:
	case e.Type == EntraOBO:
		if e.Scope == "" {
			v.add(path+".scope", "required for type entra_obo (e.g. \"api://app/.default\")")
		}
		for _, f := range []struct{ name, val string }{
			{"audience", r.Audience}, {"resource", r.Resource},
			{"subject_token_type", r.SubjectTokenType}, {"requested_token_type", r.RequestedTokenType},
		} {
			if f.val != "" {
				v.add(path+"."+f.name, "only used with type rfc8693")
			}
		}
	case e.Type == RFC8693:
		if r.Audience == "" && r.Resource == "" && e.Scope == "" {
			v.add(path, "type rfc8693 needs at least one of audience, resource and scope")
		}
		if e.SubjectTokenType == "" {
			e.SubjectTokenType = tokenTypeAccess
		}
		if _, ok := v.enum(path+".subject_token_type", e.SubjectTokenType, false, tokenTypeAccess, tokenTypeID, tokenTypeJWT); !ok {
			break
		}
		if rt := r.RequestedTokenType; rt != "" {
			if u, err := url.Parse(rt); err != nil || !u.IsAbs() || hasCtl(rt) || strings.Contains(rt, " ") {
				v.add(path+".requested_token_type", "must be a token type URI like %s", tokenTypeAccess)
			}
		}
	}

	l, msg := setHeader(r.Header)
	if r.Header == "" {
		msg = "must not be empty"
	}
	if msg != "" {
		v.add(path+".header", "%s", msg)
	} else if other := v.forwardHeaderPath(l); other != "" {
		v.add(path+".header", "same header as %s", other)
	}
	e.Header = l
	e.Margin = v.duration(path+".margin", r.Margin, 0, time.Hour)
	if e.Cluster == "" {
		e.Cluster = v.c.Provider.Cluster
	} else if msg := checkCluster(e.Cluster); msg != "" {
		v.add(path+".cluster", "%s", msg)
	}
	if r.TokenEndpoint != "" {
		rules := urlRules{allowHTTP: v.r.Provider.InsecureAllowHTTP, httpHint: insecureHint, allowQuery: true}
		if _, msg := checkURL(r.TokenEndpoint, rules); msg != "" {
			v.add(path+".token_endpoint", "%s", msg)
		} else {
			e.TokenEndpoint = r.TokenEndpoint
		}
	}
	return e
}

// scopeList validates a space-separated scope string and returns it with
// single spaces.
func (v *validator) scopeList(path, s string) string {
	words := strings.Split(s, " ")
	var out []string
	var u uniq
	for _, w := range words {
		if w == "" {
			continue
		}
		if !isScopeToken(w) {
			v.add(path, "must be space-separated RFC 6749 scope tokens")
			return ""
		}
		if u.check(v, path, w, "scope "+quote(w)) {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func (v *validator) authorization(path string, auth string, r *rawAuthorization) *Authorization {
	a := &Authorization{}
	c, _ := v.enum(path+".combine", r.Combine, false, CombineAll, CombineAny)
	a.Combine = c
	if len(r.Scopes) == 0 && len(r.Claims) == 0 {
		v.add(path, "set scopes or claims (an empty authorization allows everyone)")
	}
	var u uniq
	for i, s := range r.Scopes {
		p := indexPath(path+".scopes", i)
		if !isScopeToken(s) {
			v.add(p, "must be an RFC 6749 scope token")
		} else if u.check(v, p, s, "scope") {
			a.Scopes = append(a.Scopes, s)
		}
	}
	sessions := auth == AuthSession || auth == AuthSessionOrBearer
	for i, cr := range r.Claims {
		p := indexPath(path+".claims", i)
		rule, ok := v.claimRule(p, &cr)
		if !ok {
			continue
		}
		if sessions && !v.keepsClaim(rule.Claim) {
			v.add(p+".claim", "%s is not kept in sessions; add it to login.claims", quote(rule.Claim))
		}
		a.Claims = append(a.Claims, rule)
	}
	return a
}

func (v *validator) claimRule(p string, r *rawClaimRule) (ClaimRule, bool) {
	rule := ClaimRule{Claim: r.Claim}
	ok := true
	if msg := checkClaimName(r.Claim); msg != "" {
		v.add(p+".claim", "%s", msg)
		ok = false
	}
	switch {
	case (r.Contains == nil) == (r.Equals == nil):
		v.add(p, "set exactly one of contains and equals")
		return rule, false
	case r.Contains != nil:
		s, isString := r.Contains.(string)
		if !isString {
			v.add(p+".contains", "must be a string")
			return rule, false
		}
		rule.Op, rule.Value = ClaimContains, s
	default:
		rule.Op, rule.Value = ClaimEquals, r.Equals
	}
	return rule, ok
}
