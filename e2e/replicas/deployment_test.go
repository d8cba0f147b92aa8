package replicas

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

const (
	// shortTTL is the tokens' lifetime at login in a refresh round; the plugin refreshes
	// within half of it (refresh_margin is capped at half the lifetime), so a round waits
	// a little over half of it, then fires.
	shortTTL = 2 * time.Second
	longTTL  = 10 * time.Minute
	// parallel requests per round; rounds per scenario.
	parallel = 20
	rounds   = 10
	// propagation is the most a sign-out or back-channel logout may take to reach every
	// replica: the contract says one second, this gives it a margin.
	propagation = 1500 * time.Millisecond
	// storeCluster is the Envoy cluster of the replicas that reaches etcd.
	storeCluster = "etcd"
	// sessionCookie is the plugin's session cookie (its first chunk): the sticky balancer's key.
	sessionCookie = "_oidc_session"
)

// deployment is one provider, the demo app and n replicas of plugin.wasm in real Envoy with
// the same configuration and keys; with a store, they share etcd.
type deployment struct {
	s        *stack.Stack
	OP       *op.Server
	etcd     *Etcd // nil without a store
	prefix   string
	replicas []*proxy.Proxy
}

// newDeployment starts it; everything stops at the test's end.
func newDeployment(t *testing.T, n int, withStore bool) *deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d := &deployment{prefix: "oidc-proxy/" + strings.ToLower(t.Name()) + "/"}
	o := stack.Options{
		Proxy: proxy.Envoy, PluginWasm: pluginWasm(t), VMs: 2,
		AccessTTL: longTTL, IDTTL: longTTL, RefreshTTL: time.Hour,
		OP: func(c *op.Config) { c.RevokeFamilyOnRefreshReuse = true },
	}
	if withStore {
		e, err := StartEtcd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("etcd's log:\n%s", tail(e.Log(), 40))
			}
			e.Close()
		})
		d.etcd = e
		o.Clusters = map[string]string{storeCluster: e.URL}
	}
	o.Configure = func(cfg map[string]any) {
		cfg["session"] = map[string]any{"refresh_margin": "30s"}
		cfg["endpoints"] = map[string]any{"allow_on_headers_stop_iteration": true, "token": true, "backchannel_logout": true}
		if withStore {
			cfg["store"] = map[string]any{
				"kind": "etcd", "cluster": storeCluster, "prefix": d.prefix,
				"timeout": "500ms", "poll_interval": "250ms",
			}
		}
	}
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	d.s, d.OP = s, s.OP
	d.replicas = []*proxy.Proxy{s.Proxy}
	for len(d.replicas) < n {
		r, err := s.StartReplica(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d.replicas = append(d.replicas, r)
	}
	for i, r := range d.replicas {
		if err := waitReady(ctx, r.URL); err != nil {
			t.Fatalf("replica %d: %v\n%s", i, err, tail(r.LogText(), 40))
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, r := range d.replicas {
				t.Logf("replica %d's log (last lines):\n%s", i, tail(r.LogText(), 30))
			}
		}
	})
	return d
}

// front starts a balancer over the first n replicas (round robin, or sticky on the session
// cookie); it stops at the test's end.
func (d *deployment) front(t *testing.T, n int, sticky bool) *envoy.Envoy {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := Front{}
	for _, r := range d.replicas[:n] {
		f.Replicas = append(f.Replicas, r.URL)
	}
	if sticky {
		f.StickyCookie = sessionCookie
	}
	e, err := StartFront(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := waitReady(ctx, e.URL); err != nil {
		t.Fatalf("front: %v\n%s", err, tail(e.Log(), 40))
	}
	return e
}

// metric is the sum of a plugin counter over the replicas.
func (d *deployment) metric(name string) int64 {
	var sum int64
	for _, r := range d.replicas {
		v, _ := r.Metric(name)
		sum += v
	}
	return sum
}

// waitReady waits until base answers a protected navigation with a redirect to the provider:
// the plugin has the provider's metadata.
func waitReady(ctx context.Context, base string) error {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		req.Header.Set("Accept", "text/html")
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become ready: %w", base, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
