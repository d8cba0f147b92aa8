package main

import (
	"math"
	"slices"
)

// A bench gathers every run of one benchmark on one side (native or wasm),
// in the order the runs happened.
type bench struct {
	pkg, name string
	runs      []map[string]float64
}

// group collects results by package and name, keeping first-seen order.
func group(results []result) (map[string]*bench, []string) {
	byKey := map[string]*bench{}
	var order []string
	for _, r := range results {
		k := r.pkg + "\x00" + r.name
		b, ok := byKey[k]
		if !ok {
			b = &bench{pkg: r.pkg, name: r.name}
			byKey[k] = b
			order = append(order, k)
		}
		b.runs = append(b.runs, r.metrics)
	}
	return byKey, order
}

// values returns the unit's values over the runs that reported it.
func (b *bench) values(unit string) []float64 {
	if b == nil {
		return nil
	}
	var vs []float64
	for _, m := range b.runs {
		if v, ok := m[unit]; ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// median returns the median of vs, NaN when vs is empty.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread returns half the range of vs relative to its median (0.04 for
// ±4%), NaN when vs is empty.
func spread(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	return (slices.Max(vs) - slices.Min(vs)) / 2 / median(vs)
}

// ratio returns the median over runs of wasm/native ns/op, pairing run i of
// each side: runs are interleaved, so a pair saw the same machine load. When
// the run counts differ it falls back to the ratio of the medians.
func ratio(native, wasm *bench) float64 {
	n, w := native.values("ns/op"), wasm.values("ns/op")
	if len(n) == 0 || len(w) == 0 {
		return math.NaN()
	}
	if len(n) != len(w) {
		return median(w) / median(n)
	}
	rs := make([]float64, len(n))
	for i := range n {
		rs[i] = w[i] / n[i]
	}
	return median(rs)
}
