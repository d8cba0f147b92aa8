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

func TestReadMemory(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS < 1<<20 || m.HWM < m.RSS {
		t.Errorf("this process: VmRSS %d, VmHWM %d bytes: implausible", m.RSS, m.HWM)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Error("ReadMemory of no process: no error")
	}
}
