// Command benchtable turns the Go benchmark output of `make bench` (the same
// benchmarks run natively and in wasm, interleaved) into a markdown report:
// per package, the median time/op on each side, the median wasm/native ratio
// of paired runs and its confidence interval (golang.org/x/perf/benchmath),
// B/op and allocs/op; plus plugin.wasm's compile and
// instantiate costs and a calibration table against the cost model.
//
// Usage:
//
//	benchtable -native native.txt -wasm wasm.txt [-plugin plugin.txt]
//	    [-plugin-wasm plugin.wasm] [-model model.txt] [-module path]
//	    [-wazero version] [-benchtime d] [-note line]...
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	nativeFile := flag.String("native", "", "native benchmark output (required)")
	wasmFile := flag.String("wasm", "", "wasm benchmark output (required)")
	pluginFile := flag.String("plugin", "", "output of the plugin.wasm compile/instantiate benchmarks")
	pluginWasm := flag.String("plugin-wasm", "", "plugin.wasm, for its size")
	modelFile := flag.String("model", "", "cost model rows to calibrate against")
	module := flag.String("module", "", "module path to strip from package names")
	wazero := flag.String("wazero", "", "wazero version, for the report")
	benchtime := flag.String("benchtime", "", "-benchtime of the runs, for the report")
	tolerance := flag.Float64("tolerance", 1.5, "factor a measurement may stray from the model and still be ok")
	var notes []string
	flag.Func("note", "a line to add to the environment section (repeatable)", func(s string) error {
		notes = append(notes, s)
		return nil
	})
	flag.Parse()
	if *nativeFile == "" || *wasmFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	r := &report{module: *module, tolerance: *tolerance}
	var err error
	if r.native, err = parseFile(*nativeFile); err != nil {
		fatal(err)
	}
	if r.wasm, err = parseFile(*wasmFile); err != nil {
		fatal(err)
	}
	if *pluginFile != "" {
		if r.plugin, err = parseFile(*pluginFile); err != nil {
			fatal(err)
		}
	}
	if *modelFile != "" {
		f, err := os.Open(*modelFile)
		if err != nil {
			fatal(err)
		}
		r.model, err = parseModel(f)
		f.Close()
		if err != nil {
			fatal(fmt.Errorf("%s: %w", *modelFile, err))
		}
	}
	r.meta = append(meta(r, *wazero, *benchtime, *pluginWasm), notes...)
	r.write(os.Stdout)
}

func meta(r *report, wazero, benchtime, pluginWasm string) []string {
	runs := 0
	for _, rs := range [][]result{r.native, r.wasm} {
		b, _ := group(rs)
		for _, x := range b {
			runs = max(runs, len(x.runs))
		}
	}
	m := []string{
		"date: " + time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		fmt.Sprintf("machine: %d CPUs, %s, %s/%s", runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH),
		"Go: " + runtime.Version() + ", wasm: GOOS=wasip1 GOARCH=wasm",
	}
	if wazero != "" {
		m = append(m, "wazero: "+wazero+", compiler engine")
	}
	run := fmt.Sprintf("runs: %d per side, native and wasm interleaved, one thread each (-test.cpu 1); medians, ± is half the range", runs) +
		fmt.Sprintf("; CI: distribution-free %.0f%% confidence interval of the median paired wasm/native ratio (golang.org/x/perf/benchmath), — below %d runs", 100*confidence, runsForCI())
	if benchtime != "" {
		run += "; benchtime " + benchtime
	}
	m = append(m, run)
	if pluginWasm != "" {
		if fi, err := os.Stat(pluginWasm); err == nil {
			m = append(m, fmt.Sprintf("plugin.wasm: %s bytes (%.2f MiB)", thousands(fi.Size()), float64(fi.Size())/(1<<20)))
		}
	}
	return m
}

func parseFile(name string) ([]result, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rs, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchtable:", err)
	os.Exit(1)
}
