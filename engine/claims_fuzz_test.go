package engine

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzClaimValue: claim values from tokens become request headers.

func FuzzClaimValue(f *testing.F) {
	f.Add(`{"c":"alice"}`)
	f.Add(`{"c":["a","b",1,{"x":1}]}`)
	f.Add(`{"c":"a\r\nX-Injected: 1"}`)
	f.Add(`{"c":"` + strings.Repeat("x", 5000) + `"}`)
	f.Add(`{"c":true}`)
	f.Fuzz(func(t *testing.T, claims string) {
		v := ClaimValue(gjson.Get(claims, "c"))
		if len(v) > MaxClaimHeaderLen {
			t.Fatalf("claim header of %d bytes", len(v))
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("control character %#x in claim header %q", c, v)
			}
		}
	})
}
