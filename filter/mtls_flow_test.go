package filter

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
)

// mtlsLH starts the plugin with a mutual-TLS client authentication method and answers
// discovery with mtls_endpoint_aliases on their own host (RFC 8705 5).
func mtlsLH(t *testing.T, method string, edit func(map[string]any)) *lh {
	t.Helper()
	l := newLH(t, func(c map[string]any) {
		c["client"] = map[string]any{"id": lhClient, "auth_method": method}
		c["provider"].(map[string]any)["mtls_cluster"] = "idp_mtls"
		if edit != nil {
			edit(c)
		}
	})
	var d map[string]any
	if err := json.Unmarshal([]byte(l.discoveryJSON()), &d); err != nil {
		t.Fatal(err)
	}
	d["mtls_endpoint_aliases"] = map[string]any{"token_endpoint": "https://mtls.op.example.com/token",
		"revocation_endpoint": "https://mtls.op.example.com/revoke"}
	b, _ := json.Marshal(d)
	disc := l.expectCallout("/.well-known/openid-configuration")
	if disc.Upstream != "oidc" {
		t.Errorf("discovery through cluster %q, want the provider cluster", disc.Upstream)
	}
	l.answer(disc, "200", "application/json", string(b))
	jwks := l.expectCallout("/jwks")
	if jwks.Upstream != "oidc" {
		t.Errorf("JWKS through cluster %q, want the provider cluster", jwks.Upstream)
	}
	l.answer(jwks, "200", "application/json", l.jwksJSON())
	if !l.p.provider.ready() {
		t.Fatalf("provider not ready: %s", l.p.provider.notReadyReason())
	}
	return l
}

// With tls_client_auth / self_signed_tls_client_auth, the code exchange and the refresh go to
// the mTLS alias through provider.mtls_cluster, with client_id and no credential in the
// request (the cluster's certificate is the credential).
func TestMTLSTokenCallsUseAliasAndCluster(t *testing.T) {
	for _, m := range []string{"tls_client_auth", "self_signed_tls_client_auth"} {
		t.Run(m, func(t *testing.T) {
			l := mtlsLH(t, m, nil)
			lg := l.startLogin("/app/")
			r, c := l.callback(lg, "code-1")
			if c == nil {
				t.Fatal("no token callout")
			}
			checkMTLSCallout(t, *c, "/token")
			form, _ := url.ParseQuery(string(c.Body))
			if form.Get("grant_type") != "authorization_code" || form.Get("code") != "code-1" {
				t.Errorf("form %v", form)
			}
			l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
			if r = l.reply(r.id); r.status() != 302 {
				t.Fatalf("login: %d %s", r.status(), r.local.Data)
			}
			cookies := lhCookies(r.headers("set-cookie"))
			l.inRequest()
			l.advance(10 * 60e9)
			rr := l.request("GET", "/app/", "cookie", cookies)
			rc := l.requestCallout(rr.id, "/token")
			checkMTLSCallout(t, rc, "/token")
			if form, _ := url.ParseQuery(string(rc.Body)); form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-123" {
				t.Errorf("refresh form %v", form)
			}
		})
	}
}

func checkMTLSCallout(t *testing.T, c proxytest.HttpCalloutAttribute, path string) {
	t.Helper()
	if c.Upstream != "idp_mtls" || lhHeader(c.Headers, ":authority") != "mtls.op.example.com" || lhHeader(c.Headers, ":path") != path {
		t.Errorf("sent to cluster %q authority %q path %q, want idp_mtls mtls.op.example.com %s",
			c.Upstream, lhHeader(c.Headers, ":authority"), lhHeader(c.Headers, ":path"), path)
	}
	if a := lhHeader(c.Headers, "authorization"); a != "" {
		t.Errorf("authorization header %q", a)
	}
	form, err := url.ParseQuery(string(c.Body))
	if err != nil || form.Get("client_id") != lhClient || form.Has("client_secret") || form.Has("client_assertion") {
		t.Errorf("body %q", c.Body)
	}
}
