package filter

import (
	"net/url"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// On-behalf-of exchanges driven through the filter (see refresh_flow_test.go for why the
// flights run from the request).

// exchangeRoute configures one route under /svc/ with the exchange x.
func exchangeRoute(x map[string]any) func(map[string]any) {
	return func(c map[string]any) {
		c["routes"] = []any{map[string]any{"name": "svc", "match": map[string]any{"prefix": "/svc/"}, "auth": "session", "exchange": x}}
	}
}

func TestExchangeInjectsTokenAndCachesIt(t *testing.T) {
	l := newLH(t, exchangeRoute(map[string]any{"type": "rfc8693", "audience": "svc-api", "scope": "read", "header": "X-Svc-Token"}))
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	r := l.request("GET", "/svc/items", "cookie", cookies)
	if r.action != types.ActionPause {
		t.Fatalf("request not held for the exchange: %v %d", r.action, r.status())
	}
	c := l.requestCallout(r.id, "/token")
	form, _ := url.ParseQuery(string(c.Body))
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || form.Get("subject_token") != "at-123" ||
		form.Get("audience") != "svc-api" || form.Get("scope") != "read" ||
		form.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
		t.Errorf("exchange form: %v", form)
	}
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "svc-tok", "token_type": "Bearer", "expires_in": 600,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}))
	if got := l.host.GetCurrentHttpStreamAction(r.id); got != types.ActionContinue {
		t.Fatalf("request not resumed: %v", got)
	}
	if got := l.upstream(r.id, "x-svc-token"); got != "svc-tok" {
		t.Errorf("x-svc-token %q, want svc-tok", got)
	}
	if got := l.upstream(r.id, "x-forwarded-access-token"); got != "at-123" {
		t.Errorf("the session's own token not forwarded beside: %q", got)
	}
	if got := l.counter("oidc_proxy.exchange.ok"); got != 1 {
		t.Errorf("exchange.ok = %d", got)
	}

	// Warm: no second exchange.
	r2 := l.request("GET", "/svc/other", "cookie", cookies)
	if r2.local != nil || len(l.host.GetCalloutAttributesFromContext(r2.id)) != 0 {
		t.Fatalf("second request: %d, %d callouts", r2.status(), len(l.host.GetCalloutAttributesFromContext(r2.id)))
	}
	if got := l.upstream(r2.id, "x-svc-token"); got != "svc-tok" {
		t.Errorf("cached: x-svc-token %q", got)
	}
	// Another VM opens the token parked in shared data.
	l.p.broker.flights = newFlights(l.p, 64)
	l.inRequest()
	r3 := l.request("GET", "/svc/other", "cookie", cookies)
	if r3.local != nil || len(l.host.GetCalloutAttributesFromContext(r3.id)) != 0 {
		t.Fatalf("another VM: %d, %d callouts", r3.status(), len(l.host.GetCalloutAttributesFromContext(r3.id)))
	}
	if got := l.upstream(r3.id, "x-svc-token"); got != "svc-tok" {
		t.Errorf("another VM: x-svc-token %q", got)
	}
	if got := l.counter("oidc_proxy.exchange.cache_hit"); got != 2 {
		t.Errorf("exchange.cache_hit = %d, want 2", got)
	}
	// Routes without an exchange send none.
	r4 := l.request("GET", "/api/x", "cookie", cookies)
	if r4.local != nil || l.upstream(r4.id, "x-svc-token") != "" {
		t.Errorf("a route without exchange: %d %q", r4.status(), l.upstream(r4.id, "x-svc-token"))
	}
}

// Entra's on-behalf-of flow, sent to the route's own token endpoint through its cluster.
func TestExchangeEntraOBOOwnEndpoint(t *testing.T) {
	l := newLH(t, exchangeRoute(map[string]any{"type": "entra_obo", "scope": "api://svc/.default",
		"token_endpoint": "https://login.example.net/tenant/oauth2/v2.0/token", "cluster": "entra"}))
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	r := l.request("GET", "/svc/items", "cookie", cookies)
	c := l.requestCallout(r.id, "/tenant/oauth2/v2.0/token")
	if c.Upstream != "entra" || lhHeader(c.Headers, ":authority") != "login.example.net" {
		t.Errorf("sent to cluster %q authority %q", c.Upstream, lhHeader(c.Headers, ":authority"))
	}
	form, _ := url.ParseQuery(string(c.Body))
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.Get("assertion") != "at-123" ||
		form.Get("requested_token_use") != "on_behalf_of" || form.Get("scope") != "api://svc/.default" {
		t.Errorf("OBO form: %v", form)
	}
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "obo-tok", "token_type": "Bearer", "expires_in": 600}))
	if got := l.upstream(r.id, "authorization"); got != "Bearer obo-tok" {
		t.Errorf("authorization %q, want Bearer obo-tok", got)
	}
}

