package engine

import "strings"

// Request is what the filter reads of an incoming request, gathered from one host call of
// all its headers (ReadRequest).
type Request struct {
	Method, Path, Authority, Scheme string
	PathOnly, Query                 string // Path cut at its first '?'
	Cookie                          string // all Cookie headers joined with "; "
	Accept, SecFetchMode            string
	SecFetchSite, Origin            string
	XRequestedWith, Authorization   string
	RequestID                       string
	// Upgrade is the protocol a WebSocket (or other) upgrade asks for: the Upgrade header, or
	// HTTP/2's extended CONNECT :protocol (RFC 8441); empty for a plain request.
	Upgrade        string
	Authorizations int             // Authorization headers seen (the last one is in Authorization)
	Present        map[string]bool // names, as sent, of headers that normalise to an identity header (to strip)

	// The Cookie header split into its cookies, on the first lookup (see CookieValue).
	split       bool
	cookieParts []string
	partsBuf    [8]string
}

// ReadRequest fills a Request from the header pairs (lower-case names, pseudo-headers
// included). identity lists the names of headers only the filter may set, in their
// normal form (HeaderKey); every header the client sent whose name normalises to one of them
// is noted in Present, under the name as sent, for stripping: X_Auth_Request_Groups and
// x-auth-request_groups as well as x-auth-request-groups, since WSGI, PHP and Rack apps
// read all of them as the same variable. A missing :scheme is https.
func ReadRequest(pairs [][2]string, identity map[string]bool) Request {
	var r Request
	for _, h := range pairs {
		k, v := h[0], h[1]
		switch k {
		case ":method":
			r.Method = v
		case ":path":
			r.Path = v
		case ":authority":
			r.Authority = v
		case ":scheme":
			r.Scheme = v
		case "cookie":
			if r.Cookie == "" {
				r.Cookie = v
			} else {
				r.Cookie += "; " + v
			}
		case "accept":
			r.Accept = v
		case "sec-fetch-mode":
			r.SecFetchMode = v
		case "sec-fetch-site":
			r.SecFetchSite = v
		case "origin":
			r.Origin = v
		case "x-requested-with":
			r.XRequestedWith = v
		case "authorization":
			r.Authorization = v
			r.Authorizations++
		case "x-request-id":
			r.RequestID = v
		case "upgrade", ":protocol":
			r.Upgrade = v
		}
		if identity[HeaderKey(k)] {
			if r.Present == nil {
				r.Present = map[string]bool{}
			}
			r.Present[k] = true
		}
	}
	if r.Scheme == "" {
		r.Scheme = "https"
	}
	r.PathOnly, r.Query, _ = strings.Cut(r.Path, "?")
	return r
}

// HeaderKey is a header name's normal form: lower case, each '_' read as '-'. Names that
// are equal in it reach CGI-style apps (HTTP_X_AUTH_REQUEST_GROUPS) as one variable. A name
// already normal (every header Envoy passes on, but for the rare underscore) is returned as
// is, without allocating.
func HeaderKey(name string) string {
	i := 0
	for ; i < len(name); i++ {
		if c := name[i]; c == '_' || c >= 'A' && c <= 'Z' {
			break
		}
	}
	if i == len(name) {
		return name
	}
	b := []byte(name)
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '_':
			b[i] = '-'
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// CookieValue is the named cookie's value, splitting the Cookie header only once per
// request. A session cookie comes in chunks looked up under up to eight names
// (state.CookieCodec.Join), and each lookup in the raw header scans all of it, several KB;
// in wasm the eight scans cost some 10 us, the split once about 1.5 us.
func (r *Request) CookieValue(name string) (string, bool) {
	if !r.split {
		r.split = true
		r.cookieParts = SplitCookies(r.Cookie, r.partsBuf[:0])
	}
	for _, part := range r.cookieParts {
		if v, ok := CookieIn(part, name); ok {
			return v, true
		}
	}
	return "", false
}

// CorrelationID reports whether an x-request-id can stand as the correlation id in pages, JSON
// bodies and log lines: 1 to 64 characters of [A-Za-z0-9._-] (what Envoy generates: a UUID).
func CorrelationID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
