package main

import (
	"math"
	"sort"
	"time"
)

// sample is one measured run of one row at one concurrency.
type sample struct {
	cpu, p50, p99 time.Duration // cpu: per request
	rps           float64
}

type key struct {
	row  string
	conc int
}

// results are the samples in run order; a row's sample i and the "none" row's sample i were
// taken in the same run, seconds apart, which is what the differences pair.
type results map[key][]sample

func (r results) add(row string, conc int, s sample) {
	k := key{row, conc}
	r[k] = append(r[k], s)
}

// summary is a row at one concurrency over the runs: medians of the values, and medians of
// the per-run differences to "none" and ratios to the peer's per-run difference.
type summary struct {
	cpu, p50, p99          time.Duration
	rps                    float64
	hasAdded               bool // the row is not "none", and "none" ran
	addCPU, addP50, addP99 time.Duration
	rpsVsNone              float64 // median of rps / none's rps
	peerRatio              float64 // added CPU / the peer's (NaN: no peer)
	versusRatio            float64 // added CPU / the versus row's (oauth2-proxy)
}

func (r results) summary(row string, conc int, peer, versus string) (summary, bool) {
	ss := r[key{row, conc}]
	if len(ss) == 0 {
		return summary{}, false
	}
	var s summary
	var cpu, p50, p99 []time.Duration
	var rps []float64
	for _, x := range ss {
		cpu, p50, p99, rps = append(cpu, x.cpu), append(p50, x.p50), append(p99, x.p99), append(rps, x.rps)
	}
	s.cpu, s.p50, s.p99, s.rps = median(cpu), median(p50), median(p99), medianF(rps)
	none := r[key{"none", conc}]
	if row != "none" && len(none) > 0 {
		var dc, d50, d99 []time.Duration
		var rr []float64
		for i := 0; i < len(ss) && i < len(none); i++ {
			dc = append(dc, ss[i].cpu-none[i].cpu)
			d50 = append(d50, ss[i].p50-none[i].p50)
			d99 = append(d99, ss[i].p99-none[i].p99)
			rr = append(rr, ss[i].rps/none[i].rps)
		}
		s.hasAdded = true
		s.addCPU, s.addP50, s.addP99, s.rpsVsNone = median(dc), median(d50), median(d99), medianF(rr)
	}
	s.peerRatio, s.versusRatio = r.ratio(row, peer, conc), r.ratio(row, versus, conc)
	return s, true
}

// ratio is the median over runs of row's added CPU divided by peer's, both over the same
// run's "none". When the peer's added CPU is within the noise (zero or below in some run),
// it is the ratio of the medians instead; NaN when there is no peer, or its median added CPU
// is not above zero either.
func (r results) ratio(row, peer string, conc int) float64 {
	a, b, none := r[key{row, conc}], r[key{peer, conc}], r[key{"none", conc}]
	if peer == "" {
		return math.NaN()
	}
	var q []float64
	var pa, pb []time.Duration
	for i := 0; i < len(a) && i < len(b) && i < len(none); i++ {
		pa, pb = append(pa, a[i].cpu-none[i].cpu), append(pb, b[i].cpu-none[i].cpu)
		if pb[i] > 0 {
			q = append(q, float64(pa[i])/float64(pb[i]))
		}
	}
	switch {
	case len(q) > 0 && len(q) == len(pb):
		return medianF(q)
	case len(pb) > 0 && median(pb) > 0:
		return float64(median(pa)) / float64(median(pb))
	}
	return math.NaN()
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sortDurations(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianF(f []float64) float64 {
	if len(f) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), f...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
