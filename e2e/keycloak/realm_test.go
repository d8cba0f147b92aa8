package keycloak

import (
	"encoding/json"
	"strings"
	"testing"
)

// The realm template fills in as valid JSON with every placeholder replaced, and the settings
// the scenarios depend on are there.
func TestRealm(t *testing.T) {
	raw := Realm(RealmValues{GatewaySecret: `s"1`, ReportsSecret: "s2",
		RedirectURIs:         []string{"http://127.0.0.1:1/oauth2/callback", "http://127.0.0.1:2/oauth2/callback"},
		PostLogoutURIs:       []string{"http://127.0.0.1:1/*", "http://127.0.0.1:2/*"},
		BackchannelLogoutURI: "http://127.0.0.1:1/oauth2/backchannel_logout"})
	var r struct {
		Realm                string
		RevokeRefreshToken   bool
		RefreshTokenMaxReuse int
		AccessTokenLifespan  int
		Clients              []struct {
			ClientID     string
			Secret       string
			RedirectURIs []string
			Attributes   map[string]string
			Optional     []string `json:"optionalClientScopes"`
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("realm JSON: %v", err)
	}
	if s := string(raw); strings.Contains(s, "${GATEWAY") || strings.Contains(s, "${REDIRECT") || strings.Contains(s, "${POST") {
		t.Fatal("a placeholder is left")
	}
	gw := r.Clients[0]
	if r.Realm != RealmName || !r.RevokeRefreshToken || r.RefreshTokenMaxReuse != 0 || r.AccessTokenLifespan > 15 ||
		gw.ClientID != "apps-gateway" || gw.Secret != `s"1` || len(gw.RedirectURIs) != 2 ||
		gw.Attributes["standard.token.exchange.enabled"] != "true" ||
		gw.Attributes["post.logout.redirect.uris"] != "http://127.0.0.1:1/*##http://127.0.0.1:2/*" ||
		gw.Attributes["backchannel.logout.url"] == "" || gw.Optional[0] != "offline_access" {
		t.Fatalf("realm settings: %+v", r)
	}
}
