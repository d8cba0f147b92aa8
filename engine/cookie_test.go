package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		header, name, want string
		ok                 bool
	}{
		{"a=1; b=2", "b", "2", true},
		{"a=1;b=2", "b", "2", true},
		{"  a=1 ;\tb=2  ", "a", "1", true},
		{"xa=1; a=2", "a", "2", true},     // a longer name with the same suffix
		{"a_bind=1; a=2", "a", "2", true}, // a longer name with the same prefix
		{"a=1; a=2", "a", "1", true},      // the first wins
		{"a=; b=2", "a", "", true},        // present and empty
		{"a", "a", "", false},             // no '='
		{"ab=1", "a", "", false},
		{"", "a", "", false},
		{"a=x=y", "a", "x=y", true},
	} {
		got, ok := CookieValue(tc.header, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CookieValue(%q, %q) = %q, %v; want %q, %v", tc.header, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSetCookie(t *testing.T) {
	c := config.Cookie{Path: "/", SameSite: "Lax", Secure: true}
	if got := SetCookie(c, "n", "v", 90*time.Second); got != "n=v; Path=/; Max-Age=90; HttpOnly; Secure; SameSite=Lax" {
		t.Errorf("setCookie = %q", got)
	}
	if got := ClearCookie(config.Cookie{Path: "/x", Domain: "example.com", SameSite: "Strict"}, "n"); !strings.Contains(got, "n=; Path=/x; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970") || strings.Contains(got, "Secure") {
		t.Errorf("clearCookie = %q", got)
	}
}

func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; _oidc_session=0.2.abc; b=2", "_oidc_session")
	f.Add("_oidc_session=; _oidc_session=x", "_oidc_session")
	f.Add(";;= ; \t_oidc_session_1 = x", "_oidc_session_1")
	f.Fuzz(func(t *testing.T, header, name string) {
		v, ok := CookieValue(header, name)
		if !ok {
			if v != "" {
				t.Fatalf("not found but value %q", v)
			}
			return
		}
		if strings.Contains(v, ";") || strings.HasSuffix(v, " ") || !strings.Contains(header, name+"="+v) {
			t.Fatalf("CookieValue(%q, %q) = %q", header, name, v)
		}
	})
}

func TestSplitCookies(t *testing.T) {
	parts := SplitCookies(" a=1;\tb=2 ;c", nil)
	if len(parts) != 3 || parts[0] != "a=1" || parts[1] != "b=2 " || parts[2] != "c" {
		t.Fatalf("parts %q", parts)
	}
	if v, ok := CookieIn(parts[1], "b"); !ok || v != "2" {
		t.Errorf("CookieIn: %q %v", v, ok)
	}
	if got := SetCookie(config.Cookie{Path: "/", SameSite: "None", Secure: true}, "s", "v", 0); strings.Contains(got, "Max-Age") {
		t.Errorf("a browser-session cookie has a Max-Age: %q", got)
	}
}
