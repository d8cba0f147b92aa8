package oidc

import (
	"net/url"
	"path"
	"strings"
)

// DefaultMaxReturnPath is the cap SafeReturnPath applies when maxLen <= 0.
const DefaultMaxReturnPath = 2048

// maxDecodeRounds is how many layers of percent-encoding SafeReturnPath
// peels off when looking for a hidden "//" or "\".
const maxDecodeRounds = 3

// SafeReturnPath checks a post-login return target (from the sealed state,
// a sign_in?rd= parameter or the original request) and returns it cleaned,
// or ok=false, in which case the caller uses "/".
//
// Only same-origin relative paths pass: the input must start with a single
// "/" and be printable ASCII; absolute and scheme-relative URLs ("//evil",
// "/\evil", "https:evil"), backslashes anywhere in the path, control
// characters (browsers strip tab and newline, turning "/\t/evil" into
// "//evil") and percent-encoded forms of these ("/%2F%2Fevil", "/%5Cevil",
// double-encoded too) are rejected, as is anything over maxLen bytes
// ([DefaultMaxReturnPath] when <= 0).
//
// The path is cleaned (dot segments and repeated slashes removed, a
// trailing slash kept); the query and fragment are kept as they are (their
// percent escapes must be well formed), so "/ok?next=//x" is fine. Any accepted result starts with "/", its second
// byte is neither "/" nor "\", and it has no control characters.
func SafeReturnPath(raw string, maxLen int) (string, bool) {
	if maxLen <= 0 {
		maxLen = DefaultMaxReturnPath
	}
	if raw == "" || len(raw) > maxLen || raw[0] != '/' {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] > '~' {
			return "", false
		}
	}
	p, rest := raw, ""
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		p, rest = raw[:i], raw[i:]
	}
	if !safePathPart(p) || !wellFormedEscapes(rest) {
		return "", false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean + rest, true
}

// wellFormedEscapes reports whether every '%' in s starts a %XX escape.
func wellFormedEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// safePathPart checks the path before the query, and each percent-decoded
// form of it, for the open-redirect shapes.
func safePathPart(p string) bool {
	for round := range maxDecodeRounds + 1 {
		if len(p) == 0 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < ' ' || p[i] == 0x7f {
				return false
			}
		}
		if !strings.Contains(p, "%") {
			return true
		}
		d, err := url.PathUnescape(p)
		if err != nil {
			// The input itself must be well-formed; a decoded layer may
			// hold a literal '%' ("/100%25" is "/100%").
			return round > 0
		}
		p = d
	}
	// Still percent-encoded after maxDecodeRounds: no legitimate path is.
	return false
}
