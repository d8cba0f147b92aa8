package oidc

import (
	"strconv"
	"strings"
)

// RequestInfo is what IsAPIRequest looks at: the method, :path and the
// request headers of the same names (empty when absent).
type RequestInfo struct {
	Method         string
	Path           string
	Accept         string
	SecFetchMode   string
	SecFetchDest   string
	XRequestedWith string
	Authorization  string
}

// IsAPIRequest reports whether an unauthenticated request should get a 401
// with WWW-Authenticate (API and script clients) rather than a redirect to
// the provider (browser navigations).
//
// A request is an API request when its path is under one of apiPrefixes
// (segment-wise: "/api" covers "/api" and "/api/x", not "/apix"). With
// detect set it also is when: Sec-Fetch-Mode is present and not
// "navigate" (fetch, XHR, images, scripts); Sec-Fetch-Dest, without
// Sec-Fetch-Mode, names a non-document destination; the method is not GET
// or HEAD; X-Requested-With is present; the Authorization header carries a
// Bearer token; or Accept prefers application/json (or any +json type) over
// text/html. Everything else, including a navigation (Sec-Fetch-Mode:
// navigate) and a client that states no preference, is a navigation.
func IsAPIRequest(r RequestInfo, detect bool, apiPrefixes []string) bool {
	p, _, _ := strings.Cut(r.Path, "?")
	for _, prefix := range apiPrefixes {
		if underPrefix(p, prefix) {
			return true
		}
	}
	if !detect {
		return false
	}
	switch {
	case r.SecFetchMode != "" && !strings.EqualFold(r.SecFetchMode, "navigate"):
		return true
	case r.SecFetchMode == "" && r.SecFetchDest != "" && !documentDest(r.SecFetchDest):
		return true
	case r.Method != "GET" && r.Method != "HEAD":
		return true
	case r.XRequestedWith != "":
		return true
	case isBearer(r.Authorization):
		return true
	}
	return prefersJSON(r.Accept)
}

func underPrefix(p, prefix string) bool {
	if prefix == "" || !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

func documentDest(d string) bool {
	switch strings.ToLower(d) {
	case "document", "iframe", "frame", "embed", "object":
		return true
	}
	return false
}

func isBearer(authz string) bool {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(authz), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(cred) != ""
}

// prefersJSON reports whether an Accept header ranks JSON above HTML: by
// quality, and on a tie by specificity (a listed type beats a wildcard), so
// "application/json, text/plain, */*" is JSON while a browser's
// "text/html,...,*/*;q=0.8" and a bare "*/*" are not.
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	var jsonQ, htmlQ float64 = -1, -1
	var jsonSpec, htmlSpec int
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mt, q := acceptRange(part)
		if mt == "" {
			continue
		}
		if s := jsonSpecificity(mt); s > jsonSpec || (s == jsonSpec && s > 0 && q > jsonQ) {
			jsonQ, jsonSpec = q, s
		}
		if s := htmlSpecificity(mt); s > htmlSpec || (s == htmlSpec && s > 0 && q > htmlQ) {
			htmlQ, htmlSpec = q, s
		}
	}
	if jsonQ <= 0 {
		return false
	}
	return jsonQ > htmlQ || (jsonQ == htmlQ && jsonSpec > htmlSpec)
}

// acceptRange splits one Accept element into its lower-cased media range
// and quality (1 when absent or unparsable).
func acceptRange(part string) (string, float64) {
	mt, params, _ := strings.Cut(part, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	q := 1.0
	for params != "" {
		var kv string
		kv, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(kv, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
	}
	return mt, q
}

// jsonSpecificity: 3 for a JSON type, 2 for application/*, 1 for */*, 0
// when the range does not match JSON.
func jsonSpecificity(mt string) int {
	switch {
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return 3
	case mt == "application/*":
		return 2
	case mt == "*/*":
		return 1
	}
	return 0
}

// htmlSpecificity: 3 for text/html or application/xhtml+xml, 2 for
// text/*, 1 for */*, 0 otherwise.
func htmlSpecificity(mt string) int {
	switch mt {
	case "text/html", "application/xhtml+xml":
		return 3
	case "text/*":
		return 2
	case "*/*":
		return 1
	}
	return 0
}

// WWWAuthenticate returns a WWW-Authenticate value for the Bearer scheme
// (RFC 6750 3). realm is a quoted-string ('"' and '\' escaped); error and
// error_description are restricted to the characters RFC 6750 allows
// (printable ASCII without '"' and '\'), the rest are dropped. Empty
// parameters are omitted: WWWAuthenticate("", "", "") is "Bearer".
func WWWAuthenticate(realm, errCode, description string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	if realm = sanitizeText(realm, maxDescriptionLen); realm != "" {
		b.WriteString(sep + `realm="`)
		for i := 0; i < len(realm); i++ {
			if realm[i] == '"' || realm[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(realm[i])
		}
		b.WriteByte('"')
		sep = ", "
	}
	if errCode = sanitizeCode(errCode); errCode != "" {
		b.WriteString(sep + `error="` + errCode + `"`)
		sep = ", "
	}
	if description = keepErrorChars(sanitizeText(description, maxDescriptionLen), maxDescriptionLen+3); description != "" {
		b.WriteString(sep + `error_description="` + description + `"`)
	}
	return b.String()
}
