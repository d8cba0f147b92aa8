package main

import (
	"math"
	"strings"
	"testing"

	"golang.org/x/perf/benchmath"
)

func TestParseModel(t *testing.T) {
	rows, err := parseModel(strings.NewReader(`# comment
RSAVerify  32us  270us..285us  RSA-2048 PKCS#1 verify

PluginCompile  -  700ms  compile plugin.wasm
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2", len(rows))
	}
	r := rows[0]
	if r.name != "RSAVerify" || r.label != "RSA-2048 PKCS#1 verify" || r.native != (span{32e3, 32e3}) || r.wasm != (span{270e3, 285e3}) {
		t.Errorf("row 0 = %+v", r)
	}
	if got := r.ratio(); got.lo != 270e3/32e3 || got.hi != 285e3/32e3 {
		t.Errorf("ratio = %+v", got)
	}
	if rows[1].native.ok() || rows[1].ratio().ok() {
		t.Errorf("row 1 has a native value: %+v", rows[1])
	}

	for _, bad := range []string{"X 1us", "X 1us - label", "X 1furlong 2us label", "X 1us 5us..2us label"} {
		if _, err := parseModel(strings.NewReader(bad)); err == nil {
			t.Errorf("parseModel(%q) accepted", bad)
		}
	}
}

func TestDeviation(t *testing.T) {
	s := span{100, 200}
	tests := []struct {
		v    float64
		want string
	}{
		{150, ""},
		{280, ""}, // within 1.5x of the top
		{70, ""},  // within 1.5x of the bottom
		{400, "2.0x slower"},
		{25, "4.0x faster"},
	}
	for _, tt := range tests {
		if got := deviation(tt.v, s, 1.5, "slower", "faster"); got != tt.want {
			t.Errorf("deviation(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtNs(32.68), "32.7 ns"},
		{fmtNs(587.6), "588 ns"},
		{fmtNs(1358), "1.36 µs"},
		{fmtNs(245485), "245 µs"},
		{fmtNs(734340922), "734 ms"},
		{fmtNs(1.2e9), "1.20 s"},
		{fmtRatio(6.31), "6.3x"},
		{fmtRatio(126.4), "126x"},
		{fmtAllocs([]float64{9}, []float64{9}), "9"},
		{fmtAllocs([]float64{9}, []float64{10}), "9 / 10"},
		{thousands(2322952), "2,322,952"},
		{thousands(952), "952"},
		{fmtCI(benchmath.Summary{Center: 6.3, Lo: 6.1, Hi: 6.52}), "6.1x – 6.5x"},
		{fmtCI(benchmath.Summary{Center: 20, Lo: math.Inf(-1), Hi: math.Inf(1)}), "—"},
		{fmtCI(benchmath.Summary{Center: 10, Lo: math.NaN(), Hi: math.NaN()}), "—"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
