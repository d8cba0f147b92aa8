package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// xRoutes configures routes with token exchanges; each is {name, prefix, exchange}.
func xRoutes(routes ...map[string]any) func(cfg map[string]any) {
	return rfConfigure(func(cfg map[string]any) {
		rs := make([]any, len(routes))
		for i, r := range routes {
			rs[i] = map[string]any{"name": r["name"], "match": map[string]any{"prefix": r["prefix"]}, "exchange": r["exchange"]}
		}
		cfg["routes"] = rs
	})
}

// TestExchangeRFC8693 exchanges the session's access token at the provider's token endpoint
// (RFC 8693) for a downstream audience: the app receives a token for that audience that
// verifies and is active at the provider. It is exchanged once per access token: later
// requests use the cached one, and a refreshed access token is exchanged again.
func TestExchangeRFC8693(t *testing.T) {
	s, b, _ := rfLoggedIn(t, stack.Options{AccessTTL: 30 * time.Second, Configure: xRoutes(map[string]any{
		"name": "reports", "prefix": "/app2/",
		"exchange": map[string]any{"type": "rfc8693", "audience": "https://reports.example", "header": "X-Exchanged-Token"},
	})})
	before := s.OP.Counts()
	w := rfWhoAmI(t, b, s, "/app2/api/whoami")
	xt := rfFresh(t, w, "X-Exchanged-Token")
	if xt == nil {
		t.Fatal("no exchanged token")
	}
	if aud := fmt.Sprint(xt.Claims["aud"]); !strings.Contains(aud, "https://reports.example") {
		t.Errorf("exchanged token aud %s", aud)
	}
	if xt.Claims["sub"] != w.Tokens["X-Forwarded-Access-Token"].Claims["sub"] {
		t.Errorf("exchanged token sub %v, want the user's", xt.Claims["sub"])
	}
	if active, _, err := s.OP.Introspect(xt.Raw); err != nil || !active {
		t.Errorf("exchanged token active=%v (%v)", active, err)
	}
	if w1 := rfWhoAmI(t, b, s, "/app1/api/whoami"); w1.Tokens["X-Exchanged-Token"] != nil {
		t.Errorf("a route without an exchange got an exchanged token")
	}
	// A client cannot send its own.
	forged := b.get(s.URL+"/app1/api/whoami", "Accept", "application/json", "X-Exchanged-Token", "forged")
	if strings.Contains(forged.body, "forged") {
		t.Errorf("a client-sent X-Exchanged-Token reached the app")
	}
	for range 3 {
		w := rfWhoAmI(t, b, s, "/app2/api/whoami")
		if got := w.Tokens["X-Exchanged-Token"]; got == nil || got.Raw != xt.Raw {
			t.Errorf("a later request got another exchanged token")
		}
	}
	if n := s.OP.Counts().TokenExchange - before.TokenExchange; n != 1 {
		t.Errorf("token exchanges at the provider: %d, want 1", n)
	}
	if rfMetric(s, "oidc_proxy.exchange.cache_hit") < 3 {
		t.Errorf("metric oidc_proxy.exchange.cache_hit = %d", rfMetric(s, "oidc_proxy.exchange.cache_hit"))
	}
	assertNoSecretsInLogs(t, s, xt.Raw)
}

