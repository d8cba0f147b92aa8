package keycloak_test

import (
	"testing"
)

// TestClientSecretJWT: a Keycloak client with the "Signed JWT with Client Secret"
// authenticator (client-secret-jwt, HS256); the plugin signs its assertions with
// client.secret (client.auth_method client_secret_jwt). bob logs in (the push and the code
// exchange carry assertions) and his session refreshes. With another secret the pushed login
// fails on a 502 page with a correlation id, and with PAR off the code exchange does.
func TestClientSecretJWT(t *testing.T) {
	client := map[string]any{
		"clientId": "csjwt", "clientAuthenticatorType": "client-secret-jwt",
		"attributes": map[string]any{"token.endpoint.auth.signing.alg": "HS256"},
	}
	settings := map[string]any{"client.auth_method": "client_secret_jwt"}
	p, _ := featureProxy(t, settings, client)
	loginAndRefresh(t, p)

	// Another secret (as long, so the plugin starts): Keycloak refuses the assertions.
	wrong := map[string]any{"client.auth_method": "client_secret_jwt", "client.secret": randomSecret()}
	client["clientId"] = "csjwt-wrong"
	expectRefusedClient(t, wrong, client, "csjwt-wrong-nopar")
}
