// Command filterbench prints the whole-filter section of `make bench`: each scenario of
// internal/filterbench measured in wasm (e2e/bench) and natively (filter/bench_test.go), as a
// markdown table of medians, wasm/native ratios, the cost over the no-op plugin's floor
// against the targets, host calls and allocations; then VM start-up and memory.
// scripts/bench-filter.sh runs the benchmarks and then this command.
//
// Usage:
//
//	filterbench -list
//	filterbench -native native.txt -wasm wasm.txt [-calls calls.txt]
//	    [-start-native f] [-start-wasm f] [-mem-wasm f]
//	    [-plugin-wasm plugin.wasm] [-count n] [-benchtime d] [-wazero v] [-note line]...
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/filterbench"
)

func main() {
	list := flag.Bool("list", false, "print the scenario names, one a line, and exit")
	r := &report{goVers: runtime.Version()}
	files := map[string]**results{}
	for flagName, dst := range map[string]**results{
		"native": &r.native, "wasm": &r.wasm, "calls": &r.calls, "start-native": &r.startNative,
		"start-wasm": &r.startWasm, "mem-wasm": &r.memWasm,
	} {
		files[flagName] = dst
	}
	paths := map[string]*string{}
	for name := range files {
		paths[name] = flag.String(name, "", "benchmark output: "+name)
	}
	pluginWasm := flag.String("plugin-wasm", "", "plugin.wasm, for its size")
	flag.IntVar(&r.count, "count", 0, "runs per side and row, for the report")
	flag.StringVar(&r.benchtime, "benchtime", "", "-benchtime of the runs, for the report")
	flag.StringVar(&r.wazero, "wazero", "", "wazero version, for the report")
	flag.Func("note", "a line for the report's notes (repeatable)", func(s string) error {
		r.notes = append(r.notes, s)
		return nil
	})
	flag.Parse()
	if *list {
		fx, err := filterbench.New()
		if err != nil {
			fatal(err)
		}
		for _, sc := range fx.Scenarios() {
			fmt.Println(sc.Name)
		}
		return
	}
	if *paths["native"] == "" || *paths["wasm"] == "" {
		flag.Usage()
		os.Exit(2)
	}
	for name, dst := range files {
		if *paths[name] == "" {
			continue
		}
		res, err := parseFile(*paths[name])
		if err != nil {
			fatal(err)
		}
		*dst = res
	}
	if *pluginWasm != "" {
		if fi, err := os.Stat(*pluginWasm); err == nil {
			r.pluginSize = fi.Size()
		}
	}
	r.write(os.Stdout)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "filterbench:", err)
	os.Exit(1)
}
