package main

import (
	"math"
	"testing"
)

func TestRatioSummary(t *testing.T) {
	runs := func(ns ...float64) *bench {
		b := &bench{}
		for _, v := range ns {
			b.runs = append(b.runs, map[string]float64{"ns/op": v})
		}
		return b
	}
	if got := runsForCI(); got != 6 {
		t.Errorf("runsForCI() = %d, want 6 at 95%%", got)
	}
	// Six paired ratios 9..14: the median is 11.5 and the distribution-free
	// 95% interval of it spans the extremes.
	s := ratioSummary(runs(1, 1, 1, 1, 1, 1), runs(12, 9, 14, 10, 13, 11))
	if s.Center != 11.5 || s.Lo != 9 || s.Hi != 14 {
		t.Errorf("six runs: center %v, CI [%v, %v]; want 11.5, [9, 14]", s.Center, s.Lo, s.Hi)
	}
	// Too few runs for the level: infinite bounds, and a warning.
	s = ratioSummary(runs(1, 1, 1), runs(10, 20, 30))
	if s.Center != 20 || !math.IsInf(s.Lo, -1) || !math.IsInf(s.Hi, 1) || len(s.Warnings) == 0 {
		t.Errorf("three runs: %+v", s)
	}
	// Unequal counts: no interval.
	if s := ratioSummary(runs(2), runs(10, 30)); s.Center != 10 || !math.IsNaN(s.Lo) || !math.IsNaN(s.Hi) {
		t.Errorf("unequal counts: %+v", s)
	}
}
