package host

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// LogLevel is proxy_log_level_t (spdlog's levels, as Envoy uses them).
type LogLevel uint32

// The proxy-wasm log levels.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

func (l LogLevel) String() string {
	switch l {
	case LogTrace:
		return "trace"
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	case LogCritical:
		return "critical"
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// LogEntry is one plugin log line. VM is the index of the VM that logged it;
// host-side events about a VM (a trap, a refused start) are logged with the
// VM's index too.
type LogEntry struct {
	Time    time.Time
	Level   LogLevel
	Message string
	VM      int
}

func (e LogEntry) String() string {
	return fmt.Sprintf("[%s] vm=%d %s", e.Level, e.VM, e.Message)
}

// logStore keeps the newest entries in memory and copies every entry to w.
type logStore struct {
	mu      sync.Mutex
	entries []LogEntry
	max     int
	level   LogLevel
	prefix  string
	w       io.Writer
}

func (s *logStore) add(vm int, level LogLevel, msg string) {
	if level < s.level {
		return
	}
	e := LogEntry{Time: time.Now(), Level: level, Message: msg, VM: vm}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= s.max {
		n := copy(s.entries, s.entries[len(s.entries)-s.max+1:])
		s.entries = s.entries[:n]
	}
	s.entries = append(s.entries, e)
	if s.w != nil {
		fmt.Fprintf(s.w, "%s [%s] vm=%d wasm log%s: %s\n",
			e.Time.Format("15:04:05.000"), level, vm, s.prefix, msg)
	}
}

func (s *logStore) snapshot() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.entries...)
}

// stdioLog turns the guest's WASI stdout/stderr into log lines, as Envoy
// does: stdout at info, stderr at error. Lines are split on newlines; a
// partial line is flushed when the VM fails.
type stdioLog struct {
	mu    sync.Mutex
	store *logStore
	vm    int
	level LogLevel
	buf   bytes.Buffer
}

func (w *stdioLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.Reset()
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.store.add(w.vm, w.level, line[:len(line)-1])
	}
}

func (w *stdioLog) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.store.add(w.vm, w.level, w.buf.String())
		w.buf.Reset()
	}
}
