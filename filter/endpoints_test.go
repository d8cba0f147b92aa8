package filter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func withEndpoints(e map[string]any) func(map[string]any) {
	return func(c map[string]any) { c["endpoints"] = e }
}

// {prefix}/token gives same-origin pages the session's tokens, never cached.
func TestTokenEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name        string
		method      string
		hdrs        []string
		noCookie    bool
		includeRT   bool
		want        int
		wantRefresh bool
		counter     string
	}{
		{"same origin", "GET", []string{"sec-fetch-site", "same-origin"}, false, false, 200, false, "served"},
		{"same origin, refresh token included", "GET", []string{"sec-fetch-site", "same-origin"}, false, true, 200, true, "served"},
		{"origin header of this site", "GET", []string{"origin", "https://app.example.com"}, false, false, 200, false, "served"},
		{"cross site", "GET", []string{"sec-fetch-site", "cross-site"}, false, false, 403, false, "refused"},
		{"another origin", "GET", []string{"origin", "https://evil.example"}, false, false, 403, false, "refused"},
		{"POST", "POST", []string{"sec-fetch-site", "same-origin"}, false, false, 405, false, ""},
		{"no session", "GET", []string{"sec-fetch-site", "same-origin"}, true, false, 401, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLH(t, withEndpoints(map[string]any{"token": true, "token_include_refresh_token": tc.includeRT}))
			l.ready()
			cookies := l.loginDefault()
			hdrs := tc.hdrs
			if !tc.noCookie {
				hdrs = append(hdrs, "cookie", cookies)
			}
			r := l.request(tc.method, "/oauth2/token", hdrs...)
			if r.status() != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status(), tc.want, r.local.Data)
			}
			if cc := r.header("cache-control"); cc != "no-store" {
				t.Errorf("cache-control %q", cc)
			}
			if tc.counter != "" {
				if got := l.counter("oidc_proxy.token_endpoint." + tc.counter); got != 1 {
					t.Errorf("token_endpoint.%s = %d", tc.counter, got)
				}
			}
			var body map[string]any
			if err := json.Unmarshal(r.local.Data, &body); err != nil {
				t.Fatalf("not JSON: %s", r.local.Data)
			}
			if tc.want != 200 {
				if body["access_token"] != nil {
					t.Errorf("a refused request got the token")
				}
				return
			}
			if body["access_token"] != "at-123" || body["token_type"] != "Bearer" || body["id_token"] == nil {
				t.Errorf("tokens: %v", body)
			}
			if got := body["refresh_token"]; (got == "rt-123") != tc.wantRefresh {
				t.Errorf("refresh_token %v, want included %v", got, tc.wantRefresh)
			}
			if exp, _ := body["expires_in"].(float64); exp < 290 || exp > 300 {
				t.Errorf("expires_in %v", body["expires_in"])
			}
		})
	}
}

// The token endpoint refreshes tokens about to expire first, and writes the new cookie.
func TestTokenEndpointRefreshesFirst(t *testing.T) {
	l := newLH(t, withEndpoints(map[string]any{"token": true}))
	l.ready()
	cookies := l.loginDefault()
	l.inRequest()
	l.advance(250 * time.Second)
	r := l.request("GET", "/oauth2/token", "sec-fetch-site", "same-origin", "cookie", cookies)
	if r.local != nil {
		t.Fatalf("answered before refreshing: %d", r.status())
	}
	l.answer(l.requestCallout(r.id, "/token"), "200", "application/json",
		tokenBody(map[string]any{"access_token": "at-456", "token_type": "Bearer", "expires_in": 300}))
	r = l.reply(r.id)
	var body map[string]any
	if r.status() != 200 || json.Unmarshal(r.local.Data, &body) != nil || body["access_token"] != "at-456" {
		t.Fatalf("after the refresh: %d %s", r.status(), r.local.Data)
	}
	if len(r.headers("set-cookie")) == 0 {
		t.Errorf("the refreshed session was not written")
	}

	// Expired and the refresh refused: 401, never an expired token.
	l.advance(10 * time.Minute)
	l.p.broker.flights = newFlights(l.p, 64) // past the parked result
	l.inRequest()
	r = l.request("GET", "/oauth2/token", "sec-fetch-site", "same-origin", "cookie", cookies)
	l.answer(l.requestCallout(r.id, "/token"), "400", "application/json", `{"error":"invalid_grant"}`)
	if r = l.reply(r.id); r.status() != 401 || strings.Contains(string(r.local.Data), "at-") {
		t.Errorf("after a refused refresh: %d %s", r.status(), r.local.Data)
	}
}

// A disabled endpoint's path is an ordinary protected path, forwarded with the session.
// The token endpoint is off by default, userinfo on.
func TestEndpointsDisabled(t *testing.T) {
	l := newLH(t, withEndpoints(map[string]any{"userinfo": false}))
	l.ready()
	cookies := l.loginDefault()
	for _, path := range []string{"/oauth2/token", "/oauth2/userinfo"} {
		r := l.request("GET", path, "sec-fetch-site", "same-origin", "cookie", cookies)
		if r.local != nil || l.upstream(r.id, "x-forwarded-access-token") != "at-123" {
			t.Errorf("%s answered by the filter (%d) while disabled", path, r.status())
		}
	}
}

// {prefix}/userinfo gives the session's claims, or 401.
func TestUserinfoEndpoint(t *testing.T) {
	l := newLH(t, withEndpoints(map[string]any{"userinfo": true}))
	l.ready()
	cookies := l.loginDefault()
	r := l.request("GET", "/oauth2/userinfo", "cookie", cookies)
	var claims map[string]any
	if r.status() != 200 || json.Unmarshal(r.local.Data, &claims) != nil {
		t.Fatalf("userinfo: %d %s", r.status(), r.local.Data)
	}
	if claims["sub"] != "user-1" || claims["email"] != "u@example.com" {
		t.Errorf("claims %v", claims)
	}
	if r.header("cache-control") != "no-store" {
		t.Errorf("cache-control %q", r.header("cache-control"))
	}
	for _, tc := range []struct{ name, cookie string }{{"no cookie", ""}, {"forged cookie", "_oidc_session=" + "AAAA"}} {
		r := l.navigate("/oauth2/userinfo", "cookie", tc.cookie)
		if r.status() != 401 || r.header("content-type") != "application/json" {
			t.Errorf("%s: %d %q, want a JSON 401 (not a login redirect)", tc.name, r.status(), r.header("content-type"))
		}
	}
}
