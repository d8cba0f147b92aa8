package jwt

import (
	"errors"
	"strings"
	"testing"
)

func TestTypeIs(t *testing.T) {
	for _, tt := range []struct {
		typ, want string
		is        bool
	}{
		{"JWT", "JWT", true},
		{"jwt", "JWT", true},
		{"application/jwt", "JWT", true},
		{"Application/JWT", "jwt", true},
		{"at+jwt", "at+jwt", true},
		{"AT+JWT", "application/at+jwt", true},
		{"application/at+jwt", "at+jwt", true},
		{"at+jwt", "JWT", false},
		{"application/at+jwt", "JWT", false},
		{"text/jwt", "JWT", false},
		{"application/x/jwt", "x/jwt", false},
		{"application/", "application/", true},
		{"", "JWT", false},
		{"JWT ", "JWT", false},
		{"logout+jwt", "JWT", false},
	} {
		if got := TypeIs(tt.typ, tt.want); got != tt.is {
			t.Errorf("TypeIs(%q, %q) = %v, want %v", tt.typ, tt.want, got, tt.is)
		}
	}
}

func TestCheckType(t *testing.T) {
	for _, tt := range []struct {
		typ      string
		required bool
		allowed  []string
		ok       bool
	}{
		{"", false, []string{TypeJWT}, true},
		{"", true, []string{TypeAccessToken}, false},
		{"JWT", false, []string{TypeJWT}, true},
		{"at+jwt", false, []string{TypeJWT}, false},
		{"at+jwt", true, []string{TypeJWT, TypeAccessToken}, true},
		{"\"forged\r\n", false, []string{TypeJWT}, false},
	} {
		h := Header{Type: tt.typ}
		err := h.CheckType(tt.required, tt.allowed...)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrType) {
			t.Errorf("typ %q required %v allowed %v: %v", tt.typ, tt.required, tt.allowed, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error %q holds a raw control character", err)
		}
	}
}
