package deploy_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// providerQuirks are the provider-specific settings docs/providers.md explains; each
// example must keep them, or following the guide would not work.
var providerQuirks = map[string]func(t *testing.T, cfg *config.Config){
	"keycloak.json": func(t *testing.T, cfg *config.Config) {
		if !regexp.MustCompile(`^https://[^/]+/realms/[^/]+$`).MatchString(cfg.Provider.Issuer) {
			t.Errorf("issuer %q: Keycloak issuers are https://host/realms/NAME", cfg.Provider.Issuer)
		}
	},
	"entra-id.json": func(t *testing.T, cfg *config.Config) {
		// v2 endpoints of one tenant, by id: the issuer in ID tokens names the tenant id.
		if !regexp.MustCompile(`^https://login\.microsoftonline\.com/[0-9a-f-]{36}/v2\.0$`).MatchString(cfg.Provider.Issuer) {
			t.Errorf("issuer %q: want https://login.microsoftonline.com/{tenant id}/v2.0", cfg.Provider.Issuer)
		}
		if !slices.Contains(cfg.Scopes, "offline_access") {
			t.Error("Entra issues refresh tokens only with offline_access")
		}
		// On-behalf-of needs an access token for this client: its own API scope.
		own := "api://" + cfg.Client.ID + "/"
		if !slices.ContainsFunc(cfg.Scopes, func(s string) bool { return strings.HasPrefix(s, own) }) {
			t.Errorf("no %s... scope: the access token would be for Graph, not for this client, and OBO would fail", own)
		}
		for _, r := range cfg.Routes {
			if r.Exchange != nil && r.Exchange.Type == "entra_obo" && !strings.HasSuffix(r.Exchange.Scope, "/.default") {
				t.Errorf("route %s: OBO scope %q: use the resource's /.default scope", r.Name, r.Exchange.Scope)
			}
		}
	},
	"google.json": func(t *testing.T, cfg *config.Config) {
		if cfg.ExtraAuthParams["access_type"] != "offline" || cfg.ExtraAuthParams["prompt"] != "consent" {
			t.Error("Google returns a refresh token only with access_type=offline and prompt=consent")
		}
		if slices.Contains(cfg.Scopes, "offline_access") {
			t.Error("Google rejects the offline_access scope")
		}
		if cfg.Provider.Discovery || cfg.Provider.JWKSCluster == "" || cfg.Provider.JWKSCluster == cfg.Provider.Cluster {
			t.Error("Google's token endpoint and keys live on different hosts from the issuer: discovery off, a JWKS cluster of its own")
		}
		if hostOf(cfg.Provider.TokenEndpoint) != "oauth2.googleapis.com" || hostOf(cfg.Provider.JWKSURI) != "www.googleapis.com" {
			t.Error("token endpoint or jwks_uri not on Google's hosts")
		}
		if !routesRequireClaim(cfg, "hd") {
			t.Error("without a rule on hd, any Google account can sign in")
		}
	},
	"okta.json": func(t *testing.T, cfg *config.Config) {
		if !strings.Contains(cfg.Provider.Issuer, "/oauth2/") {
			t.Errorf("issuer %q: use a custom authorization server (…/oauth2/default): the org server's access tokens cannot be verified", cfg.Provider.Issuer)
		}
		if !slices.Contains(cfg.Scopes, "offline_access") {
			t.Error("Okta issues refresh tokens only with offline_access")
		}
	},
	"auth0.json": func(t *testing.T, cfg *config.Config) {
		if !strings.HasSuffix(cfg.Provider.Issuer, "/") {
			t.Errorf("issuer %q: Auth0's issuer ends with a slash", cfg.Provider.Issuer)
		}
		if cfg.ExtraAuthParams["audience"] == "" {
			t.Error("without audience Auth0 issues an opaque access token the app cannot verify")
		}
		if cfg.Provider.EndSessionEndpoint == "" {
			t.Error("set end_session_endpoint: Auth0 advertises it only when a tenant setting is on")
		}
	},
}

func routesRequireClaim(cfg *config.Config, claim string) bool {
	for _, r := range cfg.Routes {
		if r.Match.Prefix != "/" || r.Authorization == nil {
			continue
		}
		for _, c := range r.Authorization.Claims {
			if c.Claim == claim {
				return true
			}
		}
	}
	return false
}

// TestProviderExamples parses every docs/examples/*.json with the plugin's parser and checks
// the provider quirks the guide tells readers about.
func TestProviderExamples(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "docs", "examples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		name := filepath.Base(p)
		seen[name] = true
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			b := repoFile(t, "docs/examples/"+name)
			cfg, err := parsePlugin(b, vmEnv{})
			if err != nil {
				t.Fatal(err)
			}
			placeholderSecrets(t, name, b, vmEnv{})
			if cfg.Provider.InsecureAllowHTTP || !cfg.Cookie.Secure || !strings.HasPrefix(cfg.Provider.Issuer, "https://") {
				t.Error("a provider example must be production-ready: https, Secure cookies")
			}
			if quirks, ok := providerQuirks[name]; ok {
				quirks(t, cfg)
			}
		})
	}
	for name := range providerQuirks {
		if !seen[name] {
			t.Errorf("docs/examples/%s is missing", name)
		}
	}
}
