package oidc

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturnPath(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		max  int
		want string // "" means rejected
	}{
		{"root", "/", 0, "/"},
		{"path", "/dashboard", 0, "/dashboard"},
		{"path with query", "/app/view?id=3&tab=a", 0, "/app/view?id=3&tab=a"},
		{"query may hold a url", "/ok?next=//x", 0, "/ok?next=//x"},
		{"query may hold a backslash", `/ok?q=a\b`, 0, `/ok?q=a\b`},
		{"fragment kept", "/spa#/route?x=1", 0, "/spa#/route?x=1"},
		{"trailing slash kept", "/lab/tree/", 0, "/lab/tree/"},
		{"dot segments cleaned", "/a/./b/../c", 0, "/a/c"},
		{"dot-dot above root", "/../../etc", 0, "/etc"},
		{"inner double slash cleaned", "/a//b", 0, "/a/b"},
		{"dot then double slash", "/.//evil.com", 0, "/evil.com"},
		{"encoded slash inside", "/repos/group%2Fproject", 0, "/repos/group%2Fproject"},
		{"encoded percent", "/100%25", 0, "/100%25"},
		{"encoded unicode", "/caf%C3%A9", 0, "/caf%C3%A9"},
		{"exactly at cap", "/" + strings.Repeat("a", 15), 16, "/" + strings.Repeat("a", 15)},

		{"scheme-relative", "//evil.com", 0, ""},
		{"scheme-relative with path", "//evil.com/login", 0, ""},
		{"triple slash", "///evil.com", 0, ""},
		{"slash backslash", `/\evil.com`, 0, ""},
		{"double backslash", `\\evil.com`, 0, ""},
		{"backslash later in path", `/a\b`, 0, ""},
		{"absolute url", "https://evil.com/", 0, ""},
		{"scheme without slashes", "https:evil.com", 0, ""},
		{"javascript", "javascript:alert(1)", 0, ""},
		{"data", "data:text/html,x", 0, ""},
		{"relative", "evil.com", 0, ""},
		{"dot relative", "./x", 0, ""},
		{"empty", "", 0, ""},
		{"encoded double slash", "%2F%2Fevil.com", 0, ""},
		{"encoded double slash after slash", "/%2F%2Fevil.com", 0, ""},
		{"encoded second slash", "/%2Fevil.com", 0, ""},
		{"lower-case encoded slash", "/%2fevil.com", 0, ""},
		{"encoded backslash", "/%5Cevil.com", 0, ""},
		{"lower-case encoded backslash", "/%5cevil.com", 0, ""},
		{"double-encoded slash", "/%252F%252Fevil.com", 0, ""},
		{"double-encoded backslash", "/%255Cevil.com", 0, ""},
		{"encoded backslash deeper", "/a/%5C/b", 0, ""},
		{"tab before slashes", "\t//evil", 0, ""},
		{"slash tab slash", "/\t/evil.com", 0, ""},
		{"newline", "/a\nb", 0, ""},
		{"CRLF injection", "/a\r\nSet-Cookie: x=1", 0, ""},
		{"CR in query", "/a?x=\r", 0, ""},
		{"encoded tab", "/%09/evil.com", 0, ""},
		{"encoded CRLF", "/a%0D%0ASet-Cookie:x", 0, ""},
		{"encoded NUL", "/a%00", 0, ""},
		{"DEL", "/a\x7f", 0, ""},
		{"space", "/a b", 0, ""},
		{"raw non-ascii", "/café", 0, ""},
		{"bad escape", "/a%zz", 0, ""},
		{"bad escape in query", "/a?x=%zz", 0, ""},
		{"truncated escape in fragment", "/#%", 0, ""},
		{"truncated escape", "/a%2", 0, ""},
		{"overlong", "/" + strings.Repeat("a", 16), 16, ""},
		{"overlong default", "/" + strings.Repeat("a", DefaultMaxReturnPath), 0, ""},
		{"deeply encoded", "/%25252525252F", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SafeReturnPath(tt.raw, tt.max)
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("SafeReturnPath(%q) = %q, %v; want %q", tt.raw, got, ok, tt.want)
			}
			if ok {
				assertSafePath(t, got)
			}
		})
	}
}

// assertSafePath checks the SafeReturnPath guarantees, and that a browser
// resolving the result against the app's origin stays on that origin.
func assertSafePath(t testing.TB, p string) {
	t.Helper()
	if len(p) == 0 || p[0] != '/' {
		t.Fatalf("%q does not start with /", p)
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		t.Fatalf("%q starts like a scheme-relative URL", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			t.Fatalf("%q has a control character", p)
		}
	}
	base, _ := url.Parse("https://app.example.com/x/y")
	ref, err := url.Parse(p)
	if err != nil {
		t.Fatalf("%q does not parse: %v", p, err)
	}
	if u := base.ResolveReference(ref); u.Host != "app.example.com" || u.Scheme != "https" {
		t.Fatalf("%q resolves to %v", p, u)
	}
}
