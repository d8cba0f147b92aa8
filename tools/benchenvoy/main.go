// Command benchenvoy measures what each request costs in Envoy with plugin.wasm, next to what
// users would pick instead: Envoy's native oauth2 and jwt_authn filters, and oauth2-proxy.
// `make bench-envoy` runs it (scripts/bench-envoy.sh); BENCHMARKS.md explains the table.
//
// Every row is one Envoy 1.40 process with one worker (--concurrency 1, so the CPU per
// request is the worker's plus the main thread's background work), in front of the same
// small net/http app, all on loopback. A closed-loop load generator in this process sends a
// fixed number of requests over 1 and 16 keep-alive connections with raw pre-built HTTP/1.1
// requests. CPU per request is the Envoy process's CPU time over the run (and oauth2-proxy's,
// for its row) divided by the requests; this process's own CPU (load generator, app,
// provider) is not counted, though it shares the machine's cores. Runs are interleaved row
// by row; the table gives medians over runs, each row minus the "no filter" row of the same
// run, and the ratio to its native peer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

var errSkip = errors.New("skipped")

type options struct {
	wasm, oauth2Proxy, noopWasm, out, rows, logPath string
	runs, n, nSlow, warmup, starts                  int
	concs                                           []int
	profile                                         string // rows to profile with perf after the runs
	profileN, profileC                              int
	alt                                             [][2]string // -variant
}

func main() {
	var o options
	root, _ := envoy.Root()
	var concs string
	flag.StringVar(&o.wasm, "wasm", filepath.Join(root, "plugin.wasm"), "plugin.wasm")
	flag.StringVar(&o.oauth2Proxy, "oauth2-proxy", filepath.Join(root, ".cache/bin/oauth2-proxy"), "the oauth2-proxy binary (its row is skipped when missing)")
	flag.StringVar(&o.noopWasm, "noop-wasm", filepath.Join(root, ".cache/bench-envoy/noop.wasm"), "e2e/bench/noop built for wasip1 (the floor rows are skipped when missing)")
	flag.StringVar(&o.out, "out", filepath.Join(root, ".cache/bench-envoy/report.md"), "where to write the report (also printed)")
	flag.StringVar(&o.rows, "rows", ".", "regexp on row names (none is always run)")
	flag.StringVar(&o.logPath, "envoy-log", "", "a file for the Envoy processes' logs")
	flag.IntVar(&o.runs, "runs", 5, "runs; each runs every row at every concurrency once, row by row")
	flag.IntVar(&o.n, "n", 5000, "requests per row and run")
	flag.IntVar(&o.nSlow, "n-slow", 1500, "requests per run of the rows that do asymmetric crypto or open a session on every request")
	flag.IntVar(&o.warmup, "warmup", 200, "requests before each measured run (not measured)")
	flag.IntVar(&o.starts, "starts", 3, "starts of the plugin's Envoy to time (the median is reported)")
	flag.StringVar(&o.profile, "profile", "", "comma-separated rows to sample with Linux perf after the runs (-runs 0: only that)")
	flag.IntVar(&o.profileN, "profile-n", 20000, "requests per profiled row")
	flag.IntVar(&o.profileC, "profile-c", 1, "connections of the profiled rows")
	flag.StringVar(&concs, "c", "1,16", "connections (closed-loop concurrency), comma-separated")
	var alt string
	flag.StringVar(&alt, "variant", "", "other builds of the plugin, name=path,...: each adds the rows pass@name, warm@name and bearer-hit@name, run beside the plugin's (same configuration, same session)")
	flag.Parse()
	for _, a := range strings.Split(alt, ",") {
		if a == "" {
			continue
		}
		name, path, ok := strings.Cut(a, "=")
		if !ok || name == "" || path == "" {
			fatalf("-variant: %q, want name=path", a)
		}
		o.alt = append(o.alt, [2]string{name, path})
	}
	for _, s := range strings.Split(concs, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			fatalf("-c: %q", concs)
		}
		o.concs = append(o.concs, c)
	}
	if err := run(o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchenvoy: "+format+"\n", a...)
	os.Exit(1)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench-envoy: "+format+"\n", a...)
}

