package keycloak_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/replicas"
)

// TestReplicasStore: two Envoy replicas with the same configuration and keys sharing a real
// etcd through the plugin's "store" section, against the realm's "Revoke Refresh Token"
// (revokeRefreshToken, refreshTokenMaxReuse 0: a rotated refresh token presented again ends
// the session). Each round, a new session's 20 parallel API requests alternate between the
// replicas just as its tokens are due: Keycloak sees exactly one refresh of the session and no
// failed refresh, and all 20 answers carry the one refreshed access token, which Keycloak's
// introspection calls active. Then the same rounds on two replicas without the store, logged
// as a figure and not judged (Keycloak sees the spent refresh token again and ends the
// session).
func TestReplicasStore(t *testing.T) {
	needSuite(t)
	// 10 judged rounds with the store (the count); 3 rounds without, as a figure.
	const rounds, unjudged, parallel = 10, 3, 20
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	etcd, err := replicas.StartEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Close)

	addrs := make([]string, 4) // two replicas with the store, two without
	for i := range addrs {
		if addrs[i], err = proxy.FreeAddr(); err != nil {
			t.Fatal(err)
		}
	}
	const clientID = "replicas-store"
	secret := randomSecret()
	rep := map[string]any{
		"clientId": clientID, "enabled": true, "protocol": "openid-connect", "publicClient": false,
		"clientAuthenticatorType": "client-secret", "secret": secret,
		"standardFlowEnabled": true, "directAccessGrantsEnabled": false,
		"redirectUris":         []string{"http://" + addrs[0] + "/oauth2/callback", "http://" + addrs[2] + "/oauth2/callback"},
		"webOrigins":           []string{"+"},
		"frontchannelLogout":   false,
		"defaultClientScopes":  []string{"web-origins", "acr", "profile", "roles", "basic", "email"},
		"optionalClientScopes": []string{"offline_access"},
		// Its access tokens name it as audience, as the realm's gateway client's do: Keycloak
		// introspects a token only for a client in its audience.
		"protocolMappers": []any{map[string]any{"name": "own audience", "protocol": "openid-connect",
			"protocolMapper": "oidc-audience-mapper", "config": map[string]any{"included.client.audience": clientID,
				"id.token.claim": "false", "access.token.claim": "true", "introspection.token.claim": "true"}}},
		"attributes": map[string]any{
			"pkce.code.challenge.method": "S256",
			"post.logout.redirect.uris":  "http://" + addrs[0] + "/*##http://" + addrs[2] + "/*",
			"access.token.lifespan":      "10",
		},
	}
	if err := suite.kc.Admin(ctx, "POST", "/clients", rep, nil); err != nil {
		t.Fatalf("creating Keycloak client %s: %v", clientID, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if uuid, err := suite.kc.ClientUUID(ctx, clientID); err == nil {
			suite.kc.Admin(ctx, "DELETE", "/clients/"+url.PathEscape(uuid), nil, nil)
		}
	})

	settings := maps.Clone(testOnly)
	settings["client.id"] = clientID
	settings["client.secret"] = secret
	store := map[string]any{
		"kind": "etcd", "cluster": "etcd", "prefix": "oidc-proxy/keycloak-replicas/",
		"timeout": "500ms", "poll_interval": "250ms",
	}
	ps := kcReplicas(ctx, t, addrs[0:2], settings, store, etcd.URL)
	refreshes, failed, good := kcRounds(ctx, t, ps, clientID, secret, rounds, parallel, true)
	t.Logf("figure: Keycloak (Revoke Refresh Token), store, 2 replicas, requests alternating: %d rounds of %d parallel requests: %d refreshes, %d failed refreshes, %d/%d answers good",
		rounds, parallel, refreshes, failed, good, rounds*parallel)
	if n, _ := ps[0].Metric("oidc_proxy.refresh.waited_replica"); n == 0 {
		if n2, _ := ps[1].Metric("oidc_proxy.refresh.waited_replica"); n2 == 0 {
			t.Errorf("oidc_proxy.refresh.waited_replica is 0 on both replicas")
		}
	}
	for _, p := range ps {
		p.Close()
	}

	ps = kcReplicas(ctx, t, addrs[2:4], settings, nil, "")
	refreshes, failed, good = kcRounds(ctx, t, ps, clientID, secret, unjudged, parallel, false)
	t.Logf("figure: Keycloak (Revoke Refresh Token), no store, 2 replicas, requests alternating (not judged): %d rounds of %d parallel requests: %d refreshes, %d failed refreshes, %d/%d answers good",
		unjudged, parallel, refreshes, failed, good, unjudged*parallel)
}

