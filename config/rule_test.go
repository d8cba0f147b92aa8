package config

import (
	"encoding/json"
	"testing"
)

func TestClaimRuleMatch(t *testing.T) {
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	contains := ClaimRule{Claim: "groups", Op: ClaimContains, Value: "admins"}
	tests := []struct {
		name  string
		rule  ClaimRule
		claim any
		want  bool
	}{
		{"array holds it", contains, decode(`["users","admins"]`), true},
		{"array lacks it", contains, decode(`["users","admins-old"]`), false},
		{"[]string", contains, []string{"admins"}, true},
		{"space-separated string", contains, "read admins write", true},
		{"substring is not a word", contains, "superadmins", false},
		{"number array", contains, decode(`[1,2]`), false},
		{"missing", contains, nil, false},
		{"equals string", ClaimRule{Op: ClaimEquals, Value: "t1"}, "t1", true},
		{"equals other string", ClaimRule{Op: ClaimEquals, Value: "t1"}, "t2", false},
		{"equals true", ClaimRule{Op: ClaimEquals, Value: true}, decode(`true`), true},
		{"equals true, got string", ClaimRule{Op: ClaimEquals, Value: true}, "true", false},
		{"equals number", ClaimRule{Op: ClaimEquals, Value: 3.0}, decode(`3`), true},
		{"equals against an array", ClaimRule{Op: ClaimEquals, Value: "a"}, decode(`["a"]`), false},
		{"equals against an object", ClaimRule{Op: ClaimEquals, Value: "a"}, decode(`{"a":1}`), false},
	}
	for _, tt := range tests {
		if got := tt.rule.Match(tt.claim); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAuthorizationAllows(t *testing.T) {
	claims := map[string]any{"groups": []any{"staff"}, "tid": "t1", "email_verified": true}
	lookup := func(name string) (any, bool) { v, ok := claims[name]; return v, ok }
	staff := ClaimRule{Claim: "groups", Op: ClaimContains, Value: "staff"}
	admins := ClaimRule{Claim: "groups", Op: ClaimContains, Value: "admins"}
	verified := ClaimRule{Claim: "email_verified", Op: ClaimEquals, Value: true}
	missing := ClaimRule{Claim: "nope", Op: ClaimEquals, Value: "x"}
	tests := []struct {
		name    string
		a       *Authorization
		granted []string
		want    bool
	}{
		{"nil allows", nil, nil, true},
		{"all match", &Authorization{Claims: []ClaimRule{staff, verified}, Combine: CombineAll}, nil, true},
		{"all, one fails", &Authorization{Claims: []ClaimRule{staff, admins}, Combine: CombineAll}, nil, false},
		{"any, one matches", &Authorization{Claims: []ClaimRule{admins, verified}, Combine: CombineAny}, nil, true},
		{"any, none match", &Authorization{Claims: []ClaimRule{admins, missing}, Combine: CombineAny}, nil, false},
		{"scopes granted", &Authorization{Scopes: []string{"read"}, Combine: CombineAll}, []string{"openid", "read"}, true},
		{"scope missing", &Authorization{Scopes: []string{"write"}, Claims: []ClaimRule{staff}, Combine: CombineAny}, []string{"read"}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Allows(tt.granted, lookup); got != tt.want {
			t.Errorf("%s: Allows = %v, want %v", tt.name, got, tt.want)
		}
	}
}
