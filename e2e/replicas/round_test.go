package replicas

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
)

// round is one refresh round: a fresh session whose tokens are due for a refresh, and
// `parallel` requests carrying its cookie at once.
type round struct {
	refreshes, reuse int            // at the provider, during the round
	good             int            // 200s whose app got a fresh token the provider honours
	failures         map[string]int // what the others got
	servedBy         map[string]int // the front's X-Replica of each answer
}

func (r round) String() string {
	var f []string
	for k, n := range r.failures {
		f = append(f, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(f)
	return fmt.Sprintf("%d refreshes, %d reuses, %d/%d good, failures [%s], served by %v",
		r.refreshes, r.reuse, r.good, parallel, strings.Join(f, "; "), r.servedBy)
}

// refreshRound logs a new browser in through base with tokens of shortTTL, waits until they
// are due for a refresh, then sends `parallel` API requests through base at once, all with the
// cookie of that moment (as a browser's parallel requests carry it), and judges the answers.
func refreshRound(t *testing.T, d *deployment, base string) round {
	t.Helper()
	d.OP.SetLifetimes(shortTTL, shortTTL, 0)
	b := newBrowser(t)
	b.login(d.OP, base, "/app1/")
	d.OP.SetLifetimes(longTTL, longTTL, 0)
	time.Sleep(shortTTL/2 + 150*time.Millisecond)

	cookie := b.cookies(base)
	c := &http.Client{Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	raw := &browser{t: t, c: c}
	before := d.OP.Counts()
	answers := make([]response, parallel)
	var wg sync.WaitGroup
	gun := make(chan struct{})
	for i := range answers {
		wg.Go(func() {
			<-gun
			answers[i] = raw.do(http.MethodGet, base+"/api/whoami",
				"Accept", "application/json", "Sec-Fetch-Mode", "cors", "Cookie", cookie)
		})
	}
	close(gun)
	wg.Wait()
	after := d.OP.Counts()

	r := round{refreshes: after.Refresh - before.Refresh, reuse: after.RefreshReuse - before.RefreshReuse,
		failures: map[string]int{}, servedBy: map[string]int{}}
	tokens := map[string]int{}
	for _, a := range answers {
		if h := a.header.Get(ReplicaHeader); h != "" {
			r.servedBy[h]++
		}
		switch {
		case a.err != nil:
			r.failures["transport error"]++
			continue
		case a.status != http.StatusOK:
			r.failures[fmt.Sprintf("status %d", a.status)]++
			continue
		}
		var w demoapp.WhoAmI
		if err := json.Unmarshal([]byte(a.body), &w); err != nil {
			r.failures["not the app's answer"]++
			continue
		}
		at := w.Tokens["X-Forwarded-Access-Token"]
		switch {
		case at == nil:
			r.failures["no access token"]++
		case !at.Verified || at.ExpiresAt == nil:
			r.failures["unverified access token"]++
		case time.Until(*at.ExpiresAt) < shortTTL:
			r.failures["the login's access token, not a refreshed one"]++
		default:
			tokens[at.Raw]++
		}
	}
	for tok, n := range tokens {
		active, _, err := d.OP.Introspect(tok)
		switch {
		case err != nil:
			r.failures["introspection error"] += n
		case !active:
			r.failures["a token the provider revoked"] += n
		default:
			r.good += n
		}
	}
	if len(tokens) > 1 {
		r.failures[fmt.Sprintf("%d different access tokens", len(tokens))]++
	}
	return r
}

// refreshRounds runs `rounds` rounds through base and fails the test unless each has exactly
// one refresh, no reuse and `parallel` good answers, served by `replicas` replicas (0: any
// number). It logs the figures either way.
func refreshRounds(t *testing.T, d *deployment, base, label string, replicas, n int) {
	t.Helper()
	all := runRounds(t, d, base, label, n)
	for i, r := range all {
		if r.refreshes != 1 || r.reuse != 0 || r.good != parallel || len(r.failures) != 0 {
			t.Errorf("round %d: %v; want 1 refresh, 0 reuses, %d/%d good", i+1, r, parallel, parallel)
		}
		if replicas > 0 && len(r.servedBy) != replicas {
			t.Errorf("round %d: served by %d replicas (%v), want %d", i+1, len(r.servedBy), r.servedBy, replicas)
		}
	}
}

// runRounds runs the rounds and logs a "figure:" line (scripts/replicas-suite.sh prints them).
func runRounds(t *testing.T, d *deployment, base, label string, n int) []round {
	t.Helper()
	all := make([]round, n)
	var refreshes, reuse, good, bad int
	for i := range all {
		before := d.counters()
		all[i] = refreshRound(t, d, base)
		r := all[i]
		if r.refreshes != 1 || r.reuse != 0 || r.good != parallel {
			t.Logf("round %d: %v; counters that rose: %s", i+1, r, d.rose(before))
		} else {
			t.Logf("round %d: %v", i+1, r)
		}
		refreshes += r.refreshes
		reuse += r.reuse
		good += r.good
		if r.refreshes != 1 || r.reuse != 0 || r.good != parallel {
			bad++
		}
	}
	t.Logf("figure: %s: %d rounds of %d parallel requests: %d refreshes, %d reuses, %d/%d answers good, %d rounds with a failure",
		label, n, parallel, refreshes, reuse, good, n*parallel, bad)
	return all
}
