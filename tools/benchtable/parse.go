package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// A result is one line of Go benchmark output: one run of one benchmark.
type result struct {
	pkg  string // import path from the preceding "pkg:" line
	name string // without the "Benchmark" prefix
	// metrics maps a unit ("ns/op", "B/op", "allocs/op", "MB/s", or a
	// custom b.ReportMetric unit) to its value, as printed by the benchmark.
	metrics map[string]float64
}

// parse reads the standard Go benchmark format (the output of go test -bench
// or of a test binary run with -test.bench) with benchfmt. Lines that are not
// results are ignored: benchfmt itself skips everything but configuration
// ("pkg: ...") and result lines, and its syntax errors for a name with no
// iteration count after it (the name alone, printed by -v or before a
// benchmark's own log output) or a dangling field are dropped, as before. A
// result line with a value that is not a number is an error.
func parse(r io.Reader) ([]result, error) {
	var out []result
	br := benchfmt.NewReader(r, "")
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.Result:
			res := result{pkg: rec.GetConfig("pkg"), name: rec.Name.String(), metrics: map[string]float64{}}
			for _, v := range rec.Values {
				unit, val := untidy(v)
				res.metrics[unit] = val
			}
			out = append(out, res)
		case *benchfmt.SyntaxError:
			if strings.HasPrefix(rec.Msg, "parsing measurement") {
				return nil, fmt.Errorf("line %d: %s", rec.Line, rec.Msg)
			}
		}
	}
	if err := br.Err(); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // benchfmt's "file:line: " prefix names no file here; parseFile adds it
		}
		return nil, err
	}
	return out, nil
}

// untidy returns a value in the unit the benchmark printed: benchfmt tidies
// units to base units (ns/op becomes sec/op, MB/s becomes B/s) and keeps the
// original beside, except when tidying left the number unchanged (0 ns/op).
func untidy(v benchfmt.Value) (string, float64) {
	switch {
	case v.OrigUnit != "":
		return v.OrigUnit, v.OrigValue
	case v.Unit == "sec/op":
		return "ns/op", v.Value * 1e9
	}
	return v.Unit, v.Value
}
