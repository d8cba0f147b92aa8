package filter

import (
	"strings"
	"unicode"
)

// formMediaType is the only Content-Type a form post callback may carry.
const formMediaType = "application/x-www-form-urlencoded"

// isFormContentType reports whether a Content-Type header value is formMediaType, in any
// case, with well-formed parameters: exactly the values mime.ParseMediaType parses without an
// error as that type. It is written here because the mime package (its type tables, RFC 2231
// decoding and FormatMediaType) cost plugin.wasm about 40 KB of code for this one check;
// mediatype_test.go holds it to mime's answers.
func isFormContentType(v string) bool {
	base, _, _ := strings.Cut(v, ";")
	if !asciiLowerIs(strings.TrimSpace(base), formMediaType) {
		return false
	}
	var seen map[string]string
	for v = v[len(base):]; v != ""; {
		v = strings.TrimLeftFunc(v, unicode.IsSpace)
		if v == "" {
			break
		}
		key, value, rest, ok := mediaParam(v)
		if !ok {
			return strings.TrimSpace(v) == ";" // trailing semicolons are ignored
		}
		if old, dup := seen[key]; dup && old != value {
			return false // duplicate names are allowed only with equal values
		}
		if seen == nil {
			seen = map[string]string{}
		}
		seen[key] = value
		v = rest
	}
	return true
}

// asciiLowerIs reports whether s, lowercased, is lower (which is lowercase ASCII). A
// non-ASCII byte never matches: strings.ToLower, which mime applies, lowers no non-ASCII
// rune to a letter of formMediaType.
func asciiLowerIs(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// mediaParam reads one "; name=value" (value a token or a quoted string) from v, which
// starts after any white space: the lowercased name, the value unquoted, and what follows.
func mediaParam(v string) (key, value, rest string, ok bool) {
	rest, ok = strings.CutPrefix(v, ";")
	if !ok {
		return "", "", "", false
	}
	key, rest = mediaToken(strings.TrimLeftFunc(rest, unicode.IsSpace))
	if key == "" {
		return "", "", "", false
	}
	if rest, ok = strings.CutPrefix(strings.TrimLeftFunc(rest, unicode.IsSpace), "="); !ok {
		return "", "", "", false
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	if !strings.HasPrefix(rest, `"`) {
		value, rest = mediaToken(rest)
		return strings.ToLower(key), value, rest, value != ""
	}
	var b strings.Builder
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '"':
			return strings.ToLower(key), b.String(), rest[i+1:], true
		case c == '\\' && i+1 < len(rest) && isTSpecialByte(rest[i+1]):
			b.WriteByte(rest[i+1]) // an escaped special; any other backslash is literal
			i++
		case c == '\r' || c == '\n':
			return "", "", "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", "", "", false // no closing quote
}

// mediaToken splits v after its leading token (RFC 2045 5.1).
func mediaToken(v string) (token, rest string) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || isTSpecialByte(c) {
			return v[:i], v[i:]
		}
	}
	return v, ""
}

func isTSpecialByte(c byte) bool { return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 }
