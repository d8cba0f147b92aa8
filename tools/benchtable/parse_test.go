package main

import (
	"math"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: example.com/m/state
cpu: AMD EPYC
BenchmarkOpen200B
BenchmarkOpen200B-2   	  432664	       294.0 ns/op	 680.37 MB/s	       5 B/op	       1 allocs/op
BenchmarkOpen200B-2   	  432664	       300.0 ns/op	 680.37 MB/s	       5 B/op	       1 allocs/op
    sealer_test.go:12: a log line
BenchmarkPluginInstantiate 37 7186600 ns/op 2.875 linear-MiB 6582476 B/op 34031 allocs/op
PASS
pkg: example.com/m/jwt
BenchmarkVerifyRS256/kid=a 100 31000 ns/op
ok  	example.com/m/state	1.069s
`

func TestParse(t *testing.T) {
	rs, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pkg, name string
		ns        float64
	}{
		{"example.com/m/state", "Open200B-2", 294},
		{"example.com/m/state", "Open200B-2", 300},
		{"example.com/m/state", "PluginInstantiate", 7186600},
		{"example.com/m/jwt", "VerifyRS256/kid=a", 31000},
	}
	if len(rs) != len(want) {
		t.Fatalf("parsed %d results, want %d: %+v", len(rs), len(want), rs)
	}
	for i, w := range want {
		if rs[i].pkg != w.pkg || rs[i].name != w.name || rs[i].metrics["ns/op"] != w.ns {
			t.Errorf("result %d = %s %s %v, want %s %s %v", i, rs[i].pkg, rs[i].name, rs[i].metrics["ns/op"], w.pkg, w.name, w.ns)
		}
	}
	if got := rs[2].metrics["linear-MiB"]; got != 2.875 {
		t.Errorf("custom metric linear-MiB = %v, want 2.875", got)
	}
}

// TestParseLine keeps the cases of the old hand-written parseLine, now run
// through parse (benchfmt): ok is "the line is one result".
func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		ok      bool
		wantErr bool
	}{
		{name: "result", line: "BenchmarkX 10 5 ns/op", ok: true},
		{name: "name alone", line: "BenchmarkX"},
		{name: "log output after name", line: "BenchmarkX some log text here"},
		{name: "odd fields", line: "BenchmarkX 10 5 ns/op 3"},
		{name: "not a benchmark", line: "ok  	example.com/m	1.0s x"},
		{name: "bad value", line: "BenchmarkX 10 five ns/op", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := parse(strings.NewReader(tt.line + "\n"))
			if ok := len(rs) == 1; ok != tt.ok || (err != nil) != tt.wantErr {
				t.Errorf("parse(%q) = ok %v, err %v; want ok %v, error %v", tt.line, ok, err, tt.ok, tt.wantErr)
			}
		})
	}
}

func TestStats(t *testing.T) {
	runs := func(ns ...float64) *bench {
		b := &bench{}
		for _, v := range ns {
			b.runs = append(b.runs, map[string]float64{"ns/op": v})
		}
		return b
	}
	tests := []struct {
		name         string
		native, wasm *bench
		median       float64 // of wasm
		ratio        float64
	}{
		{name: "odd count", native: runs(1, 2, 100), wasm: runs(10, 20, 1000), median: 20, ratio: 10},
		{name: "even count", native: runs(1, 2), wasm: runs(10, 30), median: 20, ratio: 12.5},
		// Paired: run 2 was slow on both sides, its ratio is still 10.
		{name: "paired runs cancel shared noise", native: runs(1, 5, 1), wasm: runs(10, 50, 10), median: 10, ratio: 10},
		{name: "unequal counts use medians", native: runs(2), wasm: runs(10, 30), median: 20, ratio: 10},
		{name: "missing side", native: nil, wasm: runs(10), median: 10, ratio: math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.wasm.values("ns/op")); got != tt.median {
				t.Errorf("median = %v, want %v", got, tt.median)
			}
			if got := ratio(tt.native, tt.wasm); got != tt.ratio && !(math.IsNaN(got) && math.IsNaN(tt.ratio)) {
				t.Errorf("ratio = %v, want %v", got, tt.ratio)
			}
		})
	}
}

// benchfmt tidies units (ns/op to sec/op, MB/s to B/s); the report keeps
// the units the benchmarks printed.
func TestParseUntidies(t *testing.T) {
	rs, err := parse(strings.NewReader("BenchmarkX 10 5 ns/op 2.5 MB/s 3 B/op\nBenchmarkY 10 0 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("parsed %d results, want 2", len(rs))
	}
	want := map[string]float64{"ns/op": 5, "MB/s": 2.5, "B/op": 3}
	if len(rs[0].metrics) != len(want) {
		t.Errorf("metrics = %v, want %v", rs[0].metrics, want)
	}
	for unit, v := range want {
		if got, ok := rs[0].metrics[unit]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", unit, got, ok, v)
		}
	}
	if got, ok := rs[1].metrics["ns/op"]; !ok || got != 0 {
		t.Errorf("0 ns/op read as %v", rs[1].metrics)
	}
}
