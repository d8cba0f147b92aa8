package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// A span is a model's value or range of values, in nanoseconds.
type span struct{ lo, hi float64 }

func (s span) ok() bool { return s.hi > 0 }

// A modelRow is one row of the cost model: the expected native and wasm time
// of a benchmark. A row with no native value describes a host-side cost (such
// as compiling plugin.wasm), compared with the benchmark's own time.
type modelRow struct {
	name, label  string
	native, wasm span
}

// parseModel reads lines of "Name native wasm label...", where native and
// wasm are Go durations ("32us"), ranges ("270us..285us") or "-" for none.
// Blank lines and lines starting with # are ignored.
func parseModel(r io.Reader) ([]modelRow, error) {
	var rows []modelRow
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("model line %d: want name, native, wasm, label", n)
		}
		native, err := parseSpan(f[1])
		if err != nil {
			return nil, fmt.Errorf("model line %d: native: %w", n, err)
		}
		wasm, err := parseSpan(f[2])
		if err != nil || !wasm.ok() {
			return nil, fmt.Errorf("model line %d: wasm: want a duration, got %q", n, f[2])
		}
		rows = append(rows, modelRow{name: f[0], native: native, wasm: wasm, label: strings.Join(f[3:], " ")})
	}
	return rows, sc.Err()
}

func parseSpan(s string) (span, error) {
	if s == "-" {
		return span{}, nil
	}
	lo, hi, isRange := strings.Cut(s, "..")
	if !isRange {
		hi = lo
	}
	l, err := time.ParseDuration(lo)
	if err != nil {
		return span{}, err
	}
	h, err := time.ParseDuration(hi)
	if err != nil {
		return span{}, err
	}
	if l <= 0 || h < l {
		return span{}, fmt.Errorf("%q: want 0 < lo <= hi", s)
	}
	return span{float64(l), float64(h)}, nil
}

// ratio is the model's wasm/native range.
func (m modelRow) ratio() span {
	if !m.native.ok() {
		return span{}
	}
	return span{m.wasm.lo / m.native.hi, m.wasm.hi / m.native.lo}
}

// deviation says how far v lies outside s beyond a tolerance factor, as
// "2.1x slower" or "3.0x faster" ("x" words for ratios: "higher"/"lower"),
// or "" when it lies within.
func deviation(v float64, s span, tolerance float64, up, down string) string {
	switch {
	case !s.ok() || v != v:
		return ""
	case v > s.hi*tolerance:
		return fmt.Sprintf("%.1fx %s", v/s.hi, up)
	case v < s.lo/tolerance:
		return fmt.Sprintf("%.1fx %s", s.lo/v, down)
	}
	return ""
}
