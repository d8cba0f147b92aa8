// Package logline writes log lines that a reader, or a parser, can trust: a fixed message,
// then key=value pairs. A value is written bare only when it is a plain word (letters,
// digits and _ . : / @ + -); anything else is quoted in Go syntax (strconv.Quote), so no
// value from a request or a provider can end the line, start a pair of its own or pass for
// another key's value. Values are cut at MaxValue bytes.
//
// Keys are the caller's constants (lower case and _); a key that is not is written as
// "badkey" so the mistake shows. The message is the caller's constant too: it is written
// as is and must not hold untrusted text.
package logline

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxValue is the most bytes of one value that are written.
const MaxValue = 256

// Format is msg followed by the pairs of kv (key, value, key, value ...). Values may be
// strings, errors, integers, booleans, durations or fmt.Stringers; a missing last value is
// written as "!missing".
func Format(msg string, kv ...any) string {
	var b strings.Builder
	b.Grow(len(msg) + 24*len(kv))
	b.WriteString(msg)
	for i := 0; i < len(kv); i += 2 {
		b.WriteByte(' ')
		k, _ := kv[i].(string)
		if !isKey(k) {
			k = "badkey"
		}
		b.WriteString(k)
		b.WriteByte('=')
		if i+1 == len(kv) {
			b.WriteString(`"!missing"`)
			break
		}
		writeValue(&b, kv[i+1])
	}
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case time.Duration:
		b.WriteString(v.String())
	case string:
		writeString(b, v)
	case error:
		if v == nil {
			b.WriteString(`""`)
			return
		}
		writeString(b, v.Error())
	case interface{ String() string }:
		writeString(b, v.String())
	case nil:
		b.WriteString(`""`)
	default:
		b.WriteString(`"!unsupported"`)
	}
}

func writeString(b *strings.Builder, s string) {
	cut := false
	if len(s) > MaxValue {
		s, cut = s[:MaxValue], true
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	if !cut && isWord(s) {
		b.WriteString(s)
		return
	}
	if cut {
		s += "..."
	}
	b.WriteString(strconv.Quote(s))
}

func isKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9' || i == 0) {
			return false
		}
	}
	return true
}

// isWord reports whether s can be written bare: non-empty, and only letters, digits and
// _ . : / @ + - (no space, no quote, no '=', nothing outside ASCII).
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '.' || c == ':' || c == '/' || c == '@' || c == '+' || c == '-':
		default:
			return false
		}
	}
	return true
}

// Parse reads a line that Format wrote: the message (the words before the first one with
// an '='), then the pairs, strictly (bare words or Go-quoted strings, one space apart).
// ok is false for anything else. Tests and log readers use it to see which pairs a line
// really has.
func Parse(line string) (msg string, pairs [][2]string, ok bool) {
	rest := line
	for rest != "" {
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		if strings.IndexByte(rest[:end], '=') >= 0 {
			break
		}
		rest = rest[end:]
		if rest != "" {
			rest = rest[1:]
		}
	}
	msg = strings.TrimSuffix(line[:len(line)-len(rest)], " ")
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !isKey(rest[:eq]) {
			return "", nil, false
		}
		k := rest[:eq]
		rest = rest[eq+1:]
		var v string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return "", nil, false
			}
			if v, err = strconv.Unquote(q); err != nil {
				return "", nil, false
			}
			rest = rest[len(q):]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			v, rest = rest[:end], rest[end:]
			if !isWord(v) {
				return "", nil, false
			}
		}
		pairs = append(pairs, [2]string{k, v})
		if rest == "" {
			break
		}
		if rest[0] != ' ' || len(rest) == 1 {
			return "", nil, false
		}
		rest = rest[1:]
	}
	return msg, pairs, true
}
