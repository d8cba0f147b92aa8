package envoysoak

import (
	"os"
	"testing"
	"time"
)

func TestCompileTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 38, 40, 200e6, time.UTC)
	tests := []struct {
		name          string
		log           string
		base, compile time.Duration
	}{
		{"both lines", "[2026-12-03 14:38:40.318][24809][debug][wasm] Base Wasm created 1 now active\n" +
			"[2026-12-03 14:38:45.837][24809][debug][wasm] Thread-Local Wasm created 2 now active\n" +
			"[2026-12-03 14:38:45.856][24809][debug][wasm] Thread-Local Wasm created 2 now active\n",
			118 * time.Millisecond, 5519 * time.Millisecond},
		{"no thread-local VM yet", "[2026-12-03 14:38:40.318][1][debug][wasm] Base Wasm created 1 now active\n", 0, 0},
		{"thread-local before base is ignored", "[2026-12-03 14:38:40.300][1][debug][wasm] Thread-Local Wasm created 2 now active\n" +
			"[2026-12-03 14:38:40.318][1][debug][wasm] Base Wasm created 1 now active\n" +
			"[2026-12-03 14:38:41.318][1][debug][wasm] Thread-Local Wasm created 2 now active\n",
			118 * time.Millisecond, time.Second},
		{"clock far off: no base time", "[2026-12-04 14:38:40.318][1][debug][wasm] Base Wasm created 1 now active\n" +
			"[2026-12-04 14:38:41.318][1][debug][wasm] Thread-Local Wasm created 2 now active\n", 0, time.Second},
		{"garbage", "x\n[not a time] Base Wasm created\n", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, compile := compileTimes(tt.log, t0)
			if base != tt.base || compile != tt.compile {
				t.Errorf("compileTimes = %v, %v; want %v, %v", base, compile, tt.base, tt.compile)
			}
		})
	}
}

func TestWithoutWasm(t *testing.T) {
	doc := map[string]any{"static_resources": map[string]any{"listeners": []any{map[string]any{
		"filter_chains": []any{map[string]any{"filters": []any{map[string]any{"typed_config": map[string]any{
			"http_filters": []any{map[string]any{"name": "envoy.filters.http.wasm"}, map[string]any{"name": "envoy.filters.http.router"}},
		}}}}}}}}}
	if err := withoutWasm(doc); err != nil {
		t.Fatal(err)
	}
	hf := list(list(list(list(doc["static_resources"], "listeners")[0], "filter_chains")[0], "filters")[0].(map[string]any)["typed_config"], "http_filters")
	if len(hf) != 1 || hf[0].(map[string]any)["name"] != "envoy.filters.http.router" {
		t.Errorf("http_filters after: %v, want the router only", hf)
	}
	if err := withoutWasm(doc); err == nil {
		t.Error("a bootstrap without a Wasm filter: no error")
	}
}

func TestReadMemoryAndCPUTime(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS < 1<<20 || m.HWM < m.RSS {
		t.Errorf("this process: VmRSS %d, VmHWM %d bytes: implausible", m.RSS, m.HWM)
	}
	// Spin until the kernel has counted a tick of this process's CPU time (at most 5 s).
	var c time.Duration
	for end := time.Now().Add(5 * time.Second); c == 0 && err == nil && time.Now().Before(end); {
		c, err = CPUTime(os.Getpid())
	}
	if err != nil || c <= 0 {
		t.Errorf("CPUTime of a process that spun: %v, %v", c, err)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Error("ReadMemory of no process: no error")
	}
}