// TestExchangeEntraOBO runs Microsoft's on-behalf-of flow (jwt-bearer grant,
// requested_token_use=on_behalf_of) at an Entra-style token endpoint of its own
// (routes[].exchange.token_endpoint: the provider's /entra/token, not its token endpoint):
// the app receives, as Authorization: Bearer, a token for the downstream API named by the
// scope, after the session's access token expired and was refreshed (an expired assertion is
// what makes Entra answer AADSTS500133).
func TestExchangeEntraOBO(t *testing.T) {
	exchange := map[string]any{"type": "entra_obo", "scope": "api://downstream/.default"}
	routes := xRoutes(map[string]any{"name": "sql", "prefix": "/app2/", "exchange": exchange})
	s, b, w := rfLoggedIn(t, stack.Options{Configure: func(cfg map[string]any) {
		exchange["token_endpoint"] = cfg["provider"].(map[string]any)["issuer"].(string) + "/entra/token"
		routes(cfg)
	}})
	if exchange["token_endpoint"] != s.OP.Endpoints().EntraToken {
		t.Fatalf("token_endpoint %v, want the provider's Entra endpoint %s", exchange["token_endpoint"], s.OP.Endpoints().EntraToken)
	}
	rfWaitPast(w)
	rfLongLived(s)
	before := s.OP.Counts()
	w2 := rfWhoAmI(t, b, s, "/app2/api/whoami")
	obo := rfFresh(t, w2, "Authorization")
	if obo == nil {
		t.Fatal("no on-behalf-of token")
	}
	if obo.Scheme != "Bearer" || fmt.Sprint(obo.Claims["aud"]) != "[api://downstream]" || obo.Claims["scp"] != "api://downstream/.default" {
		t.Errorf("OBO token: scheme %q aud %v scp %v", obo.Scheme, obo.Claims["aud"], obo.Claims["scp"])
	}
	if active, _, err := s.OP.Introspect(obo.Raw); err != nil || !active {
		t.Errorf("OBO token active=%v (%v)", active, err)
	}
	after := s.OP.Counts()
	if after.OBO-before.OBO != 1 || after.Refresh-before.Refresh != 1 {
		t.Errorf("OBO requests %d, refreshes %d; want 1 each", after.OBO-before.OBO, after.Refresh-before.Refresh)
	}
	// The OP counts an OBO request at its token endpoint as a token request too; at
	// /entra/token it does not. So the only token endpoint request was the refresh.
	if n := after.Token - before.Token; n != 1 {
		t.Errorf("token endpoint requests %d, want 1 (the refresh): the OBO request did not go to the route's token_endpoint", n)
	}
}

// TestExchangeErrors: a refusal by the provider is a 403, a broken exchange a 502; both name
// the provider's error code in the log and forward nothing.
func TestExchangeErrors(t *testing.T) {
	up := &rfUpstream{}
	s, b, w := rfLoggedIn(t, stack.Options{AccessTTL: 30 * time.Second, Upstream: up.wrap, Configure: xRoutes(
		map[string]any{"name": "unsupported", "prefix": "/app2/api/",
			"exchange": map[string]any{"type": "rfc8693", "audience": "x", "requested_token_type": "urn:example:unsupported", "header": "X-Exchanged-Token"}},
		map[string]any{"name": "obo", "prefix": "/app2/",
			"exchange": map[string]any{"type": "entra_obo", "scope": "api://downstream/.default"}},
	)})
	at := w.Tokens["X-Forwarded-Access-Token"].Raw
	up.watch(at)

	r := b.api(s.URL + "/app2/api/whoami")
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "exchange_failed") {
		t.Errorf("unsupported exchange: %d %.200s, want 502 exchange_failed", r.status, r.body)
	}
	if !strings.Contains(logText(s), `provider error \"invalid_request\"`) { // inside a quoted value
		t.Errorf("the provider's error code is not in the log:\n%s", logText(s))
	}

	// The provider no longer accepts the access token as an assertion: invalid_grant.
	rv := url.Values{"token": {at}}
	req, _ := http.NewRequest("POST", s.OP.Endpoints().Revocation, strings.NewReader(rv.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(stack.ClientID, stack.ClientSecret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoking the access token: %v %v", err, resp)
	}
	r = b.get(s.URL + "/app2/page")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "invalid_grant") {
		t.Errorf("refused exchange: %d %.300s, want 403 naming invalid_grant", r.status, r.body)
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("%d requests reached the app although the exchange failed", n)
	}
	if rfMetric(s, "oidc_proxy.exchange.denied") != 1 || rfMetric(s, "oidc_proxy.exchange.failed") != 1 {
		t.Errorf("metrics: denied %d failed %d", rfMetric(s, "oidc_proxy.exchange.denied"), rfMetric(s, "oidc_proxy.exchange.failed"))
	}
}
