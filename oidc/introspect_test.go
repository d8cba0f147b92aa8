package oidc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestIntrospectRequest(t *testing.T) {
	for _, m := range []string{AuthClientSecretBasic, AuthClientSecretPost} {
		r := Introspect("https://op.example.com/introspect", Client{ID: "c", Secret: "s3:cret", AuthMethod: m}, "tok-SECRET", "access_token")
		q, err := url.ParseQuery(string(r.Body))
		if err != nil || r.Method != "POST" || q.Get("token") != "tok-SECRET" || q.Get("token_type_hint") != "access_token" {
			t.Fatalf("%s: %+v %v", m, r, err)
		}
		// Client authentication is the token endpoint's (the one post helper).
		want := CodeExchange("https://op.example.com/introspect", Client{ID: "c", Secret: "s3:cret", AuthMethod: m}, "x", "y", "z")
		if !slices2Equal(r.Headers, want.Headers) || (m == AuthClientSecretPost) != (q.Get("client_secret") == "s3:cret") {
			t.Errorf("%s: headers %v, want %v; body %s", m, r.Headers, want.Headers, r.Body)
		}
	}
}

func slices2Equal(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseIntrospectionResponse(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ct     string
		body   string
		want   *Introspection
		err    error
	}{
		{"active", 200, "application/json", `{"active":true,"sub":"u","client_id":"c","iss":"https://op","scope":"openid  email","exp":1}`,
			&Introspection{Active: true, Subject: "u", ClientID: "c", Issuer: "https://op", Scopes: []string{"openid", "email"}}, nil},
		{"inactive", 200, "application/json", `{"active":false}`, &Introspection{}, nil},
		{"null members", 200, "application/json", `{"active":true,"sub":null}`, &Introspection{Active: true}, nil},
		{"active a string", 200, "application/json", `{"active":"true"}`, nil, ErrMissingParam},
		{"no active", 200, "application/json", `{"sub":"u"}`, nil, ErrMissingParam},
		{"active twice", 200, "application/json", `{"active":false,"active":true}`, nil, ErrDuplicateParam},
		{"numeric sub", 200, "application/json", `{"active":true,"sub":1}`, nil, ErrMalformed},
		{"bad scope", 200, "application/json", `{"active":true,"scope":"a \"b"}`, nil, ErrMalformed},
		{"html", 200, "text/html", `<html>`, nil, ErrNotJSON},
		{"401 error", 401, "application/json", `{"error":"invalid_client"}`, nil, ErrTokenEndpoint},
		{"500", 500, "text/html", `oops`, nil, ErrHTTPStatus},
		{"too large", 200, "application/json", `{"active":true,"x":"` + strings.Repeat("a", 100) + `"}`, nil, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIntrospectionResponse(tt.status, tt.ct, []byte(tt.body), 100)
			if tt.err != nil {
				if got != nil || !errors.Is(err, tt.err) {
					t.Fatalf("%+v %v, want %v", got, err, tt.err)
				}
				return
			}
			if err != nil || got.Active != tt.want.Active || got.Subject != tt.want.Subject || got.ClientID != tt.want.ClientID ||
				got.Issuer != tt.want.Issuer || strings.Join(got.Scopes, " ") != strings.Join(tt.want.Scopes, " ") {
				t.Fatalf("%+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestIntrospectionCheck(t *testing.T) {
	active := &Introspection{Active: true, Subject: "u", ClientID: "c", Issuer: "https://op", Scopes: []string{"openid", "email"}}
	req := IntrospectionRequirements{Subject: "u", ClientID: "c", Issuer: "https://op", Scopes: []string{"email"}}
	tests := []struct {
		name string
		in   *Introspection
		r    IntrospectionRequirements
		err  error
	}{
		{"all match", active, req, nil},
		{"nothing required", &Introspection{Active: true}, IntrospectionRequirements{}, nil},
		{"no iss in the answer", &Introspection{Active: true, Subject: "u", ClientID: "c", Scopes: []string{"email"}}, req, nil},
		{"inactive", &Introspection{}, IntrospectionRequirements{}, ErrInactive},
		{"inactive with members", &Introspection{Subject: "u", ClientID: "c"}, req, ErrInactive},
		{"other subject", &Introspection{Active: true, Subject: "v", ClientID: "c", Scopes: []string{"email"}}, req, ErrIntrospection},
		{"no subject", &Introspection{Active: true, ClientID: "c", Scopes: []string{"email"}}, req, ErrIntrospection},
		{"other client", &Introspection{Active: true, Subject: "u", ClientID: "d", Scopes: []string{"email"}}, req, ErrIntrospection},
		{"no client", &Introspection{Active: true, Subject: "u", Scopes: []string{"email"}}, req, ErrIntrospection},
		{"other issuer", &Introspection{Active: true, Subject: "u", ClientID: "c", Issuer: "https://evil", Scopes: []string{"email"}}, req, ErrIntrospection},
		{"scope missing", &Introspection{Active: true, Subject: "u", ClientID: "c", Scopes: []string{"openid"}}, req, ErrIntrospection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.in.Check(tt.r); !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("%v, want %v", err, tt.err)
			}
		})
	}
}

func FuzzParseIntrospectionResponse(f *testing.F) {
	f.Add(200, `{"active":true,"sub":"u","scope":"a b"}`)
	f.Add(200, `{"active":false}`)
	f.Add(400, `{"error":"invalid_request"}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		in, err := ParseIntrospectionResponse(status, "application/json", []byte(body), 512)
		if err != nil {
			if in != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("in=%v err=%v", in, err)
			}
			return
		}
		if status < 200 || status > 299 || len(body) > 512 {
			t.Fatalf("accepted status %d / %d bytes", status, len(body))
		}
		for _, s := range in.Scopes {
			if !validScopeToken(s) {
				t.Fatalf("scope %q", s)
			}
		}
	})
}
