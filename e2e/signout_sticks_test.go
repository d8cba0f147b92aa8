package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestSignOutSticks: a copy of the session cookies taken before sign-out is refused at once by
// the Envoy that served the sign-out (both VMs), and by another replica no later than the
// access token's expiry (the refresh token was revoked, so its refresh fails).
func TestSignOutSticks(t *testing.T) {
	s := start(t, stack.Options{VMs: 2, AccessTTL: rfTTL, IDTTL: rfTTL, RefreshTTL: time.Hour, Configure: rfConfigure()})
	replica := rfReplica(t, s)
	b, w := rfLogin(t, s)
	u, _ := url.Parse(s.URL)
	thief := newBrowser(t)
	thief.jar.SetCookies(u, b.jar.Cookies(u)) // the cookies, copied before sign-out
	for range 4 {                             // both VMs have it in their caches
		if r := thief.api(s.URL + "/api/whoami"); r.status != http.StatusOK {
			t.Fatalf("the copied cookie before sign-out: %d", r.status)
		}
	}

	if r := b.get(s.URL + "/oauth2/sign_out"); r.status != http.StatusFound {
		t.Fatalf("sign-out: %d", r.status)
	}
	for i := range 4 {
		if r := thief.api(s.URL + "/api/whoami"); r.status != http.StatusUnauthorized {
			t.Fatalf("the copied cookie after sign-out, request %d on the same Envoy: %d, want 401", i, r.status)
		}
	}

	// Another replica: until the access token expires it cannot know; then the refresh fails.
	if r := thief.api(replica.URL + "/api/whoami"); r.status != http.StatusOK {
		t.Logf("the replica refused the copied cookie before its access token expired: %d (allowed, not required)", r.status)
	}
	rfWaitPast(w)
	if r := thief.api(replica.URL + "/api/whoami"); r.status != http.StatusUnauthorized {
		t.Fatalf("the copied cookie on another replica after the access token expired: %d %.200s, want 401 (the refresh token was revoked)\n%s",
			r.status, r.body, replica.LogText())
	}
}
