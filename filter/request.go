package filter

import (
	"strings"
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

// cookieValue returns the value of the named cookie in a Cookie header, without allocating
// a map: the filter looks up few names per request.
func cookieValue(header, name string) (string, bool) {
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ";")
		if v, ok := cookieIn(part, name); ok {
			return v, true
		}
	}
	return "", false
}

// cookieIn returns the value of one "name=value" part of a Cookie header if it is the named
// cookie's.
func cookieIn(part, name string) (string, bool) {
	return trimmedCookieIn(trimLeftSpace(part), name)
}

// trimmedCookieIn is cookieIn for a part without leading spaces and tabs.
func trimmedCookieIn(part, name string) (string, bool) {
	if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
		v := part[len(name)+1:]
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			v = v[:len(v)-1]
		}
		return v, true
	}
	return "", false
}

// trimLeftSpace is strings.TrimLeft(s, " \t") without building a cutset per call.
func trimLeftSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// cookieValue is cookieValue(r.cookie, name), splitting the header only once per request. A
// session cookie comes in chunks looked up under up to eight names (state.CookieCodec.Join),
// and each lookup in the raw header scans all of it, several KB; in wasm the eight scans cost
// some 10 us, the split once about 1.5 us.
func (r *request) cookieValue(name string) (string, bool) {
	if !r.split {
		r.split = true
		r.cookieParts = r.partsBuf[:0]
		for h := r.cookie; h != ""; {
			var part string
			part, h, _ = strings.Cut(h, ";")
			r.cookieParts = append(r.cookieParts, trimLeftSpace(part))
		}
	}
	for _, part := range r.cookieParts {
		if v, ok := trimmedCookieIn(part, name); ok {
			return v, true
		}
	}
	return "", false
}
