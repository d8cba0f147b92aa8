package replicas

import "testing"

// TestNoStore: two replicas without a store, behind a front Envoy that hashes the session
// cookie (ring_hash): one session's parallel requests reach one replica, whose own single
// flight is then enough. Then the same rounds through round robin, recorded as a figure and
// not judged: there the replicas refresh with the same refresh token and the provider revokes
// the grant (what the store, or stickiness, is for).
func TestNoStore(t *testing.T) {
	needSuite(t)
	d := newDeployment(t, 2, false)
	t.Run("sticky_refresh", func(t *testing.T) {
		f := d.front(t, 2, true)
		refreshRounds(t, d, f.URL, "no store, 2 replicas, ring_hash on the session cookie", 1, rounds)
	})
	f := d.front(t, 2, false)
	all := runRounds(t, d, f.URL, "no store, 2 replicas, round robin (not judged)", rounds)
	var lost int
	for _, r := range all {
		if r.good < parallel {
			lost++
		}
	}
	t.Logf("figure: no store, round robin: %d of %d rounds lost answers or the session", lost, len(all))
}
