package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	mustParse := func(s string) []result {
		rs, err := parse(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	r := &report{
		module:    "example.com/m",
		tolerance: 1.5,
		native: mustParse("pkg: example.com/m/calib\n" +
			"BenchmarkSHA 100 1600 ns/op 0 B/op 0 allocs/op\nBenchmarkSHA 100 1700 ns/op 0 B/op 0 allocs/op\n" +
			"BenchmarkNativeOnly 100 10 ns/op\n"),
		wasm: mustParse("pkg: example.com/m/calib\n" +
			"BenchmarkSHA 10 40000 ns/op 0 B/op 0 allocs/op\nBenchmarkSHA 10 42500 ns/op 0 B/op 0 allocs/op\n"),
		plugin: mustParse("BenchmarkPluginCompile 1 700000000 ns/op 10 B/op 1 allocs/op\n"),
		model: []modelRow{
			{name: "SHA", label: "SHA-256, 2.5 KB", native: span{1600, 1600}, wasm: span{40000, 40000}},
			{name: "Missing", label: "not benchmarked", native: span{1, 1}, wasm: span{2, 2}},
			{name: "PluginCompile", label: "compile plugin.wasm", wasm: span{2e9, 2e9}},
		},
	}
	var b strings.Builder
	r.write(&b)
	out := b.String()
	for _, want := range []string{
		"\n## calib\n",
		"| SHA | 1.65 µs ±3% | 41.2 µs ±3% | 25x | 0 | 0 | 0 |",
		"| NativeOnly | 10.0 ns | — | — | — | — | — |",
		"| PluginCompile | 700 ms |  | 10 | 1 |",
		"| SHA-256, 2.5 KB | 1.60 µs | 1.65 µs | 40.0 µs | 41.2 µs | 25x | 25x | ok |",
		"| not benchmarked | 1.00 ns | — | 2.00 ns | — | 2.0x | — | not measured |",
		"| compile plugin.wasm | — | — | 2.00 s | 700 ms | — | — | wasm 2.9x faster |",
		// The confidence interval column, last: two runs are too few at 95%.
		"| allocs/op | wasm/native 95% CI |\n",
		"| SHA | 1.65 µs ±3% | 41.2 µs ±3% | 25x | 0 | 0 | 0 | — |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
