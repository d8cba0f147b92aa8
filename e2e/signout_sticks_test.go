package e2e

import (
	"context"
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	replica, err := s.StartReplica(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for probe := newBrowser(t); probe.get(replica.URL+"/").status != http.StatusFound; time.Sleep(100 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("the replica did not become ready\n%s", replica.LogText())
		}
	}
	b := newBrowser(t)
	if _, final := b.login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	w := rfWhoAmI(t, b, s, "/app1/api/whoami")
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
