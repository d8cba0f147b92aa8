package oidc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	jsonCT = "application/json; charset=utf-8"
	// secretMarker is part of every token value in these tests; no error
	// string may contain it.
	secretMarker = "SECRETVALUE"
)

const aadstsBody = `{"error":"invalid_grant","error_description":"AADSTS500133: Assertion is not within its valid time range. ` +
	`Ensure that the access token is not expired before using it for user assertion, or request a new token. ` +
	`Current time: 2025-03-04T09:12:44.1034521Z, expiry time of assertion 2025-03-04T08:01:02.0000000Z.\r\n` +
	`Trace ID: 2f8c1a47-0c43-4d1e-9b0e-5a1c7b9e2d00\r\nCorrelation ID: 8d7f6e5a-4b3c-2d1e-0f9a-8b7c6d5e4f30\r\nTimestamp: 2025-03-04 09:12:44Z",` +
	`"error_codes":[500133],"timestamp":"2025-03-04 09:12:44Z","trace_id":"2f8c1a47-0c43-4d1e-9b0e-5a1c7b9e2d00",` +
	`"correlation_id":"8d7f6e5a-4b3c-2d1e-0f9a-8b7c6d5e4f30","error_uri":"https://login.microsoftonline.com/error?code=500133"}`

func TestParseTokenResponseOK(t *testing.T) {
	tests := []struct {
		name  string
		ct    string
		body  string
		want  TokenResponse
		until time.Duration // Expiry(now) - now; -1 when no expiry
	}{
		{"keycloak", "application/json", `{"access_token":"at-SECRETVALUE","expires_in":300,"refresh_expires_in":1800,` +
			`"refresh_token":"rt-SECRETVALUE","token_type":"Bearer","id_token":"h.p.s","not-before-policy":0,` +
			`"session_state":"5f3c","scope":"openid email profile"}`,
			TokenResponse{AccessToken: "at-SECRETVALUE", TokenType: "Bearer", RefreshToken: "rt-SECRETVALUE", IDToken: "h.p.s",
				Scope: "openid email profile", ExpiresIn: 300, HasExpiresIn: true}, 300 * time.Second},
		{"entra v2", jsonCT, `{"token_type":"Bearer","scope":"openid profile email https://graph.microsoft.com/User.Read",` +
			`"expires_in":4970,"ext_expires_in":4970,"access_token":"eyJ0eXAi.SECRETVALUE.x","refresh_token":"1.AQ.SECRETVALUE","id_token":"a.b.c"}`,
			TokenResponse{AccessToken: "eyJ0eXAi.SECRETVALUE.x", TokenType: "Bearer", RefreshToken: "1.AQ.SECRETVALUE", IDToken: "a.b.c",
				Scope: "openid profile email https://graph.microsoft.com/User.Read", ExpiresIn: 4970, HasExpiresIn: true}, 4970 * time.Second},
		{"lowercase bearer, no expiry", "", `{"access_token":"x","token_type":"bearer"}`,
			TokenResponse{AccessToken: "x", TokenType: "bearer"}, -1},
		{"expires_in as digit string", "application/json", `{"access_token":"x","token_type":"Bearer","expires_in":"3599"}`,
			TokenResponse{AccessToken: "x", TokenType: "Bearer", ExpiresIn: 3599, HasExpiresIn: true}, 3599 * time.Second},
		{"expires_in zero", "application/json", `{"access_token":"x","token_type":"BEARER","expires_in":0}`,
			TokenResponse{AccessToken: "x", TokenType: "BEARER", HasExpiresIn: true}, 0},
		{"expires_in huge is clamped", "application/json", `{"access_token":"x","token_type":"Bearer","expires_in":99999999999999999999999}`,
			TokenResponse{AccessToken: "x", TokenType: "Bearer", ExpiresIn: maxExpiresIn, HasExpiresIn: true}, maxExpiresIn * time.Second},
		{"nulls are absent", "text/plain", `{"access_token":"x","token_type":"Bearer","refresh_token":null,"expires_in":null,"id_token":null}`,
			TokenResponse{AccessToken: "x", TokenType: "Bearer"}, -1},
		{"whitespace around object", "application/json", " \r\n{\"access_token\":\"x\",\"token_type\":\"Bearer\"}\n",
			TokenResponse{AccessToken: "x", TokenType: "Bearer"}, -1},
		{"problem+json style type", "application/vnd.example+json", `{"access_token":"x","token_type":"Bearer"}`,
			TokenResponse{AccessToken: "x", TokenType: "Bearer"}, -1},
	}
	now := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseTokenResponse(200, tt.ct, []byte(tt.body), 0)
			if err != nil {
				t.Fatal(err)
			}
			if *r != tt.want {
				t.Fatalf("got %+v\nwant %+v", *r, tt.want)
			}
			exp := r.Expiry(now)
			if tt.until < 0 {
				if !exp.IsZero() {
					t.Fatalf("expiry %v, want zero", exp)
				}
			} else if got := exp.Sub(now); got != tt.until {
				t.Fatalf("expiry in %v, want %v", got, tt.until)
			}
		})
	}
}

