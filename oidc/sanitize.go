package oidc

import "strings"

// Bounds for provider-supplied text that may end up on an error page or in
// a log line.
const (
	maxCodeLen        = 64
	maxDescriptionLen = 300
	maxErrorURILen    = 300
)

// sanitizeText keeps printable ASCII only: every other byte (control
// characters, CR/LF, bytes of multi-byte UTF-8) becomes a space, runs of
// spaces collapse to one, and the result is trimmed and cut to max bytes.
func sanitizeText(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), max+3))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			space = b.Len() > 0
			continue
		}
		if b.Len() >= max {
			b.WriteString("...")
			return b.String()
		}
		if space {
			b.WriteByte(' ')
			space = false
			if b.Len() >= max {
				b.WriteString("...")
				return b.String()
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sanitizeCode keeps the RFC 6749 "error" character set
// (%x20-21 / %x23-5B / %x5D-7E), drops the rest, and bounds the length.
func sanitizeCode(s string) string {
	return keepErrorChars(s, maxCodeLen)
}

// keepErrorChars keeps at most max bytes of s that satisfy isErrorChar.
func keepErrorChars(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if c := s[i]; isErrorChar(c) {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// isErrorChar is the RFC 6749 / RFC 6750 character set for error codes and
// descriptions: printable ASCII without '"' and '\'.
func isErrorChar(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}

// isVSCHAR reports whether s is non-empty and entirely RFC 6749 VSCHAR
// (%x20-7E), the grammar of access and refresh tokens.
func isVSCHAR(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isNQCHAR reports whether c is a scope-token character
// (%x21 / %x23-5B / %x5D-7E, RFC 6749 3.3).
func isNQCHAR(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

// validScopeToken reports whether s is a non-empty RFC 6749 scope-token.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNQCHAR(s[i]) {
			return false
		}
	}
	return true
}