func run(o options) error {
	t0 := time.Now()
	match, err := regexp.Compile(o.rows)
	if err != nil {
		return err
	}
	var selected []row
	all := rows
	for _, a := range o.alt {
		all = append(all, altRows(a[0])...)
	}
	for _, r := range all {
		if r.name == "none" || match.MatchString(r.name) {
			selected = append(selected, r)
		}
	}
	if _, err := os.Stat(o.oauth2Proxy); err != nil {
		logf("no oauth2-proxy at %s: its row is skipped", o.oauth2Proxy)
		o.oauth2Proxy = ""
	}
	if _, err := os.Stat(o.noopWasm); err != nil {
		logf("no no-op plugin at %s: the floor rows are skipped", o.noopWasm)
		o.noopWasm = ""
	}
	var logw io.Writer
	if o.logPath != "" {
		f, err := os.Create(o.logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	// The timed starts (the plugin's, each variant's and the no-op's, -starts times each) take
	// up to about 20 s each on a loaded machine: the budgets grow with them.
	startsBudget := time.Duration(max(o.starts, 1)*(len(o.alt)+2)) * 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute+startsBudget)
	defer cancel()
	load0 := loadavg()
	logf("starting the provider, the app, the Envoy processes and oauth2-proxy; logging in through each")
	setup, cancelSetup := context.WithTimeout(ctx, 3*time.Minute+startsBudget)
	r, err := newRig(setup, rigOptions{wasm: o.wasm, alt: o.alt, oauth2Proxy: o.oauth2Proxy, noopWasm: o.noopWasm, starts: o.starts, log: logw})
	cancelSetup()
	if err != nil {
		return err
	}
	defer r.Close()
	logf("setup %v; plugin serving %v after Envoy's exec (median of %d starts)", time.Since(t0).Round(time.Millisecond),
		median(r.ready).Round(time.Millisecond), len(r.ready))
	plugin, pluginCPU := median(r.ready), median(r.startCPU)
	for _, a := range o.alt {
		d, cpu := median(r.altReady[a[0]]), median(r.altStartCPU[a[0]])
		logf("variant %s (%s): serving %v after Envoy's exec, %v of Envoy CPU (medians of %d starts; %.2fx and %.2fx the plugin's)",
			a[0], a[1], d.Round(time.Millisecond), cpu.Round(time.Millisecond), len(r.altReady[a[0]]),
			float64(d)/float64(plugin), float64(cpu)/float64(pluginCPU))
	}
	if len(r.noopReady) > 0 {
		d, cpu := median(r.noopReady), median(r.noopStartCPU)
		logf("no-op plugin: serving %v after Envoy's exec, %v of Envoy CPU (medians of %d starts); the plugin takes %.2fx and %.2fx that",
			d.Round(time.Millisecond), cpu.Round(time.Millisecond), len(r.noopReady), float64(plugin)/float64(d), float64(pluginCPU)/float64(cpu))
		for _, a := range o.alt {
			logf("variant %s takes %.2fx the no-op plugin's start, %.2fx its CPU", a[0],
				float64(median(r.altReady[a[0]]))/float64(d), float64(median(r.altStartCPU[a[0]]))/float64(cpu))
		}
	}

	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	raw, err := os.Create(strings.TrimSuffix(o.out, ".md") + ".tsv")
	if err != nil {
		return err
	}
	defer raw.Close()
	fmt.Fprintf(raw, "run\tconns\trow\tcpu_ns_per_req\tp50_ns\tp99_ns\trps\n")
	res := results{}
	for run := 1; run <= o.runs; run++ {
		tr := time.Now()
		v := &variants{run: run, memo: map[string][]string{}}
		for _, c := range o.concs {
			for _, rw := range selected {
				n := o.n
				if rw.slow {
					n = o.nSlow
				}
				t, err := rw.target(r, v, c, n+o.warmup)
				if errors.Is(err, errSkip) {
					continue
				}
				if err != nil {
					return fmt.Errorf("%s: %w", rw.name, err)
				}
				if run == 1 && c == o.concs[0] {
					// The check uses the last warm-up variant, so no measured session or token
					// is in a cache before its request.
					if err := r.verify(ctx, t.base, t.req.Head, t.req.Vary, n+o.warmup-1, rw.forwarded); err != nil {
						return fmt.Errorf("row %s does not serve its session or token: %w", rw.name, err)
					}
				}
				s, err := measure(t, n, c, o.warmup)
				if err != nil {
					return fmt.Errorf("row %s, %d connections, run %d: %w", rw.name, c, run, err)
				}
				res.add(rw.name, c, s)
				fmt.Fprintf(raw, "%d\t%d\t%s\t%d\t%d\t%d\t%.0f\n", run, c, rw.name, s.cpu.Nanoseconds(), s.p50.Nanoseconds(), s.p99.Nanoseconds(), s.rps)
			}
		}
		logf("run %d/%d: %v (load average %s)", run, o.runs, time.Since(tr).Round(time.Millisecond), loadavg())
	}
	var counters []string
	if st, err := r.plugin.Stats("oidc_proxy"); err == nil {
		for k, v := range st {
			if strings.Contains(k, "cache_") {
				counters = append(counters, fmt.Sprintf("%s %d", k, v))
			}
		}
		sort.Strings(counters)
	}
	profiles, err := profileRows(r, o)
	if err != nil {
		return err
	}
	rep := report{opts: o, rig: r, res: res, rows: selected, load0: load0, load1: loadavg(), took: time.Since(t0), profiles: profiles, counters: counters}
	text := rep.String()
	fmt.Print(text)
	return os.WriteFile(o.out, []byte(text), 0o644)
}

// profileRows samples the -profile rows with perf, one after the other.
func profileRows(r *rig, o options) ([]profile, error) {
	var out []profile
	for _, name := range strings.Split(o.profile, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		var rw *row
		all := rows
		for _, a := range o.alt {
			all = append(all, altRows(a[0])...)
		}
		for i := range all {
			if all[i].name == name {
				rw = &all[i]
			}
		}
		if rw == nil {
			return nil, fmt.Errorf("-profile: no row %q", name)
		}
		v := &variants{run: 1000, memo: map[string][]string{}}
		t, err := rw.target(r, v, o.profileC, o.profileN+o.warmup)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("-profile %s: %w", name, err)
		}
		if _, err := measure(t, o.profileN, o.profileC, o.warmup); err != nil { // warm up, and tier up
			return nil, fmt.Errorf("-profile %s: %w", name, err)
		}
		v = &variants{run: 1001, memo: map[string][]string{}}
		if t, err = rw.target(r, v, o.profileC, o.profileN); err != nil {
			return nil, err
		}
		logf("profiling %s: %d requests, %d connections", name, o.profileN, o.profileC)
		rep, err := profileRow(t, name, o.profileN, o.profileC, filepath.Dir(o.out))
		if err != nil {
			return nil, fmt.Errorf("-profile %s: %w", name, err)
		}
		out = append(out, profile{rw.title, rep})
	}
	return out, nil
}