func TestParseTokenResponseErrors(t *testing.T) {
	tenMB := append(append([]byte(`{"access_token":"SECRETVALUE","token_type":"Bearer","pad":"`), bytes.Repeat([]byte("a"), 10<<20)...), `"}`...)
	tests := []struct {
		name         string
		status       int
		ct, body     string
		want         error
		invalidGrant bool
		transient    bool
		check        func(t *testing.T, err error)
	}{
		{"html login page", 200, "text/html; charset=utf-8", "<!DOCTYPE html><html><body>Sign in</body></html>", ErrNotJSON, false, true, nil},
		{"html with json content type", 200, jsonCT, "<html>SECRETVALUE</html>", ErrNotJSON, false, true, nil},
		{"json with html content type", 200, "text/html", `{"access_token":"SECRETVALUE","token_type":"Bearer"}`, ErrNotJSON, false, true, nil},
		{"invalid json", 200, jsonCT, `{"access_token":"SECRETVALUE",`, ErrNotJSON, false, true, nil},
		{"json array", 200, jsonCT, `[{"access_token":"SECRETVALUE","token_type":"Bearer"}]`, ErrNotJSON, false, true, nil},
		{"json string", 200, jsonCT, `"SECRETVALUE"`, ErrNotJSON, false, true, nil},
		{"form encoded", 200, "application/x-www-form-urlencoded", "access_token=SECRETVALUE&token_type=bearer", ErrNotJSON, false, true, nil},
		{"empty body", 200, jsonCT, "", ErrNotJSON, false, true, nil},
		{"10 MB body", 200, jsonCT, string(tenMB), ErrTooLarge, false, false, nil},
		{"missing access_token", 200, jsonCT, `{"token_type":"Bearer","refresh_token":"SECRETVALUE"}`, ErrMissingParam, false, false, nil},
		{"empty access_token", 200, jsonCT, `{"access_token":"","token_type":"Bearer"}`, ErrMissingParam, false, false, nil},
		{"access_token not a string", 200, jsonCT, `{"access_token":{"v":"SECRETVALUE"},"token_type":"Bearer"}`, ErrMalformed, false, false, nil},
		{"access_token with CRLF", 200, jsonCT, `{"access_token":"SECRETVALUE\r\nX-Injected: 1","token_type":"Bearer"}`, ErrMalformed, false, false, nil},
		{"refresh_token with NUL", 200, jsonCT, `{"access_token":"a","refresh_token":"SECRETVALUE\u0000","token_type":"Bearer"}`, ErrMalformed, false, false, nil},
		{"id_token not a string", 200, jsonCT, `{"access_token":"a","token_type":"Bearer","id_token":1}`, ErrMalformed, false, false, nil},
		{"token_type mac", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"mac"}`, ErrTokenType, false, false, nil},
		{"token_type DPoP", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"DPoP"}`, ErrTokenType, false, false, nil},
		{"token_type N_A outside exchange", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"N_A"}`, ErrTokenType, false, false, nil},
		{"missing token_type", 200, jsonCT, `{"access_token":"SECRETVALUE"}`, ErrMissingParam, false, false, nil},
		{"negative expires_in", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"Bearer","expires_in":-1}`, ErrMalformed, false, false, nil},
		{"fractional expires_in", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"Bearer","expires_in":3600.5}`, ErrMalformed, false, false, nil},
		{"exponent expires_in", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"Bearer","expires_in":3.6e3}`, ErrMalformed, false, false, nil},
		{"negative string expires_in", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"Bearer","expires_in":"-5"}`, ErrMalformed, false, false, nil},
		{"bool expires_in", 200, jsonCT, `{"access_token":"SECRETVALUE","token_type":"Bearer","expires_in":true}`, ErrMalformed, false, false, nil},
		{"duplicate access_token", 200, jsonCT, `{"access_token":"SECRETVALUE1","token_type":"Bearer","access_token":"SECRETVALUE2"}`, ErrDuplicateParam, false, false, nil},
		{"error in a 200", 200, jsonCT, `{"error":"invalid_grant","access_token":"SECRETVALUE","token_type":"Bearer"}`, ErrTokenEndpoint, true, false, nil},
		{"invalid_grant", 400, jsonCT, `{"error":"invalid_grant","error_description":"Token is not active"}`, ErrTokenEndpoint, true, false,
			func(t *testing.T, err error) {
				var te *TokenEndpointError
				if !errors.As(err, &te) || *te != (TokenEndpointError{Status: 400, Code: "invalid_grant", Description: "Token is not active"}) {
					t.Fatalf("%#v", te)
				}
			}},
		{"entra AADSTS invalid_grant", 400, jsonCT, aadstsBody, ErrTokenEndpoint, true, false,
			func(t *testing.T, err error) {
				var te *TokenEndpointError
				errors.As(err, &te)
				if !strings.HasPrefix(te.Description, "AADSTS500133: Assertion is not within its valid time range.") {
					t.Fatalf("description %q", te.Description)
				}
				if strings.ContainsAny(te.Description, "\r\n\t") || strings.Contains(te.Description, "  ") || len(te.Description) > maxDescriptionLen+3 {
					t.Fatalf("description not sanitized: %q", te.Description)
				}
				if te.URI != "https://login.microsoftonline.com/error?code=500133" {
					t.Fatalf("uri %q", te.URI)
				}
			}},
		{"invalid_client", 401, jsonCT, `{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}`, ErrTokenEndpoint, false, false, nil},
		{"temporarily_unavailable", 503, jsonCT, `{"error":"temporarily_unavailable"}`, ErrTokenEndpoint, false, true, nil},
		{"server_error in a 400", 400, jsonCT, `{"error":"server_error"}`, ErrTokenEndpoint, false, true, nil},
		{"description with markup and unicode", 400, jsonCT, `{"error":"invalid_request","error_description":"<script>alert(1)</script>\u2028caf\u00e9\u0007"}`, ErrTokenEndpoint, false, false,
			func(t *testing.T, err error) {
				var te *TokenEndpointError
				errors.As(err, &te)
				if te.Description != "<script>alert(1)</script> caf" {
					t.Fatalf("description %q", te.Description)
				}
			}},
		{"error code with quotes", 400, jsonCT, `{"error":"bad\"code\u0000"}`, ErrTokenEndpoint, false, false,
			func(t *testing.T, err error) {
				var te *TokenEndpointError
				errors.As(err, &te)
				if te.Code != "badcode" {
					t.Fatalf("code %q", te.Code)
				}
			}},
		{"error not a string", 400, jsonCT, `{"error":{"code":"x"}}`, ErrHTTPStatus, false, false, nil},
		{"400 json without error", 400, jsonCT, `{"message":"bad"}`, ErrHTTPStatus, false, false, nil},
		{"502 html from a proxy", 502, "text/html", "<html><h1>502 Bad Gateway</h1></html>", ErrHTTPStatus, false, true,
			func(t *testing.T, err error) {
				var he *HTTPError
				if !errors.As(err, &he) || he.Status != 502 {
					t.Fatalf("%#v", err)
				}
			}},
		{"500 empty", 500, "", "", ErrHTTPStatus, false, true, nil},
		{"429", 429, "text/plain", "slow down", ErrHTTPStatus, false, true, nil},
		{"302 redirect", 302, "text/html", "", ErrHTTPStatus, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseTokenResponse(tt.status, tt.ct, []byte(tt.body), 64<<10)
			if r != nil || !errors.Is(err, tt.want) {
				t.Fatalf("got %+v, %v; want %v", r, err, tt.want)
			}
			if got := IsInvalidGrant(err); got != tt.invalidGrant {
				t.Errorf("IsInvalidGrant = %v", got)
			}
			if got := IsTransient(err); got != tt.transient {
				t.Errorf("IsTransient = %v", got)
			}
			if msg := err.Error(); strings.Contains(msg, secretMarker) || !strings.HasPrefix(msg, "oidc: ") {
				t.Errorf("error string %q", msg)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestParseExchangeResponse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    TokenResponse
		wantErr error
	}{
		{"access token", `{"access_token":"x","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":60}`,
			TokenResponse{AccessToken: "x", IssuedTokenType: TokenTypeAccessToken, TokenType: "Bearer", ExpiresIn: 60, HasExpiresIn: true}, nil},
		{"N_A for a jwt", `{"access_token":"x","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A"}`,
			TokenResponse{AccessToken: "x", IssuedTokenType: TokenTypeJWT, TokenType: "N_A"}, nil},
		{"n_a is case sensitive", `{"access_token":"x","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"n_a"}`, TokenResponse{}, ErrTokenType},
		{"missing issued_token_type", `{"access_token":"x","token_type":"Bearer"}`, TokenResponse{}, ErrMissingParam},
		{"mac", `{"access_token":"x","issued_token_type":"urn:x","token_type":"mac"}`, TokenResponse{}, ErrTokenType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseExchangeResponse(200, "application/json", []byte(tt.body), 0)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && *r != tt.want {
				t.Fatalf("got %+v", *r)
			}
		})
	}
}

