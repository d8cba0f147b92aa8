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
	runs                           int
	cpu, p50, p99                  time.Duration
	rps                            float64
	addCPU, addP50, addP99         time.Duration
	rpsVsNone                      float64 // median of rps / none's rps
	peerRatio                      float64 // median of addCPU / peer's addCPU (NaN: no peer)
	hasAdded                       bool
	peerRuns                       int
	versusName                     string
	versusRatio                    float64
	versusRuns                     int
	addP99Samples, addCPUSamples   []time.Duration
	peerRatioSamples, versusRatios []float64
}

func (r results) summary(row string, conc int, peer, versus string) (summary, bool) {
	ss := r[key{row, conc}]
	if len(ss) == 0 {
		return summary{}, false
	}
	var s summary
	s.runs = len(ss)
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
		s.addCPUSamples, s.addP99Samples = dc, d99
	}
	s.peerRatio, s.peerRatioSamples = r.ratio(row, peer, conc)
	s.peerRuns = len(s.peerRatioSamples)
	if versus != "" {
		s.versusName = versus
		s.versusRatio, s.versusRatios = r.ratio(row, versus, conc)
		s.versusRuns = len(s.versusRatios)
	}
	return s, true
}

// ratio is the median over runs of row's added CPU divided by peer's, both over the same
// run's "none"; NaN when there is no peer or no pair.
func (r results) ratio(row, peer string, conc int) (float64, []float64) {
	a, b, none := r[key{row, conc}], r[key{peer, conc}], r[key{"none", conc}]
	if peer == "" || len(a) == 0 || len(b) == 0 || len(none) == 0 {
		return math.NaN(), nil
	}
	var q []float64
	for i := 0; i < len(a) && i < len(b) && i < len(none); i++ {
		pa, pb := a[i].cpu-none[i].cpu, b[i].cpu-none[i].cpu
		if pb <= 0 {
			continue
		}
		q = append(q, float64(pa)/float64(pb))
	}
	if len(q) == 0 {
		return math.NaN(), nil
	}
	return medianF(q), q
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
