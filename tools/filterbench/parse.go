package main

import (
	"bufio"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// runs holds the measurements of one benchmark: one map of unit -> value per run, in the
// order the runs appear in the output.
type runs []map[string]float64

// results maps a benchmark's name ("BenchmarkFilter/session-warm") to its runs; order lists
// the names in order of first appearance.
type results struct {
	byName map[string]runs
	order  []string
}

func parseFile(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f)
}

// parse reads Go benchmark output: lines "BenchmarkX/sub[-P]  N  v unit  v unit ...". Other
// lines are ignored.
func parse(r io.Reader) (*results, error) {
	res := &results{byName: map[string]runs{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = v
		}
		if _, seen := res.byName[name]; !seen {
			res.order = append(res.order, name)
		}
		res.byName[name] = append(res.byName[name], m)
	}
	return res, sc.Err()
}

// values returns unit's values over the runs of name that have it.
func (r *results) values(name, unit string) []float64 {
	if r == nil {
		return nil
	}
	var out []float64
	for _, m := range r.byName[name] {
		if v, ok := m[unit]; ok {
			out = append(out, v)
		}
	}
	return out
}

// median of vs; ok is false when vs is empty.
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// spread is half the range of vs relative to its median: a quick noise gauge.
func spread(vs []float64) float64 {
	m, ok := median(vs)
	if !ok || m == 0 || len(vs) < 2 {
		return 0
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	return (hi - lo) / 2 / m
}

// paired returns f(a[i], b[i]) for the runs both sides have, in order.
func paired(a, b []float64, f func(x, y float64) float64) []float64 {
	n := min(len(a), len(b))
	out := make([]float64, n)
	for i := range n {
		out[i] = f(a[i], b[i])
	}
	return out
}
