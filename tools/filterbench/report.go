package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

const filterPrefix = "BenchmarkFilter/"

// row describes one scenario of the report.
type row struct {
	label  string
	target float64 // µs over the floor; 0 when the issue sets none
}

// rows names and targets the scenarios of internal/filterbench; unknown scenarios still get a
// row, under their own name.
var rows = map[string]row{
	"floor":             {label: "(g) host floor: no-op plugin"},
	"abi-only":          {label: "ABI floor: a warm request's host calls, no logic"},
	"pass-through":      {label: "(f) pass-through (`/healthz`)"},
	"session-warm":      {label: "(a) session, warm (cache hit)", target: 5},
	"session-cold":      {label: "(b) session, cold (open + decode)", target: 50},
	"callback-RS256":    {label: "(c) callback, RS256 ID token", target: 1000},
	"callback-ES256":    {label: "(c) callback, ES256 ID token", target: 1000},
	"refresh":           {label: "(d) refresh (a cold open, then the refresh)"},
	"bearer-RS256-miss": {label: "(e) bearer RS256, cache miss", target: 300},
	"bearer-RS256-hit":  {label: "(e) bearer RS256, cache hit", target: 5},
	"bearer-ES256-miss": {label: "(e) bearer ES256, cache miss"},
	"bearer-ES256-hit":  {label: "(e) bearer ES256, cache hit", target: 5},
	"bearer-EdDSA-miss": {label: "(e) bearer EdDSA, cache miss"},
	"bearer-EdDSA-hit":  {label: "(e) bearer EdDSA, cache hit", target: 5},
}

// report holds every input of the report.
type report struct {
	native, wasm, calls       *results
	startNative, startWasm    *results
	memWasm                   *results
	pluginSize                int64
	count                     int
	benchtime, wazero, goVers string
	notes                     []string
}

const cpuUnit = "cpu-ns/op"

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "### Whole filter: wasm (wazero compiler) vs native (proxytest)\n\n")
	fmt.Fprintf(w, "CPU time per request in µs: the median over %d runs of each side's thread CPU time for the "+
		"request's whole proxy-wasm life (context create, request headers, callouts answered in line, "+
		"response headers, log, done, delete), host work included. \"over floor\" is the median of the "+
		"per-run differences with the no-op plugin's row (g). wasm/native is the median of the paired "+
		"runs' ratios. ± is half the range of the wasm runs.\n\n", r.count)
	fmt.Fprintln(w, "| path | wasm µs | native µs | wasm/native | wasm over floor | target over floor | native over floor | host calls | wasm B / allocs | native B / allocs | wasm GCs /1k req |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
	floorW := r.wasm.values(filterPrefix+"floor", cpuUnit)
	floorN := r.native.values(filterPrefix+"floor", cpuUnit)
	for _, name := range r.scenarios() {
		full := filterPrefix + name
		label := rows[name].label
		if label == "" {
			label = name
		}
		w1, n1 := r.wasm.values(full, cpuUnit), r.native.values(full, cpuUnit)
		if len(w1) == 0 && len(n1) == 0 {
			fmt.Fprintf(w, "| %s | not yet | not yet | | | | | | | | |\n", label)
			continue
		}
		over := paired(w1, floorW, func(x, y float64) float64 { return x - y })
		overN := paired(n1, floorN, func(x, y float64) float64 { return x - y })
		ratio := paired(w1, n1, func(x, y float64) float64 { return x / y })
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
			usSpread(w1), us(n1), times(ratio), us(over), r.verdict(name, over), us(overN),
			num(r.calls.values("BenchmarkHostCalls/"+name, "hostcalls/op")),
			alloc(r.wasm, full), alloc(r.native, full), num(r.wasm.values(full, "gc/1000op")))
	}
	fmt.Fprintln(w)
	r.writeVM(w)
	r.writeCalls(w)
	r.writeEnv(w)
}

