package config

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseClaimPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		want []string
		err  error
	}{
		{"top level", "email", []string{"email"}, nil},
		{"nested", "realm_access.roles", []string{"realm_access", "roles"}, nil},
		{"client roles", "resource_access.apps-gateway.roles", []string{"resource_access", "apps-gateway", "roles"}, nil},
		{"escaped dot", `https://example\.com/roles`, []string{"https://example.com/roles"}, nil},
		{"escaped dot then nested", `https://example\.com/claims.roles`, []string{"https://example.com/claims", "roles"}, nil},
		{"escaped backslash", `a\\b`, []string{`a\b`}, nil},
		{"escaped backslash before a dot", `a\\.b`, []string{`a\`, "b"}, nil},
		{"leading dot", ".a", nil, ErrClaimPathEmptySegment},
		{"trailing dot", "a.", nil, ErrClaimPathEmptySegment},
		{"doubled dot", "a..b", nil, ErrClaimPathEmptySegment},
		{"empty", "", nil, ErrClaimPathEmptySegment},
		{"escaped dot alone is a key", `\.`, []string{"."}, nil},
		{"stray backslash", `a\b`, nil, ErrClaimPathEscape},
		{"trailing backslash", `a\`, nil, ErrClaimPathEscape},
		{"eight segments", "a.b.c.d.e.f.g.h", []string{"a", "b", "c", "d", "e", "f", "g", "h"}, nil},
		{"nine segments", "a.b.c.d.e.f.g.h.i", nil, ErrClaimPathDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClaimPath(tt.path)
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseClaimPath(%q) = %q, %v; want %q, %v", tt.path, got, err, tt.want, tt.err)
			}
			if err == nil {
				if back := FormatClaimPath(got); back != tt.path {
					t.Errorf("FormatClaimPath(%q) = %q, want %q", got, back, tt.path)
				}
			}
		})
	}
}

const keycloakIDToken = `{"sub":"u1","email":"alice@example.com","groups":["/admins","/staff"],
 "realm_access":{"roles":["app-user","app-admin"]},
 "resource_access":{"apps-gateway":{"roles":["viewer","editor"]},"reports-api":{"roles":["reader"]}},
 "https://example.com/roles":["url-named"],
 "https://example":{"com/roles":["nested-lookalike"]},
 "odd*key?":"odd", "list":[{"a":1}], "n":{"0":"zero"}}`

func TestLookupClaim(t *testing.T) {
	tests := []struct {
		path string
		want string // Raw, "" when absent
	}{
		{"email", `"alice@example.com"`},
		{"realm_access.roles", `["app-user","app-admin"]`},
		{"resource_access.apps-gateway.roles", `["viewer","editor"]`},
		{"resource_access.reports-api", `{"roles":["reader"]}`},
		{`https://example\.com/roles`, `["url-named"]`},
		{`https://example.com/roles`, `["nested-lookalike"]`},
		{"odd*key?", `"odd"`},
		{"realm_access.missing", ""},
		{"email.x", ""},   // not an object
		{"list.0.a", ""},  // numbers are keys, never array indexes
		{"groups.0", ""},  // likewise
		{"n.0", `"zero"`}, // a key that is a number
		{"realm_access.roles.#", ""},
		{`bad\x`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := LookupClaim([]byte(keycloakIDToken), tt.path).Raw; got != tt.want {
				t.Fatalf("LookupClaim(%q) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}

func TestSelectClaims(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string
		sources []string
		want    string
	}{
		{"nested kept nested", []string{"email", "realm_access.roles", "resource_access.apps-gateway.roles"},
			[]string{keycloakIDToken},
			`{"sub":"u1","email":"alice@example.com","realm_access":{"roles":["app-user","app-admin"]},"resource_access":{"apps-gateway":{"roles":["viewer","editor"]}}}`},
		{"escaped key", []string{`https://example\.com/roles`}, []string{keycloakIDToken},
			`{"sub":"u1","https://example.com/roles":["url-named"]}`},
		{"prefix first holds the deeper path", []string{"resource_access", "resource_access.reports-api.roles"}, []string{keycloakIDToken},
			`{"sub":"u1","resource_access":{"apps-gateway":{"roles":["viewer","editor"]},"reports-api":{"roles":["reader"]}}}`},
		{"prefix later replaces the deeper path", []string{"resource_access.reports-api.roles", "resource_access"}, []string{keycloakIDToken},
			`{"sub":"u1","resource_access":{"apps-gateway":{"roles":["viewer","editor"]},"reports-api":{"roles":["reader"]}}}`},
		{"first source wins per path", []string{"email", "realm_access.roles"},
			[]string{`{"email":"fresh@example.com"}`, keycloakIDToken},
			`{"sub":"u1","email":"fresh@example.com","realm_access":{"roles":["app-user","app-admin"]}}`},
		{"absent skipped", []string{"nope.nope", "email"}, []string{`{"sub":"x","email":"e"}`}, `{"sub":"x","email":"e"}`},
		{"quotes in keys", []string{`a"b.c`}, []string{`{"sub":"s","a\"b":{"c":1}}`}, `{"sub":"s","a\"b":{"c":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src [][]byte
			for _, s := range tt.sources {
				src = append(src, []byte(s))
			}
			got := SelectClaims(tt.paths, src...)
			if !json.Valid(got) {
				t.Fatalf("SelectClaims = %s: not JSON", got)
			}
			if string(got) != tt.want {
				t.Fatalf("SelectClaims = %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The nested claims a Keycloak session keeps pass config validation, in login.claims,
// forward.claims and claim rules; a forward claim under a kept object is kept too.
func TestNestedClaimsConfig(t *testing.T) {
	tests := []struct {
		name    string
		patch   string
		wantErr string
	}{
		{"nested everywhere", `"login": {"claims": ["sub", "realm_access.roles", "resource_access"]},
		  "forward": {"claims": {"X-Roles": "realm_access.roles", "X-Client-Roles": "resource_access.apps-gateway.roles"}},
		  "routes": [{"name": "a", "match": {"prefix": "/a/"}, "authorization": {"claims": [{"claim": "realm_access.roles", "contains": "app-admin"}]}}]`, ""},
		{"escaped", `"login": {"claims": ["https://example\\.com/roles"]}, "forward": {"claims": {"X-R": "https://example\\.com/roles"}}`, ""},
		{"forward not kept", `"login": {"claims": ["realm_access.roles"]}, "forward": {"claims": {"X-R": "realm_access"}}`,
			`forward.claims["X-R"]: claim "realm_access" is not kept in sessions`},
		{"rule not kept", `"login": {"claims": ["sub"]},
		  "routes": [{"name": "a", "match": {"prefix": "/a/"}, "authorization": {"claims": [{"claim": "resource_access.x.roles", "contains": "r"}]}}]`,
			`routes[0].authorization.claims[0].claim: "resource_access.x.roles" is not kept in sessions`},
		{"empty segment", `"login": {"claims": ["realm_access..roles"]}`, "login.claims[0]: claim path has an empty segment"},
		{"stray backslash", `"login": {"claims": ["a\\b"]}`, `login.claims[0]: claim path has a backslash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(claimTestConfig(tt.patch)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func claimTestConfig(patch string) string {
	return `{"provider": {"issuer": "https://op.example.com", "cluster": "op"},
	  "client": {"id": "c", "secret": "s"}, "redirect_url": "https://app.example.com/oauth2/callback",
	  "keys": [{"id": "k1", "secret": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}], ` + patch + `}`
}

func FuzzParseClaimPath(f *testing.F) {
	for _, s := range []string{"email", "realm_access.roles", `https://example\.com/roles`, `a\\.b`, "a..b", `a\`, `\.`, ".", "a.b.c.d.e.f.g.h.i"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ParseClaimPath(s)
		if err != nil {
			if segs != nil {
				t.Fatalf("error %v with segments %q", err, segs)
			}
			return
		}
		if len(segs) == 0 || len(segs) > MaxClaimPathSegments {
			t.Fatalf("%q: %d segments", s, len(segs))
		}
		for _, seg := range segs {
			if seg == "" {
				t.Fatalf("%q: empty segment in %q", s, segs)
			}
		}
		if back := FormatClaimPath(segs); back != s {
			t.Fatalf("round trip: %q -> %q -> %q", s, segs, back)
		}
		// A claim built at exactly that path is found there, and SelectClaims rebuilds it.
		doc := `"v"`
		for i := len(segs) - 1; i >= 0; i-- {
			k, _ := json.Marshal(segs[i])
			doc = "{" + string(k) + ":" + doc + "}"
		}
		if !utf8.ValidString(s) {
			return // config strings are JSON strings: valid UTF-8
		}
		if got := LookupClaim([]byte(doc), s); got.Str != "v" {
			t.Fatalf("LookupClaim(%s, %q) = %q, want v", doc, s, got.Raw)
		}
		sel := SelectClaims([]string{s}, []byte(doc))
		if !json.Valid(sel) || LookupClaim(sel, s).Str != "v" {
			t.Fatalf("SelectClaims(%q, %s) = %s", s, doc, sel)
		}
	})
}
