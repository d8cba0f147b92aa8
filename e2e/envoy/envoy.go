package envoy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is one Envoy process running the plugin.
type Config struct {
	Bootstrap
	// Concurrency is the number of worker threads (one Wasm VM each); 2 by default.
	Concurrency int
	// LogLevel is Envoy's log level for the wasm component (the plugin's lines); "debug" by
	// default, so the plugin's own level decides. Other components log at BaseLogLevel,
	// "warning" by default.
	LogLevel, BaseLogLevel string
	// LogWriter, when set, receives Envoy's log as it is written.
	LogWriter io.Writer
	// Dir holds the rendered bootstrap and Envoy's files; a new temporary folder by default.
	Dir string
	// StatsFlushInterval is the bootstrap's stats_flush_interval (when histograms are merged
	// into what the admin interface shows); 0.1s by default.
	StatsFlushInterval string
	// Args are extra command-line arguments.
	Args []string
}

// Envoy is a running Envoy process.
type Envoy struct {
	URL      string // the listener, http://127.0.0.1:PORT
	AdminURL string // the admin interface
	Dir      string
	cmd      *exec.Cmd
	done     chan struct{}
	exitErr  error
	logPath  string
	closed   atomic.Bool
	ownDir   bool
}

var baseID atomic.Int64

func init() { baseID.Store(int64(os.Getpid()%5000) * 20) }

// Start renders the bootstrap, starts Envoy and waits until the admin interface reports
// ready and the listener is bound. If Envoy exits first (a bad bootstrap, a plugin that
// refused its configuration), the error quotes its log.
func Start(ctx context.Context, c Config) (*Envoy, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	e := &Envoy{done: make(chan struct{}), Dir: c.Dir}
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "envoy-"); err != nil {
			return nil, err
		}
		e.ownDir = true
	}
	if c.StatsFlushInterval == "" {
		c.StatsFlushInterval = "0.1s"
	}
	flush := c.StatsFlushInterval
	prev := c.Bootstrap.Edit
	c.Bootstrap.Edit = func(doc map[string]any) error {
		doc["stats_flush_interval"] = flush
		if prev != nil {
			return prev(doc)
		}
		return nil
	}
	boot, err := Render(c.Bootstrap)
	if err != nil {
		e.cleanup()
		return nil, err
	}
	bootPath := filepath.Join(e.Dir, "bootstrap.json")
	adminPath := filepath.Join(e.Dir, "admin-address")
	if err := os.WriteFile(bootPath, boot, 0o600); err != nil {
		e.cleanup()
		return nil, err
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	if c.LogLevel == "" {
		c.LogLevel = "debug"
	}
	if c.BaseLogLevel == "" {
		c.BaseLogLevel = "warning"
	}
	args := []string{"-c", bootPath, "--disable-hot-restart", "--concurrency", fmt.Sprint(c.Concurrency),
		"--base-id", fmt.Sprint(baseID.Add(1)), "--admin-address-path", adminPath,
		"--log-level", c.BaseLogLevel, "--component-log-level", "wasm:" + c.LogLevel,
		"--log-format", "[%Y-%m-%d %T.%e][%t][%l][%n] %v"}
	args = append(args, c.Args...)
	e.cmd = exec.Command(bin, args...)
	e.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, k := range c.HostEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			e.cmd.Env = append(e.cmd.Env, k+"="+v)
		}
	}
	// Envoy writes its log straight into a file (no pipe, no copying goroutine), so a line
	// the plugin logged before it answered a request is there when the client has the answer.
	e.logPath = filepath.Join(e.Dir, "envoy.log")
	lf, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		e.cleanup()
		return nil, err
	}
	defer lf.Close()
	e.cmd.Stdout = lf
	e.cmd.Stderr = lf
	if c.LogWriter != nil {
		go e.follow(c.LogWriter)
	}
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		e.cleanup()
		return nil, fmt.Errorf("envoy: starting %s: %w", bin, err)
	}
	go func() {
		e.exitErr = e.cmd.Wait()
		close(e.done)
	}()
	if err := e.waitReady(ctx, adminPath); err != nil {
		e.kill()
		return nil, err
	}
	return e, nil
}

func (e *Envoy) waitReady(ctx context.Context, adminPath string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-e.done:
			return fmt.Errorf("envoy: exited before it was ready (%v); its log:\n%s", e.exitErr, e.Log())
		case <-ctx.Done():
			return fmt.Errorf("envoy: not ready: %w; its log:\n%s", ctx.Err(), e.Log())
		case <-tick.C:
		}
		if e.AdminURL == "" {
			b, err := os.ReadFile(adminPath)
			if err != nil || len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			e.AdminURL = "http://" + strings.TrimSpace(string(b))
		}
		if body, err := e.admin(ctx, "/ready"); err != nil || strings.TrimSpace(body) != "LIVE" {
			continue
		}
		addr, err := e.listenerAddress(ctx)
		if err != nil {
			continue
		}
		e.URL = "http://" + addr
		return nil
	}
}

