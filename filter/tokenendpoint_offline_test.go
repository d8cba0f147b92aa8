package filter

import (
	"encoding/base64"
	"testing"
)

func TestGrantsOffline(t *testing.T) {
	jwt := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{"offline granted", jwt(`{"scope":"openid offline_access email"}`), true},
		{"online only", jwt(`{"scope":"openid profile email"}`), false},
		{"a longer scope name", jwt(`{"scope":"openid offline_access_x"}`), false},
		{"scope as array", jwt(`{"scope":["offline_access"]}`), false},
		{"no scope", jwt(`{"sub":"u"}`), false},
		{"opaque", "2YotnFZFEjr1zCsicMWpAA", false},
		{"bad base64", "a.!!!.c", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := grantsOffline(tt.token); got != tt.want {
				t.Fatalf("grantsOffline = %v, want %v", got, tt.want)
			}
		})
	}
}
