package envoysoak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// report collects a markdown report, logs it and writes it to a file under the repository's
// .cache (or $name when set).
type report struct {
	t    *testing.T
	b    strings.Builder
	path string
}

func newReport(t *testing.T, env, def string) *report {
	r := &report{t: t, path: os.Getenv(env)}
	if r.path == "" {
		root, err := envoy.Root()
		if err != nil {
			t.Fatal(err)
		}
		r.path = filepath.Join(root, def)
	}
	return r
}

func (r *report) line(format string, args ...any) {
	fmt.Fprintf(&r.b, format+"\n", args...)
}

func (r *report) write() {
	r.t.Logf("report (%s):\n%s", r.path, r.b.String())
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		r.t.Error(err)
		return
	}
	if err := os.WriteFile(r.path, []byte(r.b.String()), 0o644); err != nil {
		r.t.Error(err)
	}
}

// environment is the report's header: date, machine, Envoy, plugin, load.
func environment(r *report, wasm string) {
	ver, _ := envoy.Version()
	st, _ := os.Stat(wasm)
	var size int64
	if st != nil {
		size = st.Size()
	}
	r.line("- date: %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	r.line("- machine: %d CPUs, %s", numCPU(), cpuModel())
	r.line("- Envoy: %s (official release binary, V8), --concurrency 2", ver)
	r.line("- plugin.wasm: %s, %d bytes", wasm, size)
	r.line("- load average at start: %s", loadavg())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func uptime() string {
	out, err := exec.Command("uptime").Output()
	if err != nil {
		return "load average " + loadavg()
	}
	return strings.TrimSpace(string(out))
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

// pluginErrors are the plugin's warning and error lines (the first few) and their count.
func pluginErrors(e *envoy.Envoy) (int, []string) {
	var n int
	var first []string
	for _, l := range e.Logs() {
		if l.Level == "warning" || l.Level == "error" || l.Level == "critical" {
			n++
			if len(first) < 5 {
				first = append(first, l.String())
			}
		}
	}
	return n, first
}

func metrics(e *envoy.Envoy, names ...string) string {
	var parts []string
	for _, n := range names {
		v, ok := e.Metric("oidc_proxy." + n)
		if !ok {
			parts = append(parts, n+" -")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", n, v))
	}
	return strings.Join(parts, ", ")
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
