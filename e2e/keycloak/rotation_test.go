package keycloak_test

import (
	"context"
	"testing"
	"time"
)

// TestKeyRotation: a new realm key (an rsa-generated provider of higher priority, through the
// admin API) mid-session. New logins and the refresh of a session from before keep working
// on tokens signed with the new key, after exactly one JWKS refetch by the plugin.
func TestKeyRotation(t *testing.T) {
	needSuite(t)
	ctx := context.Background()
	p := suite.shared
	alice := newUser(t, p, "alice")
	alice.login("/app1/")
	w1, _ := alice.whoami("/app1/api/whoami")
	id1 := token(t, w1, "X-Forwarded-Id-Token")
	fetchesBefore, _ := p.Metric("oidc_proxy.callout.jwks.ok")

	kid, err := suite.kc.RotateKeys(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	if id1.JOSEHeader["kid"] == kid {
		t.Fatalf("the login's ID token is already signed with the new key %s", kid)
	}

	bob := newUser(t, p, "bob")
	bob.login("/app2/")
	wb, pg := bob.whoami("/app2/api/whoami")
	if pg.status != 200 {
		t.Fatalf("new login after the rotation: %d", pg.status)
	}
	if idb := token(t, wb, "X-Forwarded-Id-Token"); idb.JOSEHeader["kid"] != kid || !idb.Verified {
		t.Errorf("new login's ID token: kid %v (want %s), verified %v", idb.JOSEHeader["kid"], kid, idb.Verified)
	}

	waitPast(claimTime(token(t, w1, "X-Forwarded-Access-Token"), "exp").Add(-2 * time.Second))
	w2, pg := alice.whoami("/app1/api/whoami")
	if pg.status != 200 {
		t.Fatalf("alice's session after the rotation: %d %.300s\n%s", pg.status, pg.body, p.LogText())
	}
	id2 := token(t, w2, "X-Forwarded-Id-Token")
	if id2.Raw == id1.Raw || id2.JOSEHeader["kid"] != kid || !id2.Verified {
		t.Errorf("alice's refreshed ID token: new %v, kid %v (want %s), verified %v", id2.Raw != id1.Raw, id2.JOSEHeader["kid"], kid, id2.Verified)
	}
	if after, _ := p.Metric("oidc_proxy.callout.jwks.ok"); after-fetchesBefore != 1 {
		t.Errorf("the plugin fetched Keycloak's JWKS %d times after the rotation, want 1", after-fetchesBefore)
	}
}
