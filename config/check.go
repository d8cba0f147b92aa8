package config

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Small syntax checks shared by the validators. Each returns "" when the
// value is acceptable, else the message for the FieldError.

// isIdent reports whether s matches [A-Za-z0-9_-]{1,max}.
func isIdent(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isToken reports whether s is an RFC 7230 token (header names, methods).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isPathChar reports whether c may appear in a configured path or prefix:
// RFC 3986 pchar without '%' (no escapes) and ';' (no parameters), or '/'.
func isPathChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~!$&'()*+,=:@/", c) >= 0
}

// checkPath checks a configured request path or prefix: it starts with '/',
// holds only plain path characters, and is already normalized.
func checkPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "must start with /"
	}
	for i := 0; i < len(p); i++ {
		if !isPathChar(p[i]) {
			return "may hold only letters, digits, / and -._~!$&'()*+,=:@ (no %-escapes, ';', spaces or query)"
		}
	}
	if clean, _ := NormalizePath(p); clean != p {
		return "must be a normalized path (no //, /./ or /../)"
	}
	return ""
}

// hasCtl reports whether s holds an ASCII control character.
func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// checkText checks a free-form value that ends up in a header, URL or form.
func checkText(s string, max int) string {
	switch {
	case hasCtl(s):
		return "must not contain control characters"
	case len(s) > max:
		return "too long (more than " + strconv.Itoa(max) + " bytes)"
	}
	return ""
}

// checkCluster checks an Envoy cluster name (Istio's hold '|').
func checkCluster(s string) string {
	if s == "" {
		return "required"
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return "must be an Envoy cluster name: printable ASCII, no spaces"
		}
	}
	if len(s) > 256 {
		return "too long (more than 256 bytes)"
	}
	return ""
}

// isHostName reports whether s is a DNS name or IPv4 address: dot-separated
// labels of letters, digits, '-' and '_' (not valid DNS, but Docker and
// Compose service names have it and resolvers accept it).
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' && label[i] != '_' {
				return false
			}
		}
	}
	return true
}

// checkAuthority checks an :authority value: host[:port], IPv6 in brackets.
func checkAuthority(s string) string {
	const msg = "must be host or host:port"
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return msg
		}
		host, port = s[1:i], s[i+1:]
		if strings.Trim(host, "0123456789abcdefABCDEF:.") != "" || host == "" {
			return msg
		}
		if port != "" && !strings.HasPrefix(port, ":") {
			return msg
		}
		port = strings.TrimPrefix(port, ":")
	} else if h, p, ok := strings.Cut(s, ":"); ok {
		host, port = h, p
		if !isHostName(host) {
			return msg
		}
	} else if !isHostName(host) {
		return msg
	}
	if port != "" || strings.HasSuffix(s, ":") {
		if n, ok := atoi(port); !ok || n < 1 || n > 65535 {
			return msg + " (port 1-65535)"
		}
	}
	return ""
}

// urlRules are the checks on a configured absolute URL.
type urlRules struct {
	allowHTTP  bool   // http:// is acceptable
	httpHint   string // what makes http:// acceptable, for the message
	allowQuery bool
}

// checkURL checks an absolute http(s) URL. Messages never quote the URL: it
// may hold credentials.
func checkURL(s string, r urlRules) (*url.URL, string) {
	if strings.ContainsAny(s, " \t\r\n") || hasCtl(s) {
		return nil, "must be an absolute URL without spaces or control characters"
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return nil, "must be an absolute URL like https://host/path"
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, "must be an https URL"
	case u.Scheme == "http" && !r.allowHTTP:
		return nil, "must use https (" + r.httpHint + ")"
	case u.User != nil:
		return nil, "must not contain user information"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, "must not have a fragment"
	case !r.allowQuery && (u.RawQuery != "" || u.ForceQuery):
		return nil, "must not have a query"
	}
	if msg := checkAuthority(u.Host); msg != "" {
		return nil, "host " + msg
	}
	return u, ""
}

// isLoopback reports whether a URL host names the local machine.
func isLoopback(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "::1" || strings.HasPrefix(h, "127.")
}

// checkDuration parses a Go duration string within [min, max].
func checkDuration(s string, min, max time.Duration) (time.Duration, string) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, "must be a duration like \"30s\", \"5m\" or \"1h\""
	}
	if d < min || d > max {
		return d, "must be between " + fmtDuration(min) + " and " + fmtDuration(max)
	}
	return d, ""
}

// fmtDuration prints 1h0m0s as 1h, 5m0s as 5m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// decodeSecret decodes a key secret in standard or URL-safe base64, padded
// or not.
func decodeSecret(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// atoi parses a short decimal without sign.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
