package filter

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
		got, ok := cookieValue(tc.header, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cookieValue(%q, %q) = %q, %v; want %q, %v", tc.header, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSetCookie(t *testing.T) {
	c := config.Cookie{Path: "/", SameSite: "Lax", Secure: true}
	if got := setCookie(c, "n", "v", 90*time.Second); got != "n=v; Path=/; Max-Age=90; HttpOnly; Secure; SameSite=Lax" {
		t.Errorf("setCookie = %q", got)
	}
	if got := clearCookie(config.Cookie{Path: "/x", Domain: "example.com", SameSite: "Strict"}, "n"); !strings.Contains(got, "n=; Path=/x; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970") || strings.Contains(got, "Secure") {
		t.Errorf("clearCookie = %q", got)
	}
}

func TestSelectClaims(t *testing.T) {
	id := []byte(`{"sub":"u1","email":"id@example.com","a.b":1,"groups":["x"],"secret":"s","realm_access":{"roles":["r"],"other":1}}`)
	info := []byte(`{"sub":"u1","email":"info@example.com","name":"N"}`)
	if got := string(selectClaims(id, []string{"email", `a\.b`, "groups", "missing", "realm_access.roles"})); got != `{"sub":"u1","email":"id@example.com","a.b":1,"groups":["x"],"realm_access":{"roles":["r"]}}` {
		t.Errorf("ID token only: %s", got)
	}
	if got := string(selectClaims(id, []string{"sub", "email", "name"}, info)); got != `{"sub":"u1","email":"info@example.com","name":"N"}` {
		t.Errorf("with userinfo: %s", got)
	}
}
