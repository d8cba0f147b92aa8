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
	present                         map[string]bool // lower-case names of identity headers present (to strip)
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
		part = strings.TrimLeft(part, " \t")
		if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
			return strings.TrimRight(part[len(name)+1:], " \t"), true
		}
	}
	return "", false
}
