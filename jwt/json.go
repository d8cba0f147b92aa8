package jwt

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// MaxJSONDepth bounds nesting in every JSON document this package reads
// (headers, claims, JWKS), and in every provider body oidc reads through
// ValidObject. gjson does not validate and its validator recurses without
// a limit (a 1 MB body nested 500,000 deep grows the stack by 64 MiB), so
// untrusted input passes validJSON first. validJSON recurses at most this
// deep, so its stack is bounded whatever the input.
const MaxJSONDepth = 32

const maxJSONDepth = MaxJSONDepth

// ValidObject reports whether data is exactly one JSON value per RFC 8259
// whose top-level value is an object, with valid UTF-8 inside strings and
// nesting no deeper than MaxJSONDepth. It scans data once, in time linear
// in its length and with bounded stack, so it is safe on any untrusted
// body before gjson reads it.
func ValidObject(data []byte) bool { return isJSONObject(data) }

// validJSON reports whether data is exactly one JSON value per RFC 8259,
// with valid UTF-8 inside strings and nesting no deeper than maxJSONDepth.
// It is the only validation step; gjson then reads the already-valid text.
func validJSON(data []byte) bool {
	s := jsonScanner{data: data}
	s.space()
	if !s.value(0) {
		return false
	}
	s.space()
	return s.i == len(s.data)
}

// isJSONObject reports whether data is a valid JSON document whose top-level
// value is an object.
func isJSONObject(data []byte) bool {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i < len(data) && data[i] == '{' && validJSON(data)
}

type jsonScanner struct {
	data []byte
	i    int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *jsonScanner) space() {
	for s.i < len(s.data) && isSpace(s.data[s.i]) {
		s.i++
	}
}

// peek returns the current byte, or 0 at the end (0 is never valid there).
func (s *jsonScanner) peek() byte {
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

func (s *jsonScanner) value(depth int) bool {
	switch c := s.peek(); {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		return s.string()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

func (s *jsonScanner) object(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.i++ // '{'
	s.space()
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		if s.peek() != '"' || !s.string() {
			return false
		}
		s.space()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.space()
		if !s.value(depth) {
			return false
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *jsonScanner) array(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.i++ // '['
	s.space()
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *jsonScanner) literal(lit string) bool {
	if len(s.data)-s.i < len(lit) || string(s.data[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

func (s *jsonScanner) string() bool {
	s.i++ // opening quote
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.data)-s.i < 5 {
					return false
				}
				for _, h := range s.data[s.i+1 : s.i+5] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 5
			default:
				return false
			}
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.data[s.i:])
			if r == utf8.RuneError && n == 1 {
				return false
			}
			s.i += n
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *jsonScanner) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// nameSet detects repeated member names. Objects here are small (a JOSE
// header has a handful of members, an ID token a few dozen claims), so it
// scans a fixed array first and only allocates a map past it.
type nameSet struct {
	small [32]string
	n     int
	big   map[string]struct{}
}

// add records name and reports whether it was new.
func (s *nameSet) add(name string) bool {
	if s.big != nil {
		if _, dup := s.big[name]; dup {
			return false
		}
		s.big[name] = struct{}{}
		return true
	}
	for _, seen := range s.small[:s.n] {
		if seen == name {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
		s.n++
		return true
	}
	s.big = make(map[string]struct{}, 2*len(s.small))
	for _, seen := range s.small {
		s.big[seen] = struct{}{}
	}
	s.big[name] = struct{}{}
	return true
}

// memberError translates an error from eachMember: a duplicate or too many
// members become sentinel (with what for context); errors from the
// callback, already wrapped, pass through. It is split out so that the
// success path does not pay for errors.As.
func memberError(err error, sentinel error, what string, limit int) error {
	var dup *errDuplicate
	switch {
	case errors.As(err, &dup):
		return fmt.Errorf("%w: %s %s repeated", sentinel, what, quote(dup.name))
	case err == errTooManyMembers:
		return fmt.Errorf("%w: more than %d %ss", sentinel, limit, what)
	}
	return err
}

// errTooManyMembers is returned by eachMember past its member cap.
var errTooManyMembers = errors.New("too many members")

// errDuplicate is returned by eachMember; callers wrap it in their own
// sentinel (ErrDuplicateHeader, ErrMalformed, ErrInvalidKey).
type errDuplicate struct{ name string }

func (e *errDuplicate) Error() string { return fmt.Sprintf("duplicate member %s", quote(e.name)) }

// eachMember calls fn for every member of the JSON object obj, which must
// come from text that passed validJSON, with the member name unescaped. It
// stops at the first error from fn, at a repeated name (*errDuplicate),
// and past maxMembers members (errTooManyMembers, so a hostile document cannot make the
// duplicate check, or the caller, do unbounded work).
func eachMember(obj gjson.Result, maxMembers int, fn func(name string, v gjson.Result) error) error {
	var names nameSet
	var err error
	count := 0
	obj.ForEach(func(k, v gjson.Result) bool {
		count++
		if count > maxMembers {
			err = errTooManyMembers
			return false
		}
		if !names.add(k.Str) {
			err = &errDuplicate{name: k.Str}
			return false
		}
		err = fn(k.Str, v)
		return err == nil
	})
	return err
}

// quote renders an untrusted, non-secret string (a claim value, a kid, a
// member name) for an error message: quoted, escaped and truncated, so a
// hostile token cannot flood or forge log lines.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