// measure runs warm-up requests (indices n..n+warmup-1 of the row's variants), then n
// measured ones (0..n-1), reading the processes' CPU time just around the measured ones.
func measure(t target, n, c, warmup int) (sample, error) {
	if warmup > 0 {
		w, err := Load(t.addr(), t.req, warmup, c, n)
		if err != nil {
			return sample{}, fmt.Errorf("warm-up: %w", err)
		}
		if w.Wrong > 0 {
			return sample{}, fmt.Errorf("warm-up: %d of %d answers were not %d (first: %s)", w.Wrong, warmup, t.req.Want, w.FirstBad)
		}
	}
	cpu0, err := cpuOf(t.pids)
	if err != nil {
		return sample{}, err
	}
	res, err := Load(t.addr(), t.req, n, c, 0)
	cpu1, err1 := cpuOf(t.pids)
	if err := errors.Join(err, err1); err != nil {
		return sample{}, err
	}
	if res.Wrong > 0 {
		return sample{}, fmt.Errorf("%d of %d answers were not %d (first: %s)", res.Wrong, n, t.req.Want, res.FirstBad)
	}
	return sample{cpu: (cpu1 - cpu0) / time.Duration(n), p50: res.P(0.50), p99: res.P(0.99), rps: res.RPS()}, nil
}
