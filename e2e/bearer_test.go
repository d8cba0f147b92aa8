package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBearer checks bearer routes through the compiled plugin: what the app receives, the
// per-VM cache of verified tokens (and that it never outlives exp), key rotation at the
// issuer, scopes in scp, and session_or_bearer routes. The attacks are in TestSecurity.
func TestBearer(t *testing.T) {
	e := startSecEnv(t, 2, func(cfg map[string]any) { cfg["jwt"] = map[string]any{"leeway": "1s"} })
	rs := e.issuers["rs"]
	h := e.fs.p

	t.Run("claims to headers", func(t *testing.T) {
		tok := e.token(t, rs, func(m map[string]any) { m["groups"] = []string{"a", "b c", "d"} })
		before := e.up.count()
		r := e.bearerGet(t, "/api/rs/x", tok, "X-Auth-Request-User", "forged")
		if r.status != http.StatusOK {
			t.Fatalf("status %d %.300s", r.status, r.body)
		}
		got := e.up.since(before)[0]
		for name, want := range map[string]string{
			"X-Auth-Request-User": "api-user-rs", "X-Auth-Request-Email": "api-user@example.com",
			"X-Auth-Request-Groups": "a,b c,d", "X-Forwarded-Access-Token": tok, "Authorization": "Bearer " + tok,
		} {
			if v := got.Values(name); len(v) != 1 || v[0] != want {
				t.Errorf("the app received %s = %q, want %q", name, v, want)
			}
		}
		if v := got.Values("X-Auth-Request-Preferred-Username"); len(v) != 0 {
			t.Errorf("a claim the token lacks was forwarded: %q", v)
		}
	})

	t.Run("verified once per VM, then cached", func(t *testing.T) {
		// A jti of its own: the same claims signed in the same second are the same token,
		// which waitReady may already have had verified.
		tok := e.token(t, rs, func(m map[string]any) { m["jti"] = "cache-" + t.Name() })
		miss, hit := metric(h, "oidc_proxy.bearer.cache_miss"), metric(h, "oidc_proxy.bearer.cache_hit")
		for i := range 10 {
			if r := e.bearerGet(t, "/api/rs/x", tok); r.status != http.StatusOK {
				t.Fatalf("request %d: %d", i, r.status)
			}
		}
		dMiss, dHit := metric(h, "oidc_proxy.bearer.cache_miss")-miss, metric(h, "oidc_proxy.bearer.cache_hit")-hit
		if dMiss < 1 || dMiss > 2 || dMiss+dHit != 10 {
			t.Errorf("10 requests with one token on 2 VMs: %d misses, %d hits; want one miss per VM", dMiss, dHit)
		}
		// The cache is keyed by the exact bytes: a token differing in one character is not
		// served from it.
		miss = metric(h, "oidc_proxy.bearer.cache_miss")
		if r := e.bearerGet(t, "/api/rs/x", tok[:len(tok)-1]+string("AB"[boolInt(tok[len(tok)-1] == 'A')])); r.status != http.StatusUnauthorized {
			t.Errorf("a token one character off: %d, want 401", r.status)
		}
		if metric(h, "oidc_proxy.bearer.cache_miss") != miss+1 {
			t.Errorf("a token one character off was not a cache miss")
		}
		// A token cached for one route is refused on a route that does not take its issuer.
		es := e.issuers["es"]
		esTok := e.token(t, es, nil)
		for range 2 {
			if r := e.bearerGet(t, "/api/x", esTok); r.status != http.StatusOK {
				t.Fatalf("es token on /api/: %d", r.status)
			}
		}
		if r := e.bearerGet(t, "/api/rs/x", esTok); r.status != http.StatusUnauthorized {
			t.Errorf("a cached es token on the rs-only route: %d, want 401", r.status)
		}
	})

	t.Run("the cache never outlives exp", func(t *testing.T) {
		exp := time.Now().Add(2 * time.Second).Truncate(time.Second)
		tok := e.token(t, rs, func(m map[string]any) { m["exp"] = exp.Unix() })
		for range 4 { // both VMs cache it
			if r := e.bearerGet(t, "/api/rs/x", tok); r.status != http.StatusOK {
				t.Fatalf("before exp: %d", r.status)
			}
		}
		time.Sleep(time.Until(exp.Add(1500 * time.Millisecond))) // past exp and the 1s leeway
		for i := range 4 {
			if r := e.bearerGet(t, "/api/rs/x", tok); r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("Www-Authenticate"), "expired") {
				t.Errorf("request %d after exp: %d %q, want 401 expired", i, r.status, r.header.Get("Www-Authenticate"))
			}
		}
	})

	t.Run("key rotation at the issuer: one refetch", func(t *testing.T) {
		old := rs.keys[0]
		rs2 := newSecKey(t, "RS256", "rs-2")
		e.iss.publish(rs, rs2, old)
		fetches := rs.jwksHits.Load()
		tok := e.token(t, rs, nil) // signed with rs-2, which the plugin has not seen
		if r := e.bearerGet(t, "/api/rs/x", tok); r.status != http.StatusOK {
			t.Fatalf("token with the new key: %d %.300s\n%s", r.status, r.body, logLinesWith(h, "bearer"))
		}
		if n := rs.jwksHits.Load() - fetches; n != 1 {
			t.Errorf("the new key caused %d JWKS fetches, want 1", n)
		}
		for range 3 { // the other VM adopts the keys from shared data
			if r := e.bearerGet(t, "/api/rs/x", e.token(t, rs, func(m map[string]any) { m["jti"] = randomHexN(4) })); r.status != http.StatusOK {
				t.Errorf("another token with the new key: %d", r.status)
			}
		}
		if n := rs.jwksHits.Load() - fetches; n != 1 {
			t.Errorf("after tokens on both VMs: %d JWKS fetches, want 1", n)
		}
	})

	t.Run("scopes from scp", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			scp  any
			want int
		}{
			{"array", []string{"write", "read"}, http.StatusOK},
			{"string", "write read", http.StatusOK},
			{"missing", []string{"write"}, http.StatusForbidden},
		} {
			tok := e.token(t, rs, func(m map[string]any) { delete(m, "scope"); m["scp"] = tc.scp })
			if r := e.bearerGet(t, "/api/scoped/x", tok); r.status != tc.want {
				t.Errorf("scp %s: %d, want %d", tc.name, r.status, tc.want)
			}
		}
	})

	t.Run("session_or_bearer", func(t *testing.T) {
		if r := newBrowser(t).get(e.fs.url + "/mixed/x"); r.status != http.StatusFound {
			t.Errorf("navigation without credentials: %d, want 302 to log in", r.status)
		}
		r := e.bearerGet(t, "/mixed/x", "")
		if r.status != http.StatusUnauthorized {
			t.Errorf("API call without credentials: %d, want 401", r.status)
		}
		before := e.up.count()
		if r := e.bearerGet(t, "/mixed/x", e.token(t, rs, nil)); r.status != http.StatusOK {
			t.Errorf("with a bearer token: %d", r.status)
		} else if u := e.up.since(before)[0].Get("X-Auth-Request-User"); u != "api-user-rs" {
			t.Errorf("with a bearer token the app saw user %q", u)
		}
		cs := e.goodSession(t, secSession([]string{"users"}, "x"))
		before = e.up.count()
		if r := newBrowser(t).get(e.fs.url+"/mixed/x", "Cookie", cookieHeader(cs)); r.status != http.StatusOK {
			t.Errorf("with a session: %d", r.status)
		} else if u := e.up.since(before)[0].Get("X-Auth-Request-User"); u != "sess-user" {
			t.Errorf("with a session the app saw user %q", u)
		}
	})
}
