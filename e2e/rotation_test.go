package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestProviderKeyRotation rotates the provider's signing key mid-session and retires the old
// one: the session carries on, and new logins succeed after exactly one JWKS refetch, which
// the other VM then shares instead of fetching again.
func TestProviderKeyRotation(t *testing.T) {
	s, _ := startRecorded(t, stack.Options{})
	b1 := newBrowser(t)
	if _, r := b1.login(s, "/"); r.status != http.StatusFound {
		t.Fatalf("first login: %d", r.status)
	}
	jwks := s.OP.Counts().JWKS
	oldKid := s.OP.KeyID()
	newKid := s.OP.RotateKey()
	s.OP.RemoveOldKeys()
	if newKid == oldKid {
		t.Fatal("RotateKey kept the kid")
	}

	// Mid-session: the session does not depend on the provider's keys.
	if w, r := b1.whoami(s); r.status != http.StatusOK || w.User.Subject == "" {
		t.Errorf("the session after the rotation: %d", r.status)
	}

	// New logins on both VMs (the host alternates): one refetch in all.
	for i := range 4 {
		b := newBrowser(t)
		if _, r := b.login(s, "/app1/"); r.status != http.StatusFound || r.header.Get("Location") != "/app1/" {
			t.Fatalf("login %d after the rotation: %d %q; body %.300s\n%s", i, r.status, r.header.Get("Location"), r.body, logText(s))
		}
		if _, r := b.whoami(s); r.status != http.StatusOK {
			t.Errorf("login %d after the rotation: whoami %d", i, r.status)
		}
	}
	if got := s.OP.Counts().JWKS - jwks; got != 1 {
		t.Errorf("%d JWKS fetches for the rotation, want exactly 1", got)
	}
	if got := metric(s, "oidc_proxy.callout.jwks.ok"); got < 2 {
		t.Errorf("callout.jwks.ok = %d, want the start-up fetch and the refetch", got)
	}
}

// TestUnknownKidFloodIsRateLimited sends many ID tokens signed with keys the provider never
// had: they are all refused, and the JWKS is fetched again once, not once per token. The
// same holds while the JWKS endpoint fails: failed refetches count too.
func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	evil, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	limited := func(c map[string]any) {
		c["provider"].(map[string]any)["jwks_min_refetch_interval"] = "1h"
	}
	// flood sends n logins whose ID tokens name unknown kids; the first gets first, the
	// others 401.
	flood := func(fs *fakeStack, n, first int) {
		t.Helper()
		before := fs.up.count()
		for i := range n {
			b := newBrowser(t)
			l := fs.begin(t, b, "/")
			r := fs.finish(t, l, signRS256(t, evil, "kid-"+randomHex(t), fs.op.claims(l.nonce)))
			want := http.StatusUnauthorized
			if i == 0 {
				want = first
			}
			if r.status != want {
				t.Errorf("token %d with an unknown kid: %d, want %d; body %.200s", i, r.status, want, r.body)
			}
		}
		fs.up.untouched(t, before)
	}

	fs := startFake(t, newFakeOP(t), limited, true)
	jwks := fs.op.jwks.Load()
	flood(fs, 20, http.StatusUnauthorized)
	if got := fs.op.jwks.Load() - jwks; got != 1 {
		t.Errorf("%d JWKS fetches for 20 unknown kids, want 1", got)
	}
	if got := metric(fs.p, "oidc_proxy.jwks.refetch_limited"); got < 10 {
		t.Errorf("jwks.refetch_limited = %d, want most of the flood", got)
	}

	// While the JWKS endpoint fails, the first unknown kid's refetch fails (502 for that
	// login) and the rest of the flood is limited all the same.
	fs = startFake(t, newFakeOP(t), limited, true)
	fs.op.setFault("jwks", fault500, 0)
	jwks = fs.op.jwks.Load()
	flood(fs, 20, http.StatusBadGateway)
	if got := fs.op.jwks.Load() - jwks; got != 1 {
		t.Errorf("%d JWKS fetches for 20 unknown kids while the JWKS fails, want 1", got)
	}
	if got := metric(fs.p, "oidc_proxy.callout.jwks.http_5xx"); got != 1 {
		t.Errorf("callout.jwks.http_5xx = %d, want 1", got)
	}
}
