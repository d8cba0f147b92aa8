package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A result is one line of Go benchmark output: one run of one benchmark.
type result struct {
	pkg  string // import path from the preceding "pkg:" line
	name string // without the "Benchmark" prefix
	// metrics maps a unit ("ns/op", "B/op", "allocs/op", "MB/s", or a
	// custom b.ReportMetric unit) to its value.
	metrics map[string]float64
}

// parse reads the standard Go benchmark format (the output of go test -bench
// or of a test binary run with -test.bench), ignoring everything that is not
// a "pkg:" line or a benchmark result line.
func parse(r io.Reader) ([]result, error) {
	var out []result
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		res, ok, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if ok {
			res.pkg = pkg
			out = append(out, res)
		}
	}
	return out, sc.Err()
}

// parseLine parses "BenchmarkName[-P] N v1 unit1 v2 unit2 ...". Lines that
// start with Benchmark but carry no iteration count (the name alone, printed
// by -v or before a benchmark's own log output) are not results.
func parseLine(line string) (result, bool, error) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return result{}, false, nil
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return result{}, false, nil
	}
	res := result{name: strings.TrimPrefix(f[0], "Benchmark"), metrics: map[string]float64{}}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result{}, false, fmt.Errorf("%s: value %q: %w", f[0], f[i], err)
		}
		res.metrics[f[i+1]] = v
	}
	return res, true, nil
}
