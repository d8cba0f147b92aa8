package jwt

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

func TestValidJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{" \t\r\n{\"a\" : [1, -0.5e+10, true, false, null, \"\\u00e9\\n\"]} ", true},
		{`"x"`, true},
		{`0`, true},
		{`-0`, true},
		{`1E5`, true},
		{"\"\xc3\xa9\"", true},
		{``, false},
		{`{`, false},
		{`{"a":1,}`, false},
		{`[1,]`, false},
		{`{"a" 1}`, false},
		{`{a:1}`, false},
		{`01`, false},
		{`1.`, false},
		{`.5`, false},
		{`1e`, false},
		{`+1`, false},
		{`NaN`, false},
		{`tru`, false},
		{`"\x"`, false},
		{`"\u12"`, false},
		{"\"a\tb\"", false},
		{"\"\xff\"", false},
		{"\"\xed\xa0\x80\"", false}, // UTF-8 encoded surrogate
		{`{} {}`, false},
		{`{}x`, false},
		{strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), true},
		{strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1), false},
	}
	for _, tt := range tests {
		if got := validJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("validJSON(%q) = %v", tt.in, got)
		}
	}
}

// referenceValid is what validJSON must agree with: encoding/json's
// grammar, plus UTF-8 validity and the depth cap.
func referenceValid(b []byte) bool {
	return json.Valid(b) && utf8.Valid(b) && depth(b) <= maxJSONDepth
}

// depth is the maximum nesting of b, which must be valid JSON.
func depth(b []byte) int {
	d, m, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			d++
			m = max(m, d)
		case c == ']' || c == '}':
			d--
		}
	}
	return m
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}]}`, `"\u00e9"`, `-1.5e-3`, `[`, "\"\xff\"", `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), referenceValid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, reference %v", b, got, want)
		}
	})
}

// FuzzMembers checks that, on any valid object, eachMember sees the names
// and string values encoding/json sees, and finds exactly its duplicates.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"alg":"RS256","kid":"a\"b\\\\"}`, `{"a":1,"\u0061":2}`, `{"k":"\ud83d\ude00","x":[{}]}`, `{"s":"\\\"","t":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !isJSONObject(b) {
			return
		}
		got := map[string]gjson.Result{}
		err := eachMember(gjson.ParseBytes(b), 1<<20, func(name string, v gjson.Result) error {
			got[name] = v
			return nil
		})
		var want map[string]json.RawMessage
		if e := json.Unmarshal(b, &want); e != nil {
			t.Fatalf("encoding/json rejects a valid object: %v", e)
		}
		if _, dup := err.(*errDuplicate); dup {
			if len(want) >= countMembers(b) {
				t.Fatalf("duplicate reported in %q, but names are distinct", b)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(want) != countMembers(b) {
			t.Fatalf("%q: eachMember saw %d names, encoding/json %d", b, len(got), len(want))
		}
		for name, raw := range want {
			v, ok := got[name]
			if !ok {
				t.Fatalf("%q: name %q missing", b, name)
			}
			var s string
			if json.Unmarshal(raw, &s) == nil && (v.Type != gjson.String || v.Str != s) {
				t.Fatalf("%q: member %q: gjson %q, encoding/json %q", b, name, v.Str, s)
			}
		}
	})
}

// countMembers counts the top-level members of a valid object by scanning
// for name-value separators at depth 1.
func countMembers(b []byte) int {
	n, d, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			d++
		case c == ']' || c == '}':
			d--
		case c == ':' && d == 1:
			n++
		}
	}
	return n
}
