package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const perfHz = 4999

// The shared objects of a profile, as reported.
const (
	dsoKernel = "kernel"
	dsoEnvoy  = "envoy"
	dsoJIT    = "JIT"
	dsoLibc   = "libc"
	dsoOther  = "other"
)

var dsoOrder = []string{dsoEnvoy, dsoJIT, dsoKernel, dsoLibc, dsoOther}

// parsePerfDSO reads `perf report --sort dso -n` and returns each shared object's CPU time
// per request: samples / hz / requests. V8's generated code is "[JIT] tid N".
func parsePerfDSO(report string, hz, requests int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, l := range strings.Split(report, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || strings.HasPrefix(f[0], "#") || !strings.HasSuffix(f[0], "%") {
			continue
		}
		samples, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		dso := strings.Join(f[2:], " ")
		switch {
		case strings.HasPrefix(dso, "[kernel"):
			dso = dsoKernel
		case strings.HasPrefix(dso, "[JIT]"):
			dso = dsoJIT
		case dso == "envoy":
			dso = dsoEnvoy
		case strings.HasPrefix(dso, "libc"):
			dso = dsoLibc
		default:
			dso = dsoOther
		}
		out[dso] += time.Duration(samples / float64(hz) / float64(requests) * float64(time.Second))
	}
	return out
}

// profileRow runs n requests of a row over c connections while Linux perf samples the
// row's first process (Envoy) on its CPU clock (a software event: this works where hardware
// counters are not available, as in most VMs), then returns perf's report by shared object:
// how much of Envoy's time is in the kernel, in Envoy's own code (V8's runtime and the
// proxy-wasm host included; the release binary is stripped, so no finer), and in code V8
// generated (the plugin's wasm, in anonymous memory).
func profileRow(t target, name string, n, c int, dir string) (map[string]time.Duration, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("no perf (apt-get install linux-perf): %w", err)
	}
	data := filepath.Join(dir, "perf-"+name+".data")
	rec := exec.Command("perf", "record", "-e", "cpu-clock", "-F", fmt.Sprint(perfHz), "-g", "-o", data,
		"-p", fmt.Sprint(t.pids[0]))
	var log bytes.Buffer
	rec.Stdout, rec.Stderr = &log, &log
	if err := rec.Start(); err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond) // perf attaches
	_, lerr := Load(t.addr(), t.req, n, c, 0)
	rec.Process.Signal(syscall.SIGINT)
	if err := rec.Wait(); err != nil && !strings.Contains(log.String(), "Captured and wrote") {
		return nil, fmt.Errorf("perf record: %v: %s", err, log.String())
	}
	if lerr != nil {
		return nil, lerr
	}
	out, err := exec.Command("perf", "report", "--stdio", "--no-children", "-g", "none", "-n",
		"--sort", "dso", "-i", data).Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %w", err)
	}
	prof := parsePerfDSO(string(out), perfHz, n)
	os.Remove(data + ".old")
	return prof, nil
}
