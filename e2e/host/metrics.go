package host

import (
	"math"
	"sync"
)

// MetricKind is proxy_metric_type_t.
type MetricKind uint32

// The proxy-wasm metric types.
const (
	Counter MetricKind = iota
	Gauge
	Histogram
)

func (k MetricKind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return "unknown"
}

// MetricValue is a snapshot of one metric. For a counter or gauge, Value is
// its value; for a histogram, Value is the number of samples and Sum, Min and
// Max describe them.
type MetricValue struct {
	Kind     MetricKind
	Value    int64
	Sum      uint64
	Min, Max uint64
}

// metrics is the host-wide store: like Envoy's stats store, a name defined in
// several VMs (worker threads) is one metric.
type metrics struct {
	mu sync.Mutex
	m  map[metricKey]*metric
}

type metricKey struct {
	kind MetricKind
	name string
}

type metric struct {
	kind  MetricKind
	value int64 // counter, gauge (Envoy gauges are uint64; sub wraps there)
	count uint64
	sum   uint64
	min   uint64
	max   uint64
}

func newMetrics() *metrics { return &metrics{m: map[metricKey]*metric{}} }

func (ms *metrics) define(kind MetricKind, name string) *metric {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	k := metricKey{kind, name}
	if m, ok := ms.m[k]; ok {
		return m
	}
	m := &metric{kind: kind, min: math.MaxUint64}
	ms.m[k] = m
	return m
}

// increment applies Envoy's rules: counters only go up (a delta <= 0 is
// BadArgument), gauges move either way, histograms cannot be incremented.
func (ms *metrics) increment(m *metric, delta int64) status {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	switch m.kind {
	case Counter:
		if delta <= 0 {
			return statusBadArgument
		}
		m.value += delta
	case Gauge:
		m.value += delta
	default:
		return statusBadArgument
	}
	return statusOK
}

// record adds to a counter, sets a gauge, or records a histogram sample.
func (ms *metrics) record(m *metric, v uint64) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	switch m.kind {
	case Counter:
		m.value += int64(v)
	case Gauge:
		m.value = int64(v)
	case Histogram:
		m.count++
		m.sum += v
		m.min = min(m.min, v)
		m.max = max(m.max, v)
	}
}

// get reads a counter or gauge; histograms are BadArgument, as in Envoy.
func (ms *metrics) get(m *metric) (uint64, status) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if m.kind == Histogram {
		return 0, statusBadArgument
	}
	return uint64(m.value), statusOK
}

func (ms *metrics) snapshot() map[string]MetricValue {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make(map[string]MetricValue, len(ms.m))
	// Counters win a name clash, then gauges, then histograms, as in lookup.
	for _, kind := range []MetricKind{Histogram, Gauge, Counter} {
		for k, m := range ms.m {
			if k.kind == kind {
				out[k.name] = m.snapshot()
			}
		}
	}
	return out
}

func (ms *metrics) lookup(name string) (MetricValue, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, kind := range []MetricKind{Counter, Gauge, Histogram} {
		if m, ok := ms.m[metricKey{kind, name}]; ok {
			return m.snapshot(), true
		}
	}
	return MetricValue{}, false
}

func (m *metric) snapshot() MetricValue {
	v := MetricValue{Kind: m.kind, Value: m.value}
	if m.kind == Histogram {
		v.Value = int64(m.count)
		v.Sum = m.sum
		if m.count > 0 {
			v.Min, v.Max = m.min, m.max
		}
	}
	return v
}
