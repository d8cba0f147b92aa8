package filter

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// Fuzz targets for the filter's own readers of untrusted input (the Authorization header has
// FuzzBearerToken): the Cookie header and claim values that become request headers.

func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; _oidc_session=0.2.abc; b=2", "_oidc_session")
	f.Add("_oidc_session=; _oidc_session=x", "_oidc_session")
	f.Add(";;= ; \t_oidc_session_1 = x", "_oidc_session_1")
	f.Fuzz(func(t *testing.T, header, name string) {
		v, ok := cookieValue(header, name)
		if !ok {
			if v != "" {
				t.Fatalf("not found but value %q", v)
			}
			return
		}
		if strings.Contains(v, ";") || strings.HasSuffix(v, " ") || !strings.Contains(header, name+"="+v) {
			t.Fatalf("cookieValue(%q, %q) = %q", header, name, v)
		}
	})
}

func FuzzClaimValue(f *testing.F) {
	f.Add(`{"c":"alice"}`)
	f.Add(`{"c":["a","b",1,{"x":1}]}`)
	f.Add(`{"c":"a\r\nX-Injected: 1"}`)
	f.Add(`{"c":"` + strings.Repeat("x", 5000) + `"}`)
	f.Add(`{"c":true}`)
	f.Fuzz(func(t *testing.T, claims string) {
		v := claimValue(gjson.Get(claims, "c"))
		if len(v) > maxClaimHeaderLen {
			t.Fatalf("claim header of %d bytes", len(v))
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("control character %#x in claim header %q", c, v)
			}
		}
	})
}