// The ID token as subject (RFC 8693 id_token type).
func TestExchangeIDTokenSubject(t *testing.T) {
	l := newLH(t, exchangeRoute(map[string]any{"type": "rfc8693", "audience": "svc-api", "header": "X-Svc-Token",
		"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}))
	l.ready()
	var idt string
	cookies := l.login("/app/", func(nonce string) string { idt = l.idToken(l.claims(nonce)); return lhTokenJSON(idt) })
	l.inRequest()
	r := l.request("GET", "/svc/items", "cookie", cookies)
	form, _ := url.ParseQuery(string(l.requestCallout(r.id, "/token").Body))
	if form.Get("subject_token") != idt || form.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:id_token" {
		t.Errorf("subject %.12q type %q, want the session's ID token", form.Get("subject_token"), form.Get("subject_token_type"))
	}
}

// A refusal is a 403; other failures a 502, a timeout 504. The provider's description stays
// in the log.
func TestExchangeFailures(t *testing.T) {
	for _, tc := range []struct {
		name, status, ctype, body string
		want                      int
		outcome                   string
	}{
		{"invalid_grant", "400", "application/json", `{"error":"invalid_grant","error_description":"<b>no</b>"}`, 403, "denied"},
		{"consent_required", "400", "application/json", `{"error":"consent_required"}`, 403, "denied"},
		{"invalid_request", "400", "application/json", `{"error":"invalid_request"}`, 502, "failed"},
		{"temporarily_unavailable", "400", "application/json", `{"error":"temporarily_unavailable"}`, 502, "transient"},
		{"provider 500", "500", "text/plain", "boom", 502, "failed"},
		{"timeout", "504", "text/plain", "upstream request timeout", 504, "transient"},
		{"HTML 200", "200", "text/html", "<html></html>", 502, "failed"},
		{"no issued_token_type", "200", "application/json", `{"access_token":"x","token_type":"Bearer"}`, 502, "failed"},
		{"already expired", "200", "application/json", `{"access_token":"x","token_type":"Bearer","expires_in":0,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}`, 502, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, exchangeRoute(map[string]any{"type": "rfc8693", "audience": "svc-api", "header": "X-Svc-Token"}))
			l.ready()
			cookies := l.loginDefault()
			l.inRequest()
			r := l.request("GET", "/svc/items", "cookie", cookies)
			l.answer(l.requestCallout(r.id, "/token"), tc.status, tc.ctype, tc.body)
			r = l.reply(r.id)
			if r.status() != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status(), tc.want, r.local.Data)
			}
			if got := l.counter("oidc_proxy.exchange." + tc.outcome); got != 1 {
				t.Errorf("exchange.%s = %d", tc.outcome, got)
			}
			if strings.Contains(string(r.local.Data), "<b>") {
				t.Errorf("provider text echoed: %s", r.local.Data)
			}
		})
	}
}

// GET {prefix}/token?exchange=<route> adds the route's exchanged token to the answer (the
// same exchange, cached the same way, as the route's requests get), under the route's
// authorization rules; an unknown route is a 400.
func TestTokenEndpointExchange(t *testing.T) {
	l := newLH(t, func(c map[string]any) {
		exchangeRoute(map[string]any{"type": "rfc8693", "audience": "svc-api", "header": "X-Svc-Token"})(c)
		c["endpoints"] = map[string]any{"token": true}
	})
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	same := []string{"cookie", cookies, "sec-fetch-site", "same-origin", "accept", "application/json"}
	r := l.request("GET", "/oauth2/token?exchange=svc", same...)
	c := l.requestCallout(r.id, "/token")
	l.answer(c, "200", "application/json", tokenBody(map[string]any{"access_token": "svc-tok", "token_type": "Bearer", "expires_in": 600,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}))
	r = l.reply(r.id)
	body := string(r.local.Data)
	if r.status() != 200 || !strings.Contains(body, `"access_token":"at-123"`) || !strings.Contains(body, `"exchanged_token":"svc-tok","exchanged_expires_at":`) {
		t.Fatalf("%d %s", r.status(), body)
	}
	// The route's own requests reuse it: no second exchange.
	r2 := l.request("GET", "/svc/x", "cookie", cookies)
	if r2.local != nil || len(l.host.GetCalloutAttributesFromContext(r2.id)) != 0 || l.upstream(r2.id, "x-svc-token") != "svc-tok" {
		t.Errorf("the route's request: %d, x-svc-token %q", r2.status(), l.upstream(r2.id, "x-svc-token"))
	}
	// The query is decoded as any other (sv%63 is svc); the exchange is cached by now.
	if r := l.request("GET", "/oauth2/token?exchange=sv%63", same...); r.status() != 200 || !strings.Contains(string(r.local.Data), `"exchanged_token":"svc-tok"`) {
		t.Errorf("an encoded route name: %d", r.status())
	}
	if r := l.request("GET", "/oauth2/token?exchange=nope", same...); r.status() != 400 {
		t.Errorf("an unknown route: %d, want 400", r.status())
	}
	if r := l.request("GET", "/oauth2/token", same...); r.status() != 200 || strings.Contains(string(r.local.Data), "exchanged_token") {
		t.Errorf("without exchange=: %d %s", r.status(), r.local.Data)
	}
}
