package oidc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name                    string
		err                     error
		invalidGrant, transient bool
	}{
		{"nil", nil, false, false},
		{"invalid_grant", &TokenEndpointError{Status: 400, Code: "invalid_grant"}, true, false},
		{"wrapped invalid_grant", fmt.Errorf("refresh: %w", &TokenEndpointError{Status: 400, Code: "invalid_grant"}), true, false},
		{"invalid_client", &TokenEndpointError{Status: 401, Code: "invalid_client"}, false, false},
		{"temporarily_unavailable 400", &TokenEndpointError{Status: 400, Code: "temporarily_unavailable"}, false, true},
		{"error body with 500", &TokenEndpointError{Status: 500, Code: "unknown_error"}, false, true},
		{"502", &HTTPError{Status: 502}, false, true},
		{"429", &HTTPError{Status: 429}, false, true},
		{"408", &HTTPError{Status: 408}, false, true},
		{"404", &HTTPError{Status: 404}, false, false},
		{"timeout", fmt.Errorf("callout: %w", ErrTimeout), false, true},
		{"not json", ErrNotJSON, false, true},
		{"too large", ErrTooLarge, false, false},
		{"malformed", ErrMalformed, false, false},
		{"authorization error", &AuthorizationError{Code: "invalid_grant"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsInvalidGrant(tt.err); got != tt.invalidGrant {
				t.Errorf("IsInvalidGrant = %v", got)
			}
			if got := IsTransient(tt.err); got != tt.transient {
				t.Errorf("IsTransient = %v", got)
			}
		})
	}
}

func TestTypedErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
		want     string
	}{
		{"token endpoint", &TokenEndpointError{Status: 400, Code: "invalid_grant", Description: "expired"}, ErrTokenEndpoint,
			`oidc: token endpoint error "invalid_grant" (HTTP 400): expired`},
		{"token endpoint without description", &TokenEndpointError{Status: 401, Code: "invalid_client"}, ErrTokenEndpoint,
			`oidc: token endpoint error "invalid_client" (HTTP 401)`},
		{"authorization, state not shown", &AuthorizationError{Code: "access_denied", Description: "denied", State: "SECRETVALUE"}, ErrAuthorization,
			`oidc: authorization error "access_denied": denied`},
		{"http", &HTTPError{Status: 503}, ErrHTTPStatus, "oidc: unexpected HTTP status 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, tt.sentinel) || !errors.Is(fmt.Errorf("x: %w", tt.err), tt.sentinel) {
				t.Fatal("sentinel not matched")
			}
		})
	}
}

func TestInteractionRequired(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"login_required", true}, {"interaction_required", true}, {"consent_required", true},
		{"account_selection_required", true}, {"access_denied", false}, {"server_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := (&AuthorizationError{Code: tt.code}).InteractionRequired(); got != tt.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestSanitizeText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "hello world", 50, "hello world"},
		{"controls collapse", "a\r\n\t b", 50, "a b"},
		{"leading and trailing", "  \x00a\x01  ", 50, "a"},
		{"utf-8 becomes space", "caf\u00e9 au lait", 50, "caf au lait"},
		{"cut", strings.Repeat("x", 20), 10, strings.Repeat("x", 10) + "..."},
		{"cut at a space", "aaaaa bbbbb", 5, "aaaaa..."},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitizeText(tt.in, tt.max); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
