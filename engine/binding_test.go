package engine

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestValidBinding(t *testing.T) {
	minted := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name, v string
		want    bool
	}{
		{"minted", minted, true},
		{"url alphabet", strings.Repeat("-_aZ", 10) + "abc", true},
		{"empty", "", false},
		{"one short", minted[:BindingLen-1], false},
		{"one long", minted + "A", false},
		{"padded std alphabet", strings.Repeat("+/", 21) + "=", false},
		{"cookie syntax", strings.Repeat("a", BindingLen-1) + ";", false},
	} {
		if got := ValidBinding(tc.v); got != tc.want {
			t.Errorf("%s: ValidBinding(%q) = %v, want %v", tc.name, tc.v, got, tc.want)
		}
	}
}

func FuzzValidBinding(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	f.Add("")
	f.Add(strings.Repeat("+", BindingLen))
	f.Fuzz(func(t *testing.T, v string) {
		if !ValidBinding(v) {
			return
		}
		if len(v) != BindingLen || strings.ContainsAny(v, "+/=; ") {
			t.Fatalf("accepted %q", v)
		}
	})
}
