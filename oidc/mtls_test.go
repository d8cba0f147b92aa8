package oidc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// A provider with mutual-TLS aliases on another host (RFC 8705 section 5).
const mtlsDiscovery = `{"issuer":"https://accounts.google.com","authorization_endpoint":"https://a.example/auth",
"token_endpoint":"https://a.example/token","revocation_endpoint":"https://a.example/revoke",
"introspection_endpoint":"https://a.example/introspect","userinfo_endpoint":"https://a.example/userinfo",
"pushed_authorization_request_endpoint":"https://a.example/par","jwks_uri":"https://a.example/keys",
"response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"],
"mtls_endpoint_aliases":{"token_endpoint":"https://mtls.a.example/token","revocation_endpoint":"https://mtls.a.example/revoke",
"introspection_endpoint":"https://mtls.a.example/introspect","pushed_authorization_request_endpoint":"https://mtls.a.example/par",
"userinfo_endpoint":"https://mtls.a.example/userinfo","device_authorization_endpoint":"https://mtls.a.example/device"}}`

func TestMTLSEndpointAliases(t *testing.T) {
	md, err := ParseDiscovery([]byte(mtlsDiscovery), googleIssuer, false)
	if err != nil {
		t.Fatal(err)
	}
	want := MTLSEndpoints{TokenEndpoint: "https://mtls.a.example/token", RevocationEndpoint: "https://mtls.a.example/revoke",
		IntrospectionEndpoint: "https://mtls.a.example/introspect", PushedAuthorizationRequestEndpoint: "https://mtls.a.example/par",
		UserinfoEndpoint: "https://mtls.a.example/userinfo"}
	if md.MTLSEndpointAliases != want {
		t.Fatalf("aliases %+v", md.MTLSEndpointAliases)
	}
	if md.TokenEndpoint != "https://a.example/token" {
		t.Fatalf("plain token endpoint changed before UseMTLSAliases: %q", md.TokenEndpoint)
	}
	md.UseMTLSAliases()
	got := MTLSEndpoints{md.TokenEndpoint, md.RevocationEndpoint, md.IntrospectionEndpoint, md.PushedAuthorizationRequestEndpoint, md.UserinfoEndpoint}
	if got != want {
		t.Fatalf("after UseMTLSAliases %+v", got)
	}
	if md.AuthorizationEndpoint != "https://a.example/auth" || md.JWKSURI != "https://a.example/keys" {
		t.Fatalf("front-channel endpoints changed: %q %q", md.AuthorizationEndpoint, md.JWKSURI)
	}
}

func TestMTLSEndpointAliasesPartialFallsBack(t *testing.T) {
	body := strings.Replace(mtlsDiscovery, `"revocation_endpoint":"https://mtls.a.example/revoke",`, "", 1)
	body = strings.Replace(body, `"userinfo_endpoint":"https://mtls.a.example/userinfo",`, `"userinfo_endpoint":null,`, 1)
	md, err := ParseDiscovery([]byte(body), googleIssuer, false)
	if err != nil {
		t.Fatal(err)
	}
	md.UseMTLSAliases()
	if md.TokenEndpoint != "https://mtls.a.example/token" || md.RevocationEndpoint != "https://a.example/revoke" || md.UserinfoEndpoint != "https://a.example/userinfo" {
		t.Fatalf("token %q revocation %q userinfo %q", md.TokenEndpoint, md.RevocationEndpoint, md.UserinfoEndpoint)
	}
}

func TestMTLSEndpointAliasesKeycloak(t *testing.T) {
	md, err := ParseDiscovery(readTestdata(t, "discovery_keycloak.json"), keycloakIssuer, false)
	if err != nil {
		t.Fatal(err)
	}
	if md.MTLSEndpointAliases.TokenEndpoint != keycloakIssuer+"/protocol/openid-connect/token" ||
		md.MTLSEndpointAliases.IntrospectionEndpoint != keycloakIssuer+"/protocol/openid-connect/token/introspect" {
		t.Fatalf("aliases %+v", md.MTLSEndpointAliases)
	}
}

func TestMTLSEndpointAliasesRejects(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           error
		msg            string
	}{
		{"not an object", `"mtls_endpoint_aliases":{`, `"mtls_endpoint_aliases":["x"],"x":{`, ErrMalformed, "mtls_endpoint_aliases"},
		{"alias not a string", `"token_endpoint":"https://mtls.a.example/token"`, `"token_endpoint":7`, ErrMalformed, "mtls_endpoint_aliases.token_endpoint"},
		{"alias http", `"https://mtls.a.example/token"`, `"http://mtls.a.example/token"`, ErrInvalidURL, "mtls_endpoint_aliases.token_endpoint"},
		{"alias relative", `"https://mtls.a.example/par"`, `"/par"`, ErrInvalidURL, "mtls_endpoint_aliases.pushed_authorization_request_endpoint"},
		{"alias empty", `"https://mtls.a.example/introspect"`, `""`, ErrInvalidURL, "mtls_endpoint_aliases.introspection_endpoint"},
		{"alias twice", `"token_endpoint":"https://mtls.a.example/token"`, `"token_endpoint":"https://mtls.a.example/token","token_endpoint":"https://evil.example/token"`, ErrDuplicateParam, "token_endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(mtlsDiscovery, tc.old, tc.new, 1)
			if body == mtlsDiscovery {
				t.Fatal("test does not change the document")
			}
			md, err := ParseDiscovery([]byte(body), googleIssuer, false)
			if !errors.Is(err, tc.want) || md != nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("md=%v err=%v, want %v mentioning %q", md, err, tc.want, tc.msg)
			}
		})
	}
	// With allowHTTP (local development) an http alias is fine.
	body := strings.ReplaceAll(mtlsDiscovery, "https://", "http://")
	body = strings.Replace(body, `"issuer":"http://`, `"issuer":"https://`, 1)
	if _, err := ParseDiscovery([]byte(body), googleIssuer, true); err != nil {
		t.Fatal(err)
	}
}

func TestMTLSClientSendsClientIDOnly(t *testing.T) {
	for _, m := range []string{AuthTLSClientAuth, AuthSelfSignedTLSClientAuth} {
		if !IsMTLS(m) {
			t.Fatalf("IsMTLS(%q) false", m)
		}
		// A secret configured by mistake must not leak into the request.
		c := Client{ID: "rp one", Secret: "s3cret", AuthMethod: m}
		for name, req := range map[string]Request{
			"code":       CodeExchange("https://mtls.a.example/token", c, "the-code", "verifier", "https://app/cb"),
			"refresh":    Refresh("https://mtls.a.example/token", c, "rt", nil),
			"revoke":     Revoke("https://mtls.a.example/revoke", c, "rt", "refresh_token"),
			"introspect": Introspect("https://mtls.a.example/introspect", c, "at", "access_token"),
		} {
			for _, h := range req.Headers {
				if h[0] == "authorization" {
					t.Fatalf("%s %s: authorization header %q", m, name, h[1])
				}
			}
			q, err := url.ParseQuery(string(req.Body))
			if err != nil {
				t.Fatal(err)
			}
			if q.Get("client_id") != "rp one" || len(q["client_id"]) != 1 || q.Has("client_secret") || q.Has("client_assertion") || q.Has("client_assertion_type") {
				t.Fatalf("%s %s: body %q", m, name, req.Body)
			}
		}
	}
	for _, m := range []string{AuthClientSecretBasic, AuthPrivateKeyJWT, AuthNone, ""} {
		if IsMTLS(m) {
			t.Fatalf("IsMTLS(%q) true", m)
		}
	}
}