// kcReplicas starts replicas of the plugin at addrs with one configuration (so one key ring),
// as a deployment has: the example config with settings, and with store (and an "etcd"
// cluster to etcdURL) when it is not nil. Logins go through the first.
func kcReplicas(ctx context.Context, t *testing.T, addrs []string, settings, store map[string]any, etcdURL string) []*proxy.Proxy {
	t.Helper()
	settings = maps.Clone(settings)
	if store != nil {
		settings["store"] = store
	}
	cfg, err := exampleConfig(addrs[0], settings)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]*proxy.Proxy, len(addrs))
	for i, addr := range addrs {
		p, err := startTunedProxy(ctx, suite.wasm, addr, cfg, func(b *envoy.Bootstrap) {
			if store != nil {
				b.Clusters["etcd"] = etcdURL
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		if err := waitReady(ctx, p); err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	return ps
}

// kcRounds runs the rounds: a new session through ps[0], then parallel API requests
// alternating over ps as its tokens are due. With judge, a round fails the test unless
// Keycloak saw one refresh of the session, no failed refresh, and every answer carries the
// one refreshed token, active at Keycloak's introspection. It returns the totals.
func kcRounds(ctx context.Context, t *testing.T, ps []*proxy.Proxy, clientID, secret string, rounds, parallel int, judge bool) (refreshes, failedRefreshes, good int) {
	t.Helper()
	for round := 1; round <= rounds; round++ {
		u := newUser(t, ps[0], "bob")
		u.login("/app1/")
		w, _ := u.whoami("/app1/api/whoami")
		at, id := token(t, w, "X-Forwarded-Access-Token"), token(t, w, "X-Forwarded-Id-Token")
		sid, _ := id.Claims["sid"].(string)
		waitPast(claimTime(at, "exp").Add(-2 * time.Second)) // inside the refresh margin
		began := time.Now()

		tr := &http.Transport{DisableKeepAlives: true}
		tokens := make([]string, parallel)
		statuses := make([]int, parallel)
		var wg sync.WaitGroup
		gun := make(chan struct{})
		for i := range parallel {
			wg.Go(func() {
				<-gun
				req, _ := http.NewRequest("GET", ps[i%len(ps)].URL+"/app1/api/whoami", nil)
				req.Header.Set("Accept", "application/json")
				resp, err := tr.RoundTrip(withCookies(req, u))
				if err != nil {
					return
				}
				defer resp.Body.Close()
				statuses[i] = resp.StatusCode
				var wi demoapp.WhoAmI
				json.NewDecoder(resp.Body).Decode(&wi)
				if ti := wi.Tokens["X-Forwarded-Access-Token"]; ti != nil {
					tokens[i] = ti.Raw
				}
			})
		}
		close(gun)
		wg.Wait()

		n := countEvents(t, "REFRESH_TOKEN", sid, began)
		e := countEvents(t, "REFRESH_TOKEN_ERROR", "", began)
		refreshes += n
		failedRefreshes += e
		// An answer is good when it is a 200 carrying a refreshed token Keycloak calls active.
		active := map[string]bool{}
		var introspection []string
		for _, tok := range tokens {
			if _, seen := active[tok]; seen || tok == "" || tok == at.Raw {
				continue
			}
			ti, err := suite.kc.Introspect(ctx, clientID, secret, tok)
			active[tok] = err == nil && ti["active"] == true
			introspection = append(introspection, fmt.Sprintf("active %v, err %v", ti["active"], err))
		}
		ok := 0
		distinct := map[string]bool{}
		for i := range parallel {
			distinct[tokens[i]] = true
			if statuses[i] == http.StatusOK && active[tokens[i]] {
				ok++
			}
		}
		good += ok
		t.Logf("round %d: %d refreshes, %d failed refreshes at Keycloak, %d/%d good (statuses %v; %d distinct tokens, the login's %v; introspection: %s)",
			round, n, e, ok, parallel, statuses, len(distinct), distinct[at.Raw], strings.Join(introspection, "; "))
		if judge && (n != 1 || e != 0 || ok != parallel || len(distinct) != 1) {
			t.Errorf("round %d: %d refreshes and %d failed refreshes at Keycloak, %d/%d answers with a refreshed token Keycloak calls active, %d distinct tokens; want 1, 0, %d, 1",
				round, n, e, ok, parallel, len(distinct), parallel)
		}
	}
	return refreshes, failedRefreshes, good
}
