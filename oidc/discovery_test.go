package oidc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutateJSON decodes a JSON object, applies f and encodes it again.
func mutateJSON(t *testing.T, doc []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	keycloakIssuer = "https://sso.example.com/realms/corp"
	entraIssuer    = "https://login.microsoftonline.com/0b5c1a4e-7f2d-4c8e-9a61-3d2f8e4b7c10/v2.0"
	googleIssuer   = "https://accounts.google.com"
)

func TestParseDiscoveryProviders(t *testing.T) {
	tests := []struct {
		name, file, issuer string
		check              func(t *testing.T, md *Metadata)
	}{
		{"keycloak", "discovery_keycloak.json", keycloakIssuer, func(t *testing.T, md *Metadata) {
			if !md.AuthorizationResponseIssParameterSupported {
				t.Error("iss parameter support not read")
			}
			if md.PushedAuthorizationRequestEndpoint != keycloakIssuer+"/protocol/openid-connect/ext/par/request" || md.RequirePushedAuthorizationRequests {
				t.Errorf("PAR endpoint %q, required %v", md.PushedAuthorizationRequestEndpoint, md.RequirePushedAuthorizationRequests)
			}
			if md.EndSessionEndpoint != keycloakIssuer+"/protocol/openid-connect/logout" ||
				md.RevocationEndpoint != keycloakIssuer+"/protocol/openid-connect/revoke" ||
				md.IntrospectionEndpoint != keycloakIssuer+"/protocol/openid-connect/token/introspect" {
				t.Errorf("endpoints: %+v", md)
			}
			if !slices.Contains(md.GrantTypesSupported, GrantTokenExchange) {
				t.Error("grant types not read")
			}
		}},
		{"entra v2", "discovery_entra_v2.json", entraIssuer, func(t *testing.T, md *Metadata) {
			if md.RevocationEndpoint != "" || md.AuthorizationResponseIssParameterSupported {
				t.Errorf("unexpected revocation/iss support: %+v", md)
			}
			if md.UserinfoEndpoint != "https://graph.microsoft.com/oidc/userinfo" {
				t.Errorf("userinfo: %q", md.UserinfoEndpoint)
			}
			if !slices.Equal(md.TokenEndpointAuthMethodsSupported, []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}) {
				t.Errorf("auth methods: %q", md.TokenEndpointAuthMethodsSupported)
			}
		}},
		{"google", "discovery_google.json", googleIssuer, func(t *testing.T, md *Metadata) {
			if md.TokenEndpoint != "https://oauth2.googleapis.com/token" ||
				md.JWKSURI != "https://www.googleapis.com/oauth2/v3/certs" ||
				md.RevocationEndpoint != "https://oauth2.googleapis.com/revoke" ||
				md.EndSessionEndpoint != "" {
				t.Errorf("endpoints: %+v", md)
			}
			if !slices.Equal(md.CodeChallengeMethodsSupported, []string{"plain", "S256"}) {
				t.Errorf("pkce methods: %q", md.CodeChallengeMethodsSupported)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseDiscovery(readTestdata(t, tt.file), tt.issuer, false)
			if err != nil {
				t.Fatal(err)
			}
			if md.Issuer != tt.issuer || md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" || md.JWKSURI == "" {
				t.Fatalf("required fields: %+v", md)
			}
			tt.check(t, md)
		})
	}
}

