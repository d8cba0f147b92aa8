package engine

import (
	"strings"
	"testing"
)

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name, header     string
		token            string
		present, wellFmt bool
	}{
		{"none", "", "", false, false},
		{"basic", "Basic dXNlcjpwYXNz", "", false, false},
		{"scheme prefix of another", "Bearerish abc", "", false, false},
		{"jwt", "Bearer aaa.bbb.ccc", "aaa.bbb.ccc", true, true},
		{"any case, extra spaces", "bEaReR   aaa.bbb-_~+/==  ", "aaa.bbb-_~+/==", true, true},
		{"scheme alone", "Bearer", "", true, false},
		{"empty credential", "Bearer ", "", true, false},
		{"two tokens", "Bearer a b", "", true, false},
		{"padding inside", "Bearer a=b", "", true, false},
		{"tab", "Bearer\ta", "", false, false},
		{"quote", `Bearer "a"`, "", true, false},
		{"comma", "Bearer a,b", "", true, false},
		{"control character", "Bearer a\x00b", "", true, false},
		{"too long", "Bearer " + strings.Repeat("a", 100), "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, present, ok := BearerToken(tc.header, 64)
			if tok != tc.token || present != tc.present || ok != tc.wellFmt {
				t.Errorf("BearerToken(%q) = %q, %v, %v; want %q, %v, %v", tc.header, tok, present, ok, tc.token, tc.present, tc.wellFmt)
			}
			// BearerCredential then IsToken68 (the filter's order around its cache) decides alike.
			cred, cpresent, cok := BearerCredential(tc.header, 64)
			if cpresent != tc.present || (cok && IsToken68(cred)) != tc.wellFmt || tc.wellFmt && cred != tc.token {
				t.Errorf("BearerCredential(%q) = %q, %v, %v", tc.header, cred, cpresent, cok)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer a.b.c", "bearer  x==", "Bearer", "Basic x", "Bearer a b", "Bearer =", "BEARER ~+/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, present, ok := BearerToken(header, 8192)
		if ok != (tok != "") || ok && !present {
			t.Fatalf("BearerToken(%q) = %q, %v, %v", header, tok, present, ok)
		}
		if !ok {
			return
		}
		if !IsToken68(tok) || strings.ContainsAny(tok, " \t\r\n\",;") {
			t.Fatalf("accepted a token that is not a token68: %q", tok)
		}
		if again, _, ok := BearerToken("Bearer "+tok, 8192); !ok || again != tok {
			t.Fatalf("round trip of %q gave %q", tok, again)
		}
	})
}

func TestTokenScopes(t *testing.T) {
	for _, tc := range []struct{ claims, want string }{
		{`{}`, ``},
		{`{"scope":"a b  c"}`, `a b c`},
		{`{"scp":"a b"}`, `a b`},
		{`{"scp":["a","b",1]}`, `a b`},
		{`{"scope":"a","scp":["b"]}`, `a b`},
		{`{"scope":["a"]}`, ``},
	} {
		if got := strings.Join(TokenScopes([]byte(tc.claims)), " "); got != tc.want {
			t.Errorf("TokenScopes(%s) = %q, want %q", tc.claims, got, tc.want)
		}
	}
}
