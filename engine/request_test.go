package engine

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRequestCookieValue checks that the request's split lookup answers exactly as
// cookieValue on the raw header, including the first-wins rule and whitespace trimming.
func TestRequestCookieValue(t *testing.T) {
	headers := []string{"", "a=1; b=2", "a=1;b=2", "  a=1 ;\tb=2  ", "xa=1; a=2", "a_bind=1; a=2", "a=1; a=2",
		"a=; b=2", "a", "ab=1", "a=x=y", ";;a=1;;", "b=2; a_1=x; a=y; a_2=z"}
	names := []string{"a", "b", "a_1", "a_2", "a_bind", "xa", "c"}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 { // random headers over a small alphabet
		b := make([]byte, rnd.IntN(24))
		for i := range b {
			b[i] = "ab_1=; \t"[rnd.IntN(8)]
		}
		headers = append(headers, string(b))
	}
	for _, h := range headers {
		r := &Request{Cookie: h}
		for range 2 { // the second round reads the split parts
			for _, n := range names {
				got, gotOK := r.CookieValue(n)
				want, wantOK := CookieValue(h, n)
				if got != want || gotOK != wantOK {
					t.Fatalf("Request{Cookie: %q}.CookieValue(%q) = %q, %v; cookieValue gives %q, %v", h, n, got, gotOK, want, wantOK)
				}
			}
		}
	}
}

func TestCorrelationID(t *testing.T) {
	for _, id := range []string{"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "a", "A.b_c-9", strings.Repeat("x", 64)} {
		if !CorrelationID(id) {
			t.Errorf("%q refused", id)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", 65), "a b", "a\"b", "a\nb", "a=b", "ä", "a/b", "a\\b"} {
		if CorrelationID(id) {
			t.Errorf("%q accepted", id)
		}
	}
}

// TestReadRequestIdentitySpellings: every header that normalises to an identity header
// (underscores for hyphens, any letter case) is noted for stripping under the name the client
// sent, since CGI-style apps read X_Auth_Request_Groups as X-Auth-Request-Groups.
func TestReadRequestIdentitySpellings(t *testing.T) {
	identity := map[string]bool{"x-auth-request-groups": true, "x-user": true}
	for _, tc := range []struct {
		name   string
		header string
		strip  bool
	}{
		{"exact", "x-auth-request-groups", true},
		{"underscores", "x_auth_request_groups", true},
		{"mixed separators", "x-auth_request-groups", true},
		{"upper case with underscores", "X_AUTH_REQUEST_GROUPS", true},
		{"mixed case", "X-Auth-Request-Groups", true},
		{"short name with underscore", "x_user", true},
		{"a longer name", "x-auth-request-groups-x", false},
		{"another header", "x-auth-request-group", false},
		{"separators dropped", "xuser", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ReadRequest([][2]string{{":path", "/"}, {tc.header, "forged"}}, identity)
			if r.Present[tc.header] != tc.strip || len(r.Present) != map[bool]int{true: 1}[tc.strip] {
				t.Errorf("Present = %v, want %s stripped: %v", r.Present, tc.header, tc.strip)
			}
		})
	}
}

func TestHeaderKey(t *testing.T) {
	for in, want := range map[string]string{"x-user": "x-user", "X_User": "x-user", "x_USER-id": "x-user-id", "": "", "_": "-"} {
		if got := HeaderKey(in); got != want {
			t.Errorf("HeaderKey(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = HeaderKey("x-auth-request-groups") }); n != 0 {
		t.Errorf("HeaderKey allocates %v times for a normal name", n)
	}
}
