package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestRefreshSingleFlightStress: 50 rounds of 20 parallel requests, over both VMs (workers),
// each round on a session that needs a refresh, against a provider that rotates refresh
// tokens and revokes the whole family when a rotated one is presented again. Every round must
// reach the provider exactly once and every request must get the refreshed token. A race in
// the single flight's claim showed up here as a second refresh in about one run in three.
//
// The rounds run in waves of five sessions at once (their flights share shared-data slots,
// which adds CAS conflicts between flights); a wave's sessions log in with tokens of two
// seconds, whose refresh margin (capped at half the lifetime) starts a second later.
func TestRefreshSingleFlightStress(t *testing.T) {
	const waves, perWave, parallel = 10, 5, 20
	short, long := 2*time.Second, 2*time.Minute
	s := start(t, stack.Options{
		VMs: 2, AccessTTL: short, IDTTL: short,
		OP:        func(c *op.Config) { c.RevokeFamilyOnRefreshReuse = true },
		Configure: func(cfg map[string]any) { cfg["session"] = map[string]any{"refresh_margin": "30s"} },
	})
	for wave := range waves {
		s.OP.SetLifetimes(short, short, 0)
		browsers := make([]*browser, perWave)
		for i := range browsers {
			browsers[i] = newBrowser(t)
			if _, final := browsers[i].login(s, "/app1/"); final.status != http.StatusFound {
				t.Fatalf("wave %d: login: %d %.300s\n%s", wave, final.status, final.body, logText(s))
			}
		}
		s.OP.SetLifetimes(long, long, 0)
		time.Sleep(short/2 + 100*time.Millisecond)
		before := s.OP.Counts()
		all := make([][]rfResult, perWave)
		var wg sync.WaitGroup
		for i, b := range browsers {
			wg.Go(func() { all[i] = rfFetchAll(b, s, "/api/whoami", parallel) })
		}
		wg.Wait()
		after := s.OP.Counts()
		if n, reuse := after.Refresh-before.Refresh, after.RefreshReuse-before.RefreshReuse; n != perWave || reuse != 0 {
			t.Fatalf("wave %d: %d refreshes and %d reuses of a rotated refresh token at the provider for %d sessions; want %d and 0\n%s",
				wave, n, reuse, perWave, perWave, logText(s))
		}
		for j, results := range all {
			rfCheckOneFresh(t, fmt.Sprintf("round %d", wave*perWave+j), results, short)
		}
	}
}

// rfCheckOneFresh fails unless every result is a 200 whose app received one and the same
// access token, one that lives longer than short (the refreshed one, not the login's).
func rfCheckOneFresh(t *testing.T, round string, results []rfResult, short time.Duration) {
	t.Helper()
	{
		var fresh string
		for i, r := range results {
			if r.err != nil || r.status != http.StatusOK {
				t.Fatalf("%s, request %d: %v %d %.200s", round, i, r.err, r.status, r.body)
			}
			var w demoapp.WhoAmI
			if err := json.Unmarshal([]byte(r.body), &w); err != nil {
				t.Fatalf("%s, request %d: %v", round, i, err)
			}
			at := rfFresh(t, w, "X-Forwarded-Access-Token")
			if at == nil || at.ExpiresAt == nil || time.Until(*at.ExpiresAt) < short {
				t.Fatalf("%s, request %d: the app got %+v, not the refreshed access token", round, i, at)
			}
			if fresh == "" {
				fresh = at.Raw
			} else if at.Raw != fresh {
				t.Fatalf("%s, request %d: another access token than request 0's", round, i)
			}
		}
	}
}
