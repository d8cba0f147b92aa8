package main

import (
	"bytes"
	"strings"
	"testing"
)

const nativeOut = `goos: linux
BenchmarkFilter/floor         	   48286	      6237 ns/op	      3000 cpu-ns/op	       833.0 filter-B/op	         3.006 filter-allocs/op
BenchmarkFilter/session-warm  	   10000	     33811 ns/op	     13000 cpu-ns/op	     14367 filter-B/op	        12.01 filter-allocs/op
BenchmarkFilter/floor         	   48286	      6237 ns/op	      3200 cpu-ns/op	       833.0 filter-B/op	         3.006 filter-allocs/op
BenchmarkFilter/session-warm  	   10000	     33811 ns/op	     13200 cpu-ns/op	     14367 filter-B/op	        12.01 filter-allocs/op
PASS
`

const wasmOut = `BenchmarkFilter/floor-2         	   75170	      3295 ns/op	      2000 cpu-ns/op	         0 filter-B/op	         0 filter-allocs/op	 0 gc/1000op
BenchmarkFilter/session-warm-2  	    3141	     67838 ns/op	      6000 cpu-ns/op	     12500 filter-B/op	         8.000 filter-allocs/op	 2.2 gc/1000op
BenchmarkFilter/floor-2         	   75170	      3295 ns/op	      4000 cpu-ns/op	         0 filter-B/op	         0 filter-allocs/op	 0 gc/1000op
BenchmarkFilter/session-warm-2  	    3141	     67838 ns/op	     14000 cpu-ns/op	     12500 filter-B/op	         8.000 filter-allocs/op	 2.2 gc/1000op
`

func mustParse(t *testing.T, s string) *results {
	t.Helper()
	r, err := parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParse(t *testing.T) {
	r := mustParse(t, wasmOut)
	if got := r.order; len(got) != 2 || got[0] != "BenchmarkFilter/floor" || got[1] != "BenchmarkFilter/session-warm" {
		t.Fatalf("order = %v, want floor then session-warm without the -2 suffix", got)
	}
	if got := r.values("BenchmarkFilter/session-warm", "cpu-ns/op"); len(got) != 2 || got[0] != 6000 || got[1] != 14000 {
		t.Fatalf("cpu-ns/op = %v", got)
	}
	if m, _ := median([]float64{5, 1, 3}); m != 3 {
		t.Fatalf("median = %v", m)
	}
}

func TestReport(t *testing.T) {
	r := &report{native: mustParse(t, nativeOut), wasm: mustParse(t, wasmOut), count: 2}
	var b bytes.Buffer
	r.write(&b)
	out := b.String()
	for _, want := range []string{
		// warm: runs 6-2=4 µs and 14-4=10 µs over the floor, median 7 µs, against 5 µs
		"| (a) session, warm (cache hit) | 10.0 µs ±40% | 13.1 µs | 0.8x | 7.0 µs | ≤ 5.0 µs: **missed** by 2.0 µs | 10.0 µs |",
		"| 12 KiB / 8 | 14 KiB / 12 | 2.2 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
