package config

import (
	"errors"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// Claim paths name a claim in a JSON object of claims (an ID token's, userinfo's, a bearer
// token's, a session's). A path is one or more object keys separated by dots:
// "realm_access.roles" is the "roles" member of the top-level "realm_access" object, as
// Keycloak nests roles. A backslash escapes the next character, so a key that holds a dot
// is written with "\.": "https://example\.com/roles" is the top-level claim
// "https://example.com/roles", and "\\" is one backslash. Segments only ever name object
// members: a number is a key, never an array index.

// MaxClaimPathSegments bounds a claim path's depth.
const MaxClaimPathSegments = 8

// Claim path errors.
var (
	ErrClaimPathEmptySegment = errors.New("config: claim path has an empty segment (a leading, trailing or doubled dot)")
	ErrClaimPathEscape       = errors.New(`config: claim path has a backslash that escapes neither "." nor "\"`)
	ErrClaimPathDepth        = errors.New("config: claim path has too many segments")
)

// ParseClaimPath splits a claim path into its object keys, unescaped.
func ParseClaimPath(s string) ([]string, error) {
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, ErrClaimPathEscape
			}
			i++
			cur.WriteByte(s[i])
		case '.':
			if cur.Len() == 0 {
				return nil, ErrClaimPathEmptySegment
			}
			segs = append(segs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() == 0 {
		return nil, ErrClaimPathEmptySegment
	}
	segs = append(segs, cur.String())
	if len(segs) > MaxClaimPathSegments {
		return nil, ErrClaimPathDepth
	}
	return segs, nil
}

// FormatClaimPath is ParseClaimPath's inverse: keys joined by dots, dots and backslashes
// in a key escaped.
func FormatClaimPath(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(s); j++ {
			if s[j] == '.' || s[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[j])
		}
	}
	return b.String()
}

// LookupClaim finds the claim at path in the JSON object raw. A path that does not parse
// (config validation rejects those) finds nothing.
func LookupClaim(raw []byte, path string) gjson.Result {
	segs, err := ParseClaimPath(path)
	if err != nil {
		return gjson.Result{}
	}
	return lookupSegments(gjson.ParseBytes(raw), segs)
}

func lookupSegments(r gjson.Result, segs []string) gjson.Result {
	for _, s := range segs {
		if !r.IsObject() {
			return gjson.Result{}
		}
		r = r.Get(gjsonKey(s))
		if !r.Exists() {
			return gjson.Result{}
		}
	}
	return r
}

// gjsonKey escapes one object key so gjson reads it literally.
func gjsonKey(key string) string {
	const special = ".*?|#@\\!=<>%[]{}(),:\"'"
	if !strings.ContainsAny(key, special) {
		return key
	}
	var b strings.Builder
	for _, r := range key {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SelectClaims copies the claims at paths, and always "sub", into a new JSON object with
// the same nesting ({"realm_access":{"roles":[...]}} for "realm_access.roles"). Each claim
// is taken from the first source that has it. Paths that do not parse are skipped.
func SelectClaims(paths []string, sources ...[]byte) []byte {
	root := &claimNode{}
	add := func(segs []string) {
		for _, src := range sources {
			if len(src) == 0 {
				continue
			}
			if r := lookupSegments(gjson.ParseBytes(src), segs); r.Exists() {
				root.set(segs, r.Raw)
				return
			}
		}
	}
	if !slices.Contains(paths, "sub") {
		add([]string{"sub"})
	}
	for _, p := range paths {
		if segs, err := ParseClaimPath(p); err == nil {
			add(segs)
		}
	}
	var b strings.Builder
	root.write(&b)
	return []byte(b.String())
}

// claimNode is an object being built (keys in insertion order) or, with raw set, a value.
type claimNode struct {
	raw  string
	keys []string
	kids map[string]*claimNode
}

// set places raw at segs. A value already at a prefix of segs holds it already; a value set
// at a prefix of paths set before replaces them (it holds them).
func (n *claimNode) set(segs []string, raw string) {
	for i, s := range segs {
		if n.raw != "" {
			return
		}
		if n.kids == nil {
			n.kids = map[string]*claimNode{}
		}
		kid, ok := n.kids[s]
		if !ok {
			kid = &claimNode{}
			n.kids[s] = kid
			n.keys = append(n.keys, s)
		}
		if i == len(segs)-1 {
			if kid.raw == "" {
				*kid = claimNode{raw: raw}
			}
			return
		}
		n = kid
	}
}

func (n *claimNode) write(b *strings.Builder) {
	if n.raw != "" {
		b.WriteString(n.raw)
		return
	}
	b.WriteByte('{')
	for i, k := range n.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonQuote(k))
		b.WriteByte(':')
		n.kids[k].write(b)
	}
	b.WriteByte('}')
}

// jsonQuote is a JSON string for s (s is valid UTF-8 from a parsed JSON key, or config).
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			const hex = "0123456789abcdef"
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// claimPathCovers reports whether the session keeps claim when it keeps kept: kept's keys
// are claim's, or a prefix of them.
func claimPathCovers(kept, claim string) bool {
	k, err1 := ParseClaimPath(kept)
	c, err2 := ParseClaimPath(claim)
	return err1 == nil && err2 == nil && len(k) <= len(c) && slices.Equal(k, c[:len(k)])
}
