package oidc

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCallback(t *testing.T) {
	issReq := &Metadata{Issuer: "https://sso.example.com/realms/corp", AuthorizationResponseIssParameterSupported: true}
	issOpt := &Metadata{Issuer: "https://accounts.google.com"}
	tests := []struct {
		name    string
		query   string
		max     int
		md      *Metadata
		want    *Callback
		wantErr error
		check   func(t *testing.T, err error)
	}{
		{"google", "state=st1&code=4%2F0AX4Xf&scope=email+openid&authuser=0&prompt=none", 0, issOpt,
			&Callback{Code: "4/0AX4Xf", State: "st1"}, nil, nil},
		{"keycloak with iss", "state=st1&session_state=5f3c&iss=https%3A%2F%2Fsso.example.com%2Frealms%2Fcorp&code=c.1.2", 0, issReq,
			&Callback{Code: "c.1.2", State: "st1", Iss: "https://sso.example.com/realms/corp"}, nil, nil},
		{"optional iss present and equal", "code=c&state=s&iss=https%3A%2F%2Faccounts.google.com", 0, issOpt,
			&Callback{Code: "c", State: "s", Iss: "https://accounts.google.com"}, nil, nil},
		{"no metadata", "code=c&state=s&iss=https%3A%2F%2Fanything", 0, nil,
			&Callback{Code: "c", State: "s", Iss: "https://anything"}, nil, nil},
		{"empty pairs skipped", "&code=c&&state=s&", 0, issOpt, &Callback{Code: "c", State: "s"}, nil, nil},
		{"iss required but missing", "code=c&state=s", 0, issReq, nil, ErrMissingParam, nil},
		{"iss mismatch", "code=c&state=s&iss=https%3A%2F%2Fevil.example.com", 0, issOpt, nil, ErrIssuerMismatch, nil},
		{"iss differs by trailing slash", "code=c&state=s&iss=https%3A%2F%2Faccounts.google.com%2F", 0, issOpt, nil, ErrIssuerMismatch, nil},
		{"iss mismatch on error response", "error=access_denied&state=s&iss=https%3A%2F%2Fevil", 0, issOpt, nil, ErrIssuerMismatch, nil},
		{"duplicate code", "code=c1&state=s&code=c2", 0, issOpt, nil, ErrDuplicateParam, nil},
		{"duplicate state", "state=s1&code=c&state=s2", 0, issOpt, nil, ErrDuplicateParam, nil},
		{"duplicate iss", "code=c&state=s&iss=https%3A%2F%2Faccounts.google.com&iss=https%3A%2F%2Faccounts.google.com", 0, issOpt, nil, ErrDuplicateParam, nil},
		{"duplicate by encoding", "code=c&state=s&%63ode=d", 0, issOpt, nil, ErrDuplicateParam, nil},
		{"duplicate unknown param", "code=c&state=s&x=1&x=2", 0, issOpt, nil, ErrDuplicateParam, nil},
		{"duplicate error", "error=a&error=b", 0, issOpt, nil, ErrDuplicateParam, nil},
		{"missing code", "state=s", 0, issOpt, nil, ErrMissingParam, nil},
		{"empty code", "code=&state=s", 0, issOpt, nil, ErrMissingParam, nil},
		{"missing state", "code=c", 0, issOpt, nil, ErrMissingParam, nil},
		{"empty query", "", 0, issOpt, nil, ErrMissingParam, nil},
		{"bad escape", "code=%zz&state=s", 0, issOpt, nil, ErrMalformed, nil},
		{"bad escape in name", "co%zde=c&state=s", 0, issOpt, nil, ErrMalformed, nil},
		{"too many params", manyParams(maxCallbackParams + 1), 0, issOpt, nil, ErrMalformed, nil},
		{"oversized", "code=" + strings.Repeat("c", 9000) + "&state=s", 0, issOpt, nil, ErrTooLarge, nil},
		{"oversized custom cap", "code=c&state=" + strings.Repeat("s", 100), 64, issOpt, nil, ErrTooLarge, nil},
		{"error", "error=access_denied&error_description=The+user+denied%0D%0Aaccess&state=st9", 0, issOpt, nil, ErrAuthorization,
			func(t *testing.T, err error) {
				var ae *AuthorizationError
				if !errors.As(err, &ae) || *ae != (AuthorizationError{Code: "access_denied", Description: "The user denied access", State: "st9"}) {
					t.Fatalf("%#v", ae)
				}
				if ae.InteractionRequired() {
					t.Fatal("access_denied is not interaction_required")
				}
			}},
		{"error wins over code", "code=c&state=s&error=server_error", 0, issOpt, nil, ErrAuthorization, nil},
		{"silent login required", "error=login_required&state=st&iss=https%3A%2F%2Fsso.example.com%2Frealms%2Fcorp", 0, issReq, nil, ErrAuthorization,
			func(t *testing.T, err error) {
				var ae *AuthorizationError
				if !errors.As(err, &ae) || !ae.InteractionRequired() || ae.State != "st" {
					t.Fatalf("%#v", ae)
				}
			}},
		{"entra error with long description", "error=invalid_request&error_description=AADSTS50011%3A+" + strings.Repeat("x", 2000) + "&state=s", 0, issOpt, nil, ErrAuthorization,
			func(t *testing.T, err error) {
				var ae *AuthorizationError
				errors.As(err, &ae)
				if len(ae.Description) > maxDescriptionLen+3 || !strings.HasPrefix(ae.Description, "AADSTS50011: xxx") {
					t.Fatalf("description %q", ae.Description)
				}
			}},
		{"error code only junk", "error=%22%00&state=s", 0, issOpt, nil, ErrMalformed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := ParseCallback(tt.query, tt.max, tt.md)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want != nil && (cb == nil || *cb != *tt.want) {
				t.Fatalf("got %+v, want %+v", cb, tt.want)
			}
			if err != nil {
				if cb != nil {
					t.Fatal("callback returned with an error")
				}
				if msg := err.Error(); strings.Contains(msg, "st9") || strings.Contains(msg, "c.1.2") {
					t.Errorf("error leaks a value: %q", msg)
				}
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("p")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString("=1")
	}
	return b.String()
}
