package keycloak

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestStartServesRealm(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k, err := Start(ctx, Config{RealmName: RealmName, Realm: Realm(RealmValues{
		GatewaySecret: "s1", ReportsSecret: "s2", RedirectURI: "http://127.0.0.1:1/oauth2/callback",
		PostLogoutURI: "http://127.0.0.1:1/*", BackchannelLogoutURI: "http://127.0.0.1:1/oauth2/backchannel_logout",
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	t.Logf("Keycloak %s started in %s", Version, k.Startup.Round(time.Millisecond))
	resp, err := http.Get(k.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct{ Issuer string }
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Issuer != k.Issuer {
		t.Fatalf("discovery issuer %q (%v), want %q", d.Issuer, err, k.Issuer)
	}
}
