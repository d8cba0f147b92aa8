package main

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
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

// confidence is the level of the report's confidence intervals, benchstat's
// default.
const confidence = 0.95

// summarize returns benchmath's summary of vs under no distributional
// assumption: the median and a distribution-free confidence interval of it,
// whose bounds are infinite when vs has too few values for the level. Every
// field is NaN when vs is empty.
func summarize(vs []float64) benchmath.Summary {
	if len(vs) == 0 {
		nan := math.NaN()
		return benchmath.Summary{Center: nan, Lo: nan, Hi: nan}
	}
	s := benchmath.NewSample(slices.Clone(vs), &benchmath.DefaultThresholds) // NewSample sorts in place
	return benchmath.AssumeNothing.Summary(s, confidence)
}

// runsForCI is the fewest values for which summarize gives a finite
// confidence interval (6 at 95%).
func runsForCI() int {
	vs := []float64{1}
	for len(vs) < 100 {
		vs = append(vs, float64(len(vs)+1))
		if s := summarize(vs); !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) {
			break
		}
	}
	return len(vs)
}

// median returns the median of vs, NaN when vs is empty.
func median(vs []float64) float64 { return summarize(vs).Center }

// spread returns half the range of vs relative to its median (0.04 for
// ±4%), NaN when vs is empty.
func spread(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	return (slices.Max(vs) - slices.Min(vs)) / 2 / median(vs)
}

// ratio returns the median over runs of wasm/native ns/op; see ratioSummary.
func ratio(native, wasm *bench) float64 { return ratioSummary(native, wasm).Center }

// ratioSummary summarizes wasm/native ns/op over runs, pairing run i of each
// side: runs are interleaved, so a pair saw the same machine load. When the
// run counts differ it falls back to the ratio of the medians, with no
// confidence interval (NaN bounds).
func ratioSummary(native, wasm *bench) benchmath.Summary {
	n, w := native.values("ns/op"), wasm.values("ns/op")
	nan := math.NaN()
	if len(n) == 0 || len(w) == 0 {
		return benchmath.Summary{Center: nan, Lo: nan, Hi: nan}
	}
	if len(n) != len(w) {
		return benchmath.Summary{Center: median(w) / median(n), Lo: nan, Hi: nan}
	}
	rs := make([]float64, len(n))
	for i := range n {
		rs[i] = w[i] / n[i]
	}
	return summarize(rs)
}
