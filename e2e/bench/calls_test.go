package bench

import (
	"context"
	"slices"
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
// wazero function listener on the host's "env" module, and on the guest's allocator: a host
// function that hands data to the guest calls proxy_on_memory_allocate, whose time (a GC
// cycle, at times) is the guest's, not the host function's, and is subtracted.
type hostCalls struct {
	armed  atomic.Bool
	counts map[string]int
	spent  map[string]time.Duration
	stack  []frame
}

type frame struct {
	t0     time.Time
	nested time.Duration // time in guest calls made from this host call
}

func newHostCalls() *hostCalls {
	return &hostCalls{counts: map[string]int{}, spent: map[string]time.Duration{}}
}

func (c *hostCalls) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() == "env" && strings.HasPrefix(def.Name(), "proxy_") || isAllocator(def) {
		return c
	}
	return nil
}

func isAllocator(def api.FunctionDefinition) bool {
	for _, n := range def.ExportNames() {
		if n == "proxy_on_memory_allocate" {
			return true
		}
	}
	return false
}

func (c *hostCalls) Before(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	c.stack = append(c.stack, frame{t0: time.Now()})
}

func (c *hostCalls) After(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64) {
	f := c.pop()
	d := time.Since(f.t0)
	if isAllocator(def) {
		if n := len(c.stack); n > 0 {
			c.stack[n-1].nested += d
		}
		return
	}
	if c.armed.Load() {
		c.counts[def.Name()]++
		c.spent[def.Name()] += d - f.nested
	}
}

func (c *hostCalls) Abort(context.Context, api.Module, api.FunctionDefinition, error) { c.pop() }

func (c *hostCalls) pop() frame {
	n := len(c.stack)
	if n == 0 {
		return frame{t0: time.Now()}
	}
	f := c.stack[n-1]
	c.stack = c.stack[:n-1]
	return f
}

// BenchmarkHostCalls counts the host functions each scenario's request calls: hostcalls/op in
// all, and per function (proxy_get_header_map_pairs/op, ...). hostcall-ns/op is the time spent
// in them by the median request (without the guest allocations they make), listener overhead
// included: an upper bound. Run with a fixed -benchtime such as 200x.
func BenchmarkHostCalls(b *testing.B) {
	fx, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	fc := newHostCalls()
	filterSide := start(b, experimental.WithFunctionListenerFactory(context.Background(), fc), fx, fx.Scenario("session-warm"))
	for _, sc := range fx.Scenarios() {
		b.Run(sc.Name, func(b *testing.B) {
			s, c := filterSide, fc
			if sc.Noop {
				c = newHostCalls()
				s = start(b, experimental.WithFunctionListenerFactory(context.Background(), c), fx, sc)
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
			perReq := make([]time.Duration, 0, b.N)
			var sum time.Duration
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				c.armed.Store(true)
				_, err := s.d.Run(req(i), filterbench.Upstream, answer)
				c.armed.Store(false)
				if err != nil {
					b.Fatal(err)
				}
				var all time.Duration
				for _, d := range c.spent {
					all += d
				}
				perReq = append(perReq, all-sum)
				sum = all
			}
			b.StopTimer()
			n := float64(b.N)
			total := 0
			names := make([]string, 0, len(c.counts))
			for name, k := range c.counts {
				total += k
				names = append(names, name)
			}
			sort.Strings(names)
			slices.Sort(perReq)
			b.ReportMetric(float64(total)/n, "hostcalls/op")
			b.ReportMetric(float64(perReq[len(perReq)/2].Nanoseconds()), "hostcall-ns/op")
			for _, name := range names {
				b.ReportMetric(float64(c.counts[name])/n, name+"/op")
			}
		})
	}
}