func TestParseDiscoveryRejects(t *testing.T) {
	google := readTestdata(t, "discovery_google.json")
	set := func(k string, v any) []byte {
		return mutateJSON(t, google, func(m map[string]any) { m[k] = v })
	}
	del := func(k string) []byte {
		return mutateJSON(t, google, func(m map[string]any) { delete(m, k) })
	}
	tests := []struct {
		name      string
		body      []byte
		issuer    string
		allowHTTP bool
		want      error
	}{
		{"entra common issuer placeholder", readTestdata(t, "discovery_entra_common.json"), "https://login.microsoftonline.com/common/v2.0", false, ErrIssuerMismatch},
		{"issuer trailing slash", google, googleIssuer + "/", false, ErrIssuerMismatch},
		{"issuer case", google, "https://Accounts.google.com", false, ErrIssuerMismatch},
		{"other provider's document", readTestdata(t, "discovery_keycloak.json"), googleIssuer, false, ErrIssuerMismatch},
		{"missing issuer", del("issuer"), googleIssuer, false, ErrMissingParam},
		{"issuer not a string", set("issuer", 42), googleIssuer, false, ErrMalformed},
		{"missing authorization_endpoint", del("authorization_endpoint"), googleIssuer, false, ErrMissingParam},
		{"missing token_endpoint", del("token_endpoint"), googleIssuer, false, ErrMissingParam},
		{"missing jwks_uri", del("jwks_uri"), googleIssuer, false, ErrMissingParam},
		{"missing response_types_supported", del("response_types_supported"), googleIssuer, false, ErrMissingParam},
		{"missing subject_types_supported", del("subject_types_supported"), googleIssuer, false, ErrMissingParam},
		{"missing id_token_signing_alg_values_supported", del("id_token_signing_alg_values_supported"), googleIssuer, false, ErrMissingParam},
		{"no code response type", set("response_types_supported", []string{"id_token", "token id_token"}), googleIssuer, false, ErrUnsupported},
		{"response types not an array", set("response_types_supported", "code"), googleIssuer, false, ErrMalformed},
		{"response types with a number", set("response_types_supported", []any{"code", 1}), googleIssuer, false, ErrMalformed},
		{"pkce plain only", set("code_challenge_methods_supported", []string{"plain"}), googleIssuer, false, ErrUnsupported},
		{"pkce empty list", set("code_challenge_methods_supported", []string{}), googleIssuer, false, ErrUnsupported},
		{"http token endpoint", set("token_endpoint", "http://oauth2.googleapis.com/token"), googleIssuer, false, ErrInvalidURL},
		{"relative token endpoint", set("token_endpoint", "/token"), googleIssuer, false, ErrInvalidURL},
		{"javascript authorization endpoint", set("authorization_endpoint", "javascript:alert(1)"), googleIssuer, false, ErrInvalidURL},
		{"endpoint with fragment", set("authorization_endpoint", "https://accounts.google.com/auth#x"), googleIssuer, false, ErrInvalidURL},
		{"endpoint with user info", set("jwks_uri", "https://user:pw@www.googleapis.com/certs"), googleIssuer, false, ErrInvalidURL},
		{"endpoint with space", set("userinfo_endpoint", "https://openidconnect.googleapis.com/v1/user info"), googleIssuer, false, ErrInvalidURL},
		{"empty optional endpoint", set("revocation_endpoint", ""), googleIssuer, false, ErrInvalidURL},
		{"endpoint not a string", set("end_session_endpoint", true), googleIssuer, false, ErrMalformed},
		{"http PAR endpoint", set("pushed_authorization_request_endpoint", "http://accounts.google.com/par"), googleIssuer, false, ErrInvalidURL},
		{"PAR required not a bool", set("require_pushed_authorization_requests", "true"), googleIssuer, false, ErrMalformed},
		{"iss support not a bool", set("authorization_response_iss_parameter_supported", "true"), googleIssuer, false, ErrMalformed},
		{"http issuer", set("issuer", "http://accounts.google.com"), "http://accounts.google.com", false, ErrInvalidURL},
		{"issuer with query", set("issuer", googleIssuer+"?x=1"), googleIssuer + "?x=1", false, ErrInvalidURL},
		{"duplicate issuer", []byte(`{"issuer":"https://accounts.google.com","issuer":"https://evil.example"}`), googleIssuer, false, ErrDuplicateParam},
		{"escaped duplicate issuer", []byte(`{"issuer":"https://evil.example","iss\u0075er":"https://accounts.google.com"}`), googleIssuer, false, ErrDuplicateParam},
		{"html", []byte("<!DOCTYPE html><html><body>Sign in</body></html>"), googleIssuer, false, ErrNotJSON},
		{"array", []byte(`[{"issuer":"https://accounts.google.com"}]`), googleIssuer, false, ErrNotJSON},
		{"trailing garbage", append(slices.Clone(google), "}"...), googleIssuer, false, ErrNotJSON},
		{"empty", nil, googleIssuer, false, ErrNotJSON},
		{"too large", []byte(`{"issuer":"` + strings.Repeat("a", MaxDiscoveryBytes) + `"}`), googleIssuer, false, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseDiscovery(tt.body, tt.issuer, tt.allowHTTP)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v (md %+v)", err, tt.want, md)
			}
			if md != nil {
				t.Fatal("metadata returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Errorf("error without prefix: %v", err)
			}
		})
	}
}

func TestParseDiscoveryAllowHTTP(t *testing.T) {
	doc := []byte(`{"issuer":"http://localhost:8080/op","authorization_endpoint":"http://localhost:8080/op/authorize",
		"token_endpoint":"http://op.internal:8080/token","jwks_uri":"http://op.internal:8080/keys",
		"response_types_supported":["code"],"subject_types_supported":["public"],
		"id_token_signing_alg_values_supported":["ES256"],"userinfo_endpoint":null}`)
	tests := []struct {
		name      string
		allowHTTP bool
		wantErr   error
	}{
		{"http allowed", true, nil},
		{"http refused", false, ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseDiscovery(doc, "http://localhost:8080/op", tt.allowHTTP)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (md.TokenEndpoint != "http://op.internal:8080/token" || md.UserinfoEndpoint != "") {
				t.Fatalf("md = %+v", md)
			}
		})
	}
}