// listenerAddress reads the bound address of the first listener from the admin interface.
func (e *Envoy) listenerAddress(ctx context.Context) (string, error) {
	body, err := e.admin(ctx, "/listeners?format=json")
	if err != nil {
		return "", err
	}
	var l struct {
		ListenerStatuses []struct {
			LocalAddress struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		return "", err
	}
	if len(l.ListenerStatuses) == 0 || l.ListenerStatuses[0].LocalAddress.SocketAddress.PortValue == 0 {
		return "", errors.New("envoy: no bound listener yet")
	}
	sa := l.ListenerStatuses[0].LocalAddress.SocketAddress
	return fmt.Sprintf("%s:%d", sa.Address, sa.PortValue), nil
}

var adminClient = &http.Client{Timeout: 5 * time.Second}

// admin GETs an admin path and returns the body; a non-200 status is an error.
func (e *Envoy) admin(ctx context.Context, path string) (string, error) {
	return e.adminDo(ctx, "GET", path)
}

func (e *Envoy) adminDo(ctx context.Context, method, path string) (string, error) {
	if e.AdminURL == "" {
		return "", errors.New("envoy: admin address not known yet")
	}
	req, err := http.NewRequestWithContext(ctx, method, e.AdminURL+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("envoy: admin %s: status %d", path, resp.StatusCode)
	}
	return string(b), nil
}

// Admin GETs a path of the admin interface (e.g. "/stats?format=json").
func (e *Envoy) Admin(path string) (string, error) {
	return e.admin(context.Background(), path)
}

// PID is the Envoy process's id.
func (e *Envoy) PID() int { return e.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (e *Envoy) Exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Log is everything Envoy has written so far (its last 64 MiB).
func (e *Envoy) Log() string {
	f, err := os.Open(e.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxLog {
		f.Seek(st.Size()-maxLog, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// follow copies the log to w as it grows, until Envoy has ended.
func (e *Envoy) follow(w io.Writer) {
	f, err := os.Open(e.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		n, _ := f.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			continue
		}
		select {
		case <-e.done:
			io.Copy(w, f)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogLine is one line the plugin logged through proxy_log.
type LogLine struct {
	Level   string // trace, debug, info, warning, error, critical
	Message string // the plugin's text, without Envoy's "wasm log <plugin> <root> <vm>: " prefix
}

func (l LogLine) String() string { return "[" + l.Level + "] " + l.Message }

// "[time][thread][level][wasm] [source:line] wasm log <name> <root_id> <vm_id>: message" with
// the source part present or not depending on the log format.
var pluginLine = regexp.MustCompile(`^\[[^\]]*\]\[[^\]]*\]\[([a-z]+)\]\[wasm\] (?:\[[^\]]*\] )?wasm log (?:[^ :]+ ){0,2}[^ :]*: (.*)$`)

// Logs are the plugin's log lines so far, in order.
func (e *Envoy) Logs() []LogLine {
	var out []LogLine
	sc := bufio.NewScanner(strings.NewReader(e.Log()))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if m := pluginLine.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, LogLine{Level: m[1], Message: m[2]})
		}
	}
	return out
}

// Stats returns Envoy's counters and gauges whose names match the regular expression filter
// (admin /stats?filter=...).
func (e *Envoy) Stats(filter string) (map[string]uint64, error) {
	body, err := e.admin(context.Background(), "/stats?format=json&filter="+url.QueryEscape(filter))
	if err != nil {
		return nil, err
	}
	var s struct {
		Stats []struct {
			Name  string  `json:"name"`
			Value *uint64 `json:"value"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return nil, fmt.Errorf("envoy: /stats: %w", err)
	}
	out := map[string]uint64{}
	for _, st := range s.Stats {
		if st.Value != nil {
			out[st.Name] = *st.Value
		}
	}
	return out, nil
}

// Metric is a counter or gauge the plugin defined (Envoy names it wasmcustom.<name>), or
// the number of samples of a histogram (which Envoy merges at each stats flush: Start sets
// the flush interval to 100 ms).
func (e *Envoy) Metric(name string) (uint64, bool) {
	st, err := e.Stats("^wasmcustom\\." + regexp.QuoteMeta(name) + "$")
	if err != nil {
		return 0, false
	}
	if v, ok := st["wasmcustom."+name]; ok {
		return v, true
	}
	return e.histogramCount(name)
}

// histogramCount reads a histogram's sample count from the Prometheus output, where the
// plugin's metric a.b.c is a_b_c.
func (e *Envoy) histogramCount(name string) (uint64, bool) {
	// Samples reach the admin interface at the next stats flush (every 100 ms by default).
	time.Sleep(250 * time.Millisecond)
	body, err := e.admin(context.Background(), "/stats?format=prometheus&filter="+
		url.QueryEscape("(^|\\.)"+regexp.QuoteMeta(name)+"$"))
	if err != nil {
		return 0, false
	}
	want := strings.ReplaceAll(name, ".", "_") + "_count"
	for _, line := range strings.Split(body, "\n") {
		metric, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if m, _, _ := strings.Cut(metric, "{"); m == want {
			var v uint64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// Close stops Envoy (SIGTERM, then SIGKILL after 10 s) and removes its folder. It returns an
// error quoting Envoy's log if Envoy had crashed before Close.
func (e *Envoy) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	var err error
	if e.Exited() {
		err = fmt.Errorf("envoy: the process had ended before Close (%v); its log:\n%s", e.exitErr, tail(e.Log(), 200))
	} else {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
			err = errors.New("envoy: did not stop within 10 s of SIGTERM")
		}
	}
	e.cleanup()
	return err
}

func (e *Envoy) kill() {
	e.closed.Store(true)
	if !e.Exited() {
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	e.cleanup()
}

func (e *Envoy) cleanup() {
	if e.ownDir {
		os.RemoveAll(e.Dir)
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d lines before)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

const maxLog = 64 << 20

// Kill ends the process at once (SIGKILL), as a crash would; Close then reports it.
func (e *Envoy) Kill() {
	if !e.Exited() {
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}
