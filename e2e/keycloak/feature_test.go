package keycloak_test

import (
	"context"
	"maps"
	"net/url"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// featureProxy starts an Envoy of the scenario's own: the plugin with docs/examples/keycloak.json,
// the suite's testOnly settings and then settings (dotted paths, as exampleConfig takes them).
// When client is not nil, a Keycloak client of the scenario's own is created first through the
// admin API, from the gateway's defaults (confidential, code flow with PKCE S256, 10 s access
// tokens, the same client scopes) overlaid with client (its "attributes" merged key by key; it
// must name a "clientId"), with this Envoy's callback and post-logout URIs and a fresh secret;
// the plugin's client.id and client.secret are set to it (settings may still override them).
// The Envoy is stopped and the client deleted when the test ends. It returns the proxy and the
// client's secret ("" without a client). When settings turn endpoints.backchannel_logout on,
// the client's back-channel logout URL is this Envoy's {prefix}/backchannel_logout.
func featureProxy(t *testing.T, settings, client map[string]any) (*proxy.Proxy, string) {
	t.Helper()
	return tunedFeatureProxy(t, settings, client, nil)
}

// tunedFeatureProxy is featureProxy with tune, when not nil, changing the Envoy's bootstrap.
func tunedFeatureProxy(t *testing.T, settings, client map[string]any, tune func(*envoy.Bootstrap)) (*proxy.Proxy, string) {
	t.Helper()
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr, err := proxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	extra := maps.Clone(testOnly)
	secret := ""
	if client != nil {
		id, _ := client["clientId"].(string)
		if id == "" {
			t.Fatal("featureProxy: the client has no clientId")
		}
		secret = randomSecret()
		rep := map[string]any{
			"enabled": true, "protocol": "openid-connect", "publicClient": false,
			"clientAuthenticatorType": "client-secret", "secret": secret,
			"standardFlowEnabled": true, "directAccessGrantsEnabled": false,
			"redirectUris":         []string{"http://" + addr + "/oauth2/callback"},
			"webOrigins":           []string{"+"},
			"frontchannelLogout":   false,
			"defaultClientScopes":  []string{"web-origins", "acr", "profile", "roles", "basic", "email"},
			"optionalClientScopes": []string{"offline_access", "address", "phone"},
		}
		attrs := map[string]any{
			"pkce.code.challenge.method": "S256",
			"post.logout.redirect.uris":  "http://" + addr + "/*",
			"access.token.lifespan":      "10",
		}
		if on, _ := settings["endpoints.backchannel_logout"].(bool); on {
			attrs["backchannel.logout.url"] = "http://" + addr + "/oauth2/backchannel_logout"
		}
		for k, v := range client {
			if k == "attributes" {
				maps.Copy(attrs, v.(map[string]any))
				continue
			}
			rep[k] = v
		}
		rep["attributes"] = attrs
		if err := suite.kc.Admin(ctx, "POST", "/clients", rep, nil); err != nil {
			t.Fatalf("featureProxy: creating Keycloak client %s: %v", id, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if uuid, err := suite.kc.ClientUUID(ctx, id); err == nil {
				suite.kc.Admin(ctx, "DELETE", "/clients/"+url.PathEscape(uuid), nil, nil)
			}
		})
		extra["client.id"] = id
		if s, _ := rep["secret"].(string); s != "" {
			secret = s
			extra["client.secret"] = s
		}
	}
	maps.Copy(extra, settings)
	cfg, err := exampleConfig(addr, extra)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startTunedProxy(ctx, suite.wasm, addr, cfg, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Envoy: %v", err)
		}
	})
	if err := waitReady(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p, secret
}

// TestFeatureProxy: a scenario's own Envoy and Keycloak client work end to end: bob logs in
// through the client "feature-check" and the app sees him; the client is Keycloak's, not the
// gateway's (the ID token's aud).
func TestFeatureProxy(t *testing.T) {
	p, _ := featureProxy(t, nil, map[string]any{"clientId": "feature-check"})
	u := newUser(t, p, "bob")
	if pg := u.login("/app2/"); pg.url != p.URL+"/app2/" {
		t.Fatalf("bob landed on %s", pg.url)
	}
	w, pg := u.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("whoami: %d %.300s", pg.status, pg.body)
	}
	id := token(t, w, "X-Forwarded-Id-Token")
	if aud := audiences(id.Claims["aud"]); len(aud) != 1 || aud[0] != "feature-check" {
		t.Errorf("ID token aud %v, want [feature-check]", aud)
	}
}
