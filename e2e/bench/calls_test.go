package bench

import (
	"context"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/filterbench"
)

// hostCalls counts and times the proxy_* host functions the plugin calls while armed. It is a
// wazero function listener on the host's "env" module; guest functions get none.
type hostCalls struct {
	armed  atomic.Bool
	counts map[string]int
	spent  map[string]time.Duration
	t0     time.Time
}

func newHostCalls() *hostCalls {
	return &hostCalls{counts: map[string]int{}, spent: map[string]time.Duration{}}
}

func (c *hostCalls) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() != "env" || !strings.HasPrefix(def.Name(), "proxy_") {
		return nil
	}
	return c
}

func (c *hostCalls) Before(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if c.armed.Load() {
		c.counts[def.Name()]++
		c.t0 = time.Now()
	}
}

func (c *hostCalls) After(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64) {
	if c.armed.Load() {
		c.spent[def.Name()] += time.Since(c.t0)
	}
}

func (c *hostCalls) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}

// BenchmarkHostCalls counts the host functions each scenario's request calls: hostcalls/op in
// all, and per function (proxy_get_header_map_pairs/op, ...). hostcall-ns/op is the time spent
// in them, listener overhead included: an upper bound. Run with a fixed -benchtime such as 200x.
func BenchmarkHostCalls(b *testing.B) {
	fx, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	c := newHostCalls()
	ctx := experimental.WithFunctionListenerFactory(context.Background(), c)
	filterSide := start(b, ctx, fx, fx.Scenario("session-warm"))
	for _, sc := range fx.Scenarios() {
		b.Run(sc.Name, func(b *testing.B) {
			s := filterSide
			if sc.Noop {
				s = start(b, ctx, fx, sc)
				defer s.h.Close(context.Background())
			}
			req, answer := sc.Prepare(b.N), answerer(sc)
			for range 20 { // the first requests' memory growth and lazy setup are not the path's
				if _, err := s.d.Run(req(0), filterbench.Upstream, answer); err != nil {
					b.Fatal(err)
				}
				if sc.Answer != nil || sc.Name == "session-cold" {
					break // single-use or distinct requests
				}
			}
			clear(c.counts)
			clear(c.spent)
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				c.armed.Store(true)
				_, err := s.d.Run(req(i), filterbench.Upstream, answer)
				c.armed.Store(false)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			n := float64(b.N)
			total, spent := 0, time.Duration(0)
			names := make([]string, 0, len(c.counts))
			for name, k := range c.counts {
				total += k
				spent += c.spent[name]
				names = append(names, name)
			}
			sort.Strings(names)
			b.ReportMetric(float64(total)/n, "hostcalls/op")
			b.ReportMetric(float64(spent.Nanoseconds())/n, "hostcall-ns/op")
			for _, name := range names {
				b.ReportMetric(float64(c.counts[name])/n, name+"/op")
			}
		})
	}
}