// scenarios lists the scenario names in the order the wasm (else native) output has them.
func (r *report) scenarios() []string {
	var out []string
	seen := map[string]bool{}
	for _, res := range []*results{r.wasm, r.native} {
		if res == nil {
			continue
		}
		for _, n := range res.order {
			if s, ok := strings.CutPrefix(n, filterPrefix); ok && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

func (r *report) verdict(name string, over []float64) string {
	t := rows[name].target
	m, ok := median(over)
	if t == 0 || !ok {
		return "—"
	}
	m /= 1e3 // ns
	if m <= t {
		return fmt.Sprintf("≤ %s: **met**", fmtUS(t))
	}
	return fmt.Sprintf("≤ %s: **missed** by %s", fmtUS(t), fmtUS(m-t))
}

func (r *report) writeVM(w io.Writer) {
	fmt.Fprintln(w, "| VM | wasm | native | target | verdict |")
	fmt.Fprintln(w, "|---|---:|---:|---|---|")
	if r.pluginSize > 0 {
		fmt.Fprintf(w, "| plugin.wasm size | %.2f MiB (%d bytes) | | | |\n", float64(r.pluginSize)/(1<<20), r.pluginSize)
	}
	start := r.startWasm.values("BenchmarkVMStart", "start-ns/op")
	startN := r.startNative.values("BenchmarkVMStart", "start-ns/op")
	if m, ok := median(start); ok {
		v := "**met**"
		if m > 100e6 {
			v = fmt.Sprintf("**missed** by %.1f ms", m/1e6-100)
		}
		fmt.Fprintf(w, "| VM start + configure (instantiate, `_initialize`, vm_start, configure) | %s | %s | ≤ 100 ms | %s |\n",
			ms(start), ms(startN), v)
	}
	fresh := r.memWasm.values("BenchmarkMemory10k", "fresh-MiB")
	lin := r.memWasm.values("BenchmarkMemory10k", "linear-MiB")
	if m, ok := median(lin); ok {
		v := "**met**"
		if m > 24 {
			v = fmt.Sprintf("**missed** by %.1f MiB", m-24)
		}
		fmt.Fprintf(w, "| linear memory, fresh VM | %s | | | |\n", mib(fresh))
		fmt.Fprintf(w, "| linear memory after 10k distinct sessions | %s | | ≤ 24 MiB | %s |\n", mib(lin), v)
		fmt.Fprintf(w, "| guest Go heap after 10k sessions: live / in spans / obtained | %s / %s / %s | | | |\n",
			mib(r.memWasm.values("BenchmarkMemory10k", "heap-MiB")), mib(r.memWasm.values("BenchmarkMemory10k", "inuse-MiB")),
			mib(r.memWasm.values("BenchmarkMemory10k", "heapsys-MiB")))
	}
	fmt.Fprintln(w)
}

// writeCalls lists the host functions each scenario's request calls.
func (r *report) writeCalls(w io.Writer) {
	if r.calls == nil || len(r.calls.order) == 0 {
		return
	}
	fmt.Fprintln(w, "Host calls per request (wasm, counted by a wazero listener on the host module; time in them is an upper bound, listener included):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| path | calls | µs in host calls | by function |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	for _, name := range r.calls.order {
		scen := strings.TrimPrefix(name, "BenchmarkHostCalls/")
		runs := r.calls.byName[name]
		if len(runs) == 0 {
			continue
		}
		last := runs[len(runs)-1]
		var parts []string
		for unit, v := range last {
			if fn, ok := strings.CutSuffix(unit, "/op"); ok && strings.HasPrefix(fn, "proxy_") && v > 0 {
				parts = append(parts, fmt.Sprintf("%s %s", strings.TrimPrefix(fn, "proxy_"), trim(v)))
			}
		}
		sort.Strings(parts)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", scen, trim(last["hostcalls/op"]), fmtUS(last["hostcall-ns/op"]/1e3), strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
}

func (r *report) writeEnv(w io.Writer) {
	fmt.Fprintf(w, "Runs: %d per side and row, `-benchtime %s`, one thread (`-test.cpu 1`), native and wasm "+
		"alternating row by row. %s; wazero %s.\n", r.count, r.benchtime, r.goVers, r.wazero)
	for _, n := range r.notes {
		fmt.Fprintf(w, "\n- %s", n)
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(w)
	}
}

// Formatting. Times arrive in ns.

func fmtUS(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return fmt.Sprintf("%.2f ms", v/1000)
	case a >= 100:
		return fmt.Sprintf("%.0f µs", v)
	default:
		return fmt.Sprintf("%.1f µs", v)
	}
}

func us(ns []float64) string {
	m, ok := median(ns)
	if !ok {
		return "n/a"
	}
	return fmtUS(m / 1e3)
}

func usSpread(ns []float64) string {
	if len(ns) < 2 {
		return us(ns)
	}
	return fmt.Sprintf("%s ±%.0f%%", us(ns), 100*spread(ns))
}

func times(vs []float64) string {
	m, ok := median(vs)
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.1fx", m)
}

func ms(ns []float64) string {
	m, ok := median(ns)
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.1f ms", m/1e6)
}

func mib(vs []float64) string {
	m, ok := median(vs)
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", m)
}

func num(vs []float64) string {
	m, ok := median(vs)
	if !ok {
		return "n/a"
	}
	return trim(m)
}

func trim(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func alloc(r *results, name string) string {
	b, ok1 := median(r.values(name, "filter-B/op"))
	a, ok2 := median(r.values(name, "filter-allocs/op"))
	if !ok1 || !ok2 {
		return "n/a"
	}
	return fmt.Sprintf("%s / %s", bytesFmt(b), trim(math.Round(a*10)/10))
}

func bytesFmt(b float64) string {
	if b >= 10*1024 {
		return fmt.Sprintf("%.0f KiB", b/1024)
	}
	return fmt.Sprintf("%.0f", b)
}
