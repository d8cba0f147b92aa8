package keycloak_test

import (
	"maps"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/testpki"
)

// mtlsCluster: the Envoy gets the cluster oidc_mtls to Keycloak's HTTPS listener, trusting
// the suite's CA and presenting the client certificate cert (suite.pki's cert.crt and
// cert.key; none when ""), as docs/mtls.md tells users to set it up.
func mtlsCluster(cert string) func(*envoy.Bootstrap) {
	return func(b *envoy.Bootstrap) {
		b.Clusters["oidc_mtls"] = suite.kc.HTTPSURL
		b.CAFile = suite.pki.CAFile
		b.Edit = func(doc map[string]any) error {
			for _, c := range doc["static_resources"].(map[string]any)["clusters"].([]any) {
				c := c.(map[string]any)
				if c["name"] != "oidc_mtls" || cert == "" {
					continue
				}
				ctc := c["transport_socket"].(map[string]any)["typed_config"].(map[string]any)["common_tls_context"].(map[string]any)
				ctc["tls_certificates"] = []any{map[string]any{
					"certificate_chain": map[string]any{"filename": suite.pki.Path(cert + ".crt")},
					"private_key":       map[string]any{"filename": suite.pki.Path(cert + ".key")},
				}}
			}
			return nil
		}
	}
}

// TestMTLSClientAuth: RFC 8705 against Keycloak. The client authenticates with Keycloak's
// "X509 Certificate" authenticator (the certificate's subject DN registered) and asks for
// certificate-bound access tokens. The plugin has no secret: Envoy's cluster oidc_mtls
// presents the certificate at Keycloak's HTTPS listener, and the plugin sends the pushed
// request, the code exchange and the refresh there, to the endpoints Keycloak's discovery
// lists under mtls_endpoint_aliases. bob logs in; his access token is bound to the
// certificate (cnf.x5t#S256 is its thumbprint) and so is the refreshed one. Another client
// certificate from the same CA, or none, is refused: a correlated 502 page.
func TestMTLSClientAuth(t *testing.T) {
	needSuite(t) // suite.pki is the suite's
	cert, err := suite.pki.Client("kc-mtls", "kc-mtls")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := suite.pki.Client("kc-mtls-other", "someone-else"); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{
		"client.auth_method": "tls_client_auth", "client.secret": nil, "provider.mtls_cluster": "oidc_mtls",
	}
	maps.Copy(settings, bearerRouteSettings("kc-mtls")) // the bound token replayed as Bearer (RFC 8705 3)
	client := map[string]any{
		"clientId": "kc-mtls", "clientAuthenticatorType": "client-x509",
		"attributes": map[string]any{
			"x509.subjectdn": "CN=kc-mtls", "x509.allow.regex.pattern.comparison": "false",
			"tls.client.certificate.bound.access.tokens": "true",
		},
	}
	p, _ := tunedFeatureProxy(t, settings, client, mtlsCluster("kc-mtls"))
	want := testpki.Thumbprint(cert)
	at, fresh := loginAndRefresh(t, p)
	if got := boundThumbprint(at.Claims); got != want {
		t.Errorf("access token cnf.x5t#S256 %q, want the client certificate's %q", got, want)
	}
	if got := boundThumbprint(fresh.Claims); got != want {
		t.Errorf("refreshed access token cnf.x5t#S256 %q, want %q", got, want)
	}
	assertNoSecrets(t, p.LogText(), at.Raw, fresh.Raw)
	replayAsBearer(t, p.URL+"/bearer/x", fresh.Raw, fresh.Claims["aud"], "client certificate that this connection did not present")

	// The subject DN registered is CN=kc-mtls; Envoy presents CN=someone-else (same CA).
	// (Only the pushed request: each Envoy costs a V8 compile of the plugin, and the token
	// endpoint's refusal of a wrong client is covered by TestPrivateKeyJWT.)
	client["clientId"] = "kc-mtls-wrong"
	expectRefusedTunedClient(t, settings, client, "", mtlsCluster("kc-mtls-other"))
	// No certificate at all: Keycloak serves the TLS connection (client auth "request") and
	// refuses the client.
	client["clientId"] = "kc-mtls-none"
	expectRefusedTunedClient(t, settings, client, "", mtlsCluster(""))
}

func boundThumbprint(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	s, _ := cnf["x5t#S256"].(string)
	return s
}
