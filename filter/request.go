package filter

import (
	"strings"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
)

// request is what the filter reads of an incoming request, gathered from one host call.
type request struct {
	method, path, authority, scheme string
	pathOnly, query                 string
	cookie                          string // all Cookie headers joined with "; "
	accept, secFetchMode            string
	secFetchSite, origin            string
	xRequestedWith, authorization   string
	requestID                       string
	authorizations                  int             // Authorization headers seen (the last one is in authorization)
	present                         map[string]bool // lower-case names of identity headers present (to strip)

	// The Cookie header split into its cookies, on the first lookup (see cookieValue).
	split       bool
	cookieParts []string
	partsBuf    [8]string
}

// readRequest fills a request from the header pairs. identity lists the lower-case names of
// headers only the filter may set; those the client sent are noted for stripping.
func readRequest(pairs [][2]string, identity map[string]bool) request {
	var r request
	for _, h := range pairs {
		k, v := h[0], h[1]
		switch k {
		case ":method":
			r.method = v
		case ":path":
			r.path = v
		case ":authority":
			r.authority = v
		case ":scheme":
			r.scheme = v
		case "cookie":
			if r.cookie == "" {
				r.cookie = v
			} else {
				r.cookie += "; " + v
			}
		case "accept":
			r.accept = v
		case "sec-fetch-mode":
			r.secFetchMode = v
		case "sec-fetch-site":
			r.secFetchSite = v
		case "origin":
			r.origin = v
		case "x-requested-with":
			r.xRequestedWith = v
		case "authorization":
			r.authorization = v
			r.authorizations++
		case "x-request-id":
			r.requestID = v
		}
		if identity[k] {
			if r.present == nil {
				r.present = map[string]bool{}
			}
			r.present[k] = true
		}
	}
	if r.scheme == "" {
		r.scheme = "https"
	}
	r.pathOnly, r.query, _ = strings.Cut(r.path, "?")
	return r
}

// cookieValue is engine.CookieValue(r.cookie, name), splitting the header only once per request. A
// session cookie comes in chunks looked up under up to eight names (state.CookieCodec.Join),
// and each lookup in the raw header scans all of it, several KB; in wasm the eight scans cost
// some 10 us, the split once about 1.5 us.
func (r *request) cookieValue(name string) (string, bool) {
	if !r.split {
		r.split = true
		r.cookieParts = engine.SplitCookies(r.cookie, r.partsBuf[:0])
	}
	for _, part := range r.cookieParts {
		if v, ok := engine.CookieIn(part, name); ok {
			return v, true
		}
	}
	return "", false
}
