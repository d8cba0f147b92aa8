package filter

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
)

// TestBearerDuplicateAuthorization: several Authorization headers on a bearer route are a
// 400 invalid_request, whichever they hold; not "the last one wins". Envoy joins repeated
// headers with a comma, which is a malformed credential and a 400 too.
func TestBearerDuplicateAuthorization(t *testing.T) {
	l, s := newBearerHarness(t)
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())
	good := s.token(nil)
	if r := l.request("GET", "/api/x", "authorization", "Bearer "+good); r.local != nil {
		t.Fatalf("one good token: %d", r.status())
	}
	for _, tc := range []struct {
		name, path string
		hdrs       []string
	}{
		{"forged then good", "/api/x", []string{"authorization", "Bearer x.y.z", "authorization", "Bearer " + good}},
		{"good then forged", "/api/x", []string{"authorization", "Bearer " + good, "authorization", "Bearer x.y.z"}},
		{"good twice", "/api/x", []string{"authorization", "Bearer " + good, "authorization", "Bearer " + good}},
		{"good and Basic", "/api/x", []string{"authorization", "Basic dTpw", "authorization", "Bearer " + good}},
		{"session_or_bearer", "/mixed/x", []string{"authorization", "Bearer " + good, "authorization", "Bearer " + good}},
		{"joined by a proxy", "/api/x", []string{"authorization", "Bearer " + good + ", Bearer " + good}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := l.request("GET", tc.path, tc.hdrs...)
			if r.status() != 400 || !strings.Contains(r.header("www-authenticate"), `error="invalid_request"`) {
				t.Fatalf("%d %q, want 400 invalid_request", r.status(), r.header("www-authenticate"))
			}
		})
	}
}

// TestBearerRejectCache: a forged token sent again and again is verified once a minute, not
// once per request, and every request still gets the same 401 and counts as the same
// rejection. The minute passing verifies it again (new keys too: TestRejectCacheUnit).
func TestBearerRejectCache(t *testing.T) {
	l, s := newBearerHarness(t)
	l.host.Tick()
	l.answer(l.expectCallout("/keys"), "200", "application/json", s.jwks())
	now := time.Now()
	l.p.now = func() time.Time { return now }

	good := s.token(nil)
	forged := good[:strings.LastIndexByte(good, '.')+1] + strings.Repeat("A", len(good)-strings.LastIndexByte(good, '.')-1)
	send := func() lhReply {
		t.Helper()
		r := l.request("GET", "/api/x", "authorization", "Bearer "+forged)
		want := `error="invalid_token", error_description="The token's signature could not be verified."`
		if r.status() != 401 || !strings.Contains(r.header("www-authenticate"), want) {
			t.Fatalf("forged token: %d %q", r.status(), r.header("www-authenticate"))
		}
		return r
	}
	rejected, hits := l.counter("oidc_proxy.bearer.rejected.signature"), l.counter("oidc_proxy.bearer.reject_cache_hit")
	for range 20 {
		send()
	}
	if got := l.counter("oidc_proxy.bearer.rejected.signature") - rejected; got != 20 {
		t.Errorf("rejected.signature counted %d of 20", got)
	}
	if got := l.counter("oidc_proxy.bearer.reject_cache_hit") - hits; got != 19 {
		t.Errorf("%d of 20 requests answered from the reject cache, want 19 (one verification)", got)
	}

	// A minute later it is verified again, once.
	now = now.Add(engine.RejectCacheTTL)
	hits = l.counter("oidc_proxy.bearer.reject_cache_hit")
	send()
	send()
	if got := l.counter("oidc_proxy.bearer.reject_cache_hit") - hits; got != 1 {
		t.Errorf("after a minute: %d reject cache hits for 2 requests, want 1", got)
	}

	// The good token is untouched by its forged twin.
	if r := l.request("GET", "/api/x", "authorization", "Bearer "+good); r.local != nil {
		t.Fatalf("good token: %d", r.status())
	}

	// The cache is bounded: many distinct forged tokens keep at most engine.RejectCacheEntries.
	for i := range engine.RejectCacheEntries + 50 {
		tok := s.token(func(c map[string]any) { c["sub"] = "u" + strconv.Itoa(i) })
		tok = tok[:strings.LastIndexByte(tok, '.')+1] + "AAAA"
		l.request("GET", "/api/x", "authorization", "Bearer "+tok)
	}
	if n := l.p.bearer.rejects.Len(); n > engine.RejectCacheEntries {
		t.Errorf("reject cache holds %d entries, bound %d", n, engine.RejectCacheEntries)
	}
}
