package main

import (
	"fmt"
	"math"
	"strconv"

	"golang.org/x/perf/benchmath"
)

const none = "—"

// fmtNs formats nanoseconds with three significant digits and a unit.
func fmtNs(ns float64) string {
	if math.IsNaN(ns) {
		return none
	}
	units := []struct {
		div  float64
		name string
	}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}}
	for _, u := range units {
		if ns >= u.div || u.div == 1 {
			return sig3(ns/u.div) + " " + u.name
		}
	}
	return none
}

// sig3 formats v with three significant digits (at least the integer part).
func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fmtTime formats the median of vs and, over several runs, their spread.
func fmtTime(vs []float64) string {
	s := fmtNs(median(vs))
	if len(vs) > 1 && s != none {
		s += fmt.Sprintf(" ±%.0f%%", 100*spread(vs))
	}
	return s
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return none
	}
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "x"
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + "x"
}

// fmtCI formats a ratio's confidence interval, "6.1x – 6.5x"; none when it
// is unbounded (too few runs) or absent.
func fmtCI(s benchmath.Summary) string {
	for _, v := range []float64{s.Lo, s.Hi} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return none
		}
	}
	return fmtRatio(s.Lo) + " – " + fmtRatio(s.Hi)
}

func fmtSpan(s span, f func(float64) string) string {
	switch {
	case !s.ok():
		return none
	case s.lo == s.hi:
		return f(s.lo)
	}
	return f(s.lo) + " – " + f(s.hi)
}

// fmtCount formats a median count such as B/op or allocs/op.
func fmtCount(vs []float64) string {
	m := median(vs)
	if math.IsNaN(m) {
		return none
	}
	return strconv.FormatFloat(math.Round(m), 'f', 0, 64)
}

// fmtAllocs shows one number when both sides allocate alike, else both.
func fmtAllocs(native, wasm []float64) string {
	n, w := fmtCount(native), fmtCount(wasm)
	if n == w || w == none {
		return n
	}
	if n == none {
		return w
	}
	return n + " / " + w
}

// thousands formats n with commas: 2,322,952.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
