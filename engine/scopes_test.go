package engine

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestScopesAndClaims(t *testing.T) {
	if got := MissingScopes([]string{"read", "write", "admin"}, []string{"write"}); !slices.Equal(got, []string{"read", "admin"}) {
		t.Errorf("missing %q", got)
	}
	if got := MissingScopes([]string{"read"}, []string{"read", "x"}); got != nil {
		t.Errorf("missing %q, want none", got)
	}
	if got := SessionScopes("opaque-token", []string{"openid"}); !slices.Equal(got, []string{"openid"}) {
		t.Errorf("scopes of an opaque access token: %q, want the requested ones", got)
	}
	at := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"scope":"openid api.read"}`)) + ".c2ln"
	if got := SessionScopes(at, []string{"openid"}); strings.Join(got, " ") != "openid api.read" {
		t.Errorf("scopes of a JWT access token: %q", got)
	}
	noScope := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + ".c2ln"
	if got := SessionScopes(noScope, []string{"openid"}); !slices.Equal(got, []string{"openid"}) {
		t.Errorf("scopes of a JWT without scope: %q", got)
	}
	look := ClaimLookup([]byte(`{"realm_access":{"roles":["a","b"]},"n":1}`))
	if v, ok := look("realm_access.roles"); !ok || len(v.([]any)) != 2 {
		t.Errorf("nested claim: %v %v", v, ok)
	}
	if v, ok := look("n"); !ok || v.(float64) != 1 {
		t.Errorf("number claim: %v %v", v, ok)
	}
	if _, ok := look("missing"); ok {
		t.Error("a missing claim was found")
	}
}