func TestParseRevokeResponse(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		ct, body  string
		want      error
		transient bool
	}{
		{"ok", 200, "", "", nil, false},
		{"ok with body", 200, "text/html", "<html>", nil, false},
		{"unsupported token type", 400, "application/json", `{"error":"unsupported_token_type"}`, ErrTokenEndpoint, false},
		{"unavailable", 503, "text/plain", "down", ErrHTTPStatus, true},
		{"bad json error body", 400, "application/json", `{"error":`, ErrHTTPStatus, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ParseRevokeResponse(tt.status, tt.ct, []byte(tt.body))
			if !errors.Is(err, tt.want) || IsTransient(err) != tt.transient {
				t.Fatalf("err = %v, want %v (transient %v)", err, tt.want, tt.transient)
			}
		})
	}
}

func TestParseUserinfoResponse(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		ct      string
		body    string
		sub     string
		wantErr error
	}{
		{"ok", 200, "application/json", `{"sub":"u1","email":"a@example.com"}`, "u1", nil},
		{"other user", 200, "application/json", `{"sub":"u2"}`, "u1", ErrUserinfoSubject},
		{"no expected sub", 200, "application/json", `{"sub":"u1"}`, "", ErrUserinfoSubject},
		{"missing sub", 200, "application/json", `{"email":"a@example.com"}`, "u1", ErrMissingParam},
		{"sub not a string", 200, "application/json", `{"sub":1}`, "1", ErrMalformed},
		{"duplicate sub", 200, "application/json", `{"sub":"u1","sub":"u2"}`, "u1", ErrDuplicateParam},
		{"signed response", 200, "application/jwt", `eyJ.eyJ.sig`, "u1", ErrNotJSON},
		{"unauthorized", 401, "", "", "u1", ErrHTTPStatus},
		{"too large", 200, "application/json", `{"sub":"u1","x":"` + strings.Repeat("a", DefaultMaxResponseBytes) + `"}`, "u1", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := ParseUserinfoResponse(tt.status, tt.ct, []byte(tt.body), 0, tt.sub)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(body) != tt.body {
				t.Fatalf("body %s", body)
			}
		})
	}
}
