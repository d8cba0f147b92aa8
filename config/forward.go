package config

import (
	"slices"
	"strings"
)

// framingHeaders can never be set or removed by the filter: they frame or
// route the request itself.
var framingHeaders = []string{"host", "content-length", "transfer-encoding", "connection",
	"keep-alive", "te", "trailer", "upgrade", "proxy-connection"}

// checkHeaderName validates a header name and returns it in lower case.
func checkHeaderName(name string) (string, string) {
	l := strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, ":"):
		return l, "pseudo-headers are not allowed"
	case !isToken(name):
		return l, "must be an HTTP header name (RFC 7230 token)"
	case len(name) > 128:
		return l, "too long (more than 128 bytes)"
	case contains(framingHeaders, l):
		return l, "must not be " + quote(l) + ": it frames the request"
	}
	return l, ""
}

// setHeader validates a header the filter sets; cookie and set-cookie are
// the filter's own business.
func setHeader(name string) (string, string) {
	l, msg := checkHeaderName(name)
	if msg == "" && (l == "cookie" || l == "set-cookie") {
		msg = "must not be " + quote(l)
	}
	return l, msg
}

func (v *validator) forward() {
	r := &v.r.Forward
	c := &v.c.Forward
	c.AuthorizationBearer = r.AuthorizationBearer
	var names uniq
	header := func(path, name string) string {
		if name == "" {
			return ""
		}
		l, msg := setHeader(name)
		if msg == "" && l == "authorization" {
			msg = "use forward.authorization_bearer to send the access token as Authorization"
		}
		if msg != "" {
			v.add(path, "%s", msg)
			return ""
		}
		if !names.check(v, path, l, "header") {
			return ""
		}
		return l
	}
	c.AccessTokenHeader = header("forward.access_token_header", r.AccessTokenHeader)
	c.IDTokenHeader = header("forward.id_token_header", r.IDTokenHeader)

	// Map order is random: check headers in a fixed order, so that a
	// duplicate is always reported at the same path.
	c.Claims = make(map[string]string, len(r.Claims))
	for _, h := range sortedKeys(r.Claims) {
		p := mapPath("forward.claims", h)
		claim := r.Claims[h]
		l := header(p, h)
		if l == "" {
			continue
		}
		if msg := checkClaimName(claim); msg != "" {
			v.add(p, "%s", msg)
			continue
		}
		c.Claims[l] = claim
	}

	var strip uniq
	for i, h := range r.Strip {
		p := indexPath("forward.strip", i)
		l, msg := checkHeaderName(h)
		if msg != "" {
			v.add(p, "%s", msg)
		} else if strip.check(v, p, l, "header") {
			c.Strip = append(c.Strip, l)
		}
	}

	remove := append([]string(nil), c.Strip...)
	for _, h := range []string{c.AccessTokenHeader, c.IDTokenHeader} {
		if h != "" {
			remove = append(remove, h)
		}
	}
	for h := range c.Claims {
		remove = append(remove, h)
	}
	slices.Sort(remove)
	c.Remove = slices.Compact(remove)
}

// forwardHeaderPath names the forward setting that already uses header l,
// or "".
func (v *validator) forwardHeaderPath(l string) string {
	f := &v.c.Forward
	switch l {
	case "":
		return ""
	case f.AccessTokenHeader:
		return "forward.access_token_header"
	case f.IDTokenHeader:
		return "forward.id_token_header"
	}
	if _, ok := f.Claims[l]; ok {
		for _, h := range sortedKeys(v.r.Forward.Claims) {
			if strings.ToLower(h) == l {
				return mapPath("forward.claims", h)
			}
		}
	}
	return ""
}
