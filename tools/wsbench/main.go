// Command wsbench measures what a WebSocket data frame costs Envoy 1.40 with plugin.wasm on
// the stream, next to the same Envoy without the filter, side by side in one run.
//
//	make build && go run ./tools/wsbench      # -sockets 50 -frames 1000 -runs 7 -size 64
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o .cache/noop.wasm ./e2e/bench/noop
//	go run ./tools/wsbench -noop .cache/noop.wasm   # adds the floor: a no-op plugin on the same SDK
//
// Each Envoy is the shipped envoy.yaml (upgrade_configs: websocket, the upgrade route) rendered
// by e2e/envoy with one worker (--concurrency 1); "plugin" is `make run`'s stack (e2e/stack:
// the embedded provider, plugin.wasm, a real browser login), "no filter" the same bootstrap
// with the Wasm filter removed. Behind both, an app that answers the upgrade 101 and echoes
// every read. A run opens -sockets upgraded connections to each Envoy (the plugin's with the
// login's session cookie: the plugin checks it and lets the upgrade through), then each
// socket sends -frames frames of -size bytes one after the other, each waiting for its echo.
// Envoy's CPU time (the sum over /proc/PID/task/*/schedstat, in nanoseconds) is read just
// before and after the frames; per frame is that over sockets*frames. A frame is one echo:
// one request-body chunk and one response-body chunk through Envoy. Rows alternate within a
// run; the report gives each run and the medians. This process's own CPU (client, app) is not
// counted. Nothing here is a timed assertion.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(1)
	}
}

type options struct {
	wasm, noop                  string
	sockets, frames, runs, size int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("wsbench", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.wasm, "wasm", "plugin.wasm", "the plugin (make build)")
	fs.StringVar(&o.noop, "noop", "", "also measure this floor plugin: e2e/bench/noop built for wasip1 (the SDK's default callbacks)")
	fs.IntVar(&o.sockets, "sockets", 50, "WebSockets open at once per Envoy")
	fs.IntVar(&o.frames, "frames", 1000, "frames each socket sends (each waits for its echo)")
	fs.IntVar(&o.runs, "runs", 7, "runs (each measures both rows)")
	fs.IntVar(&o.size, "size", 64, "bytes per frame")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.sockets < 1 || o.frames < 1 || o.runs < 1 || o.size < 1 {
		return errors.New("-sockets, -frames, -runs and -size must be positive")
	}
	wasm, err := filepath.Abs(o.wasm)
	if err != nil {
		return err
	}
	if _, err := os.Stat(wasm); err != nil {
		return fmt.Errorf("%w (make build)", err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	s, err := stack.Start(startCtx, stack.Options{Proxy: proxy.Envoy, PluginWasm: wasm, VMs: 1,
		AccessTTL: 2 * time.Hour, IDTTL: 2 * time.Hour, Upstream: withEcho})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.WaitReady(startCtx); err != nil {
		return err
	}
	cookie, _, err := envoyrig.Login(startCtx, nil, s.OP, s.URL, "/")
	if err != nil {
		return err
	}
	// The plugin is on the stream: an upgrade without the session is refused.
	if c, err := dial(startCtx, s.URL, ""); err == nil || !strings.Contains(err.Error(), "answered 401") {
		if c != nil {
			c.Close()
		}
		return fmt.Errorf("an upgrade without a session: %v, want 401 from the plugin", err)
	}
	bare, err := envoy.Start(startCtx, envoy.Config{Concurrency: 1, Bootstrap: envoy.Bootstrap{
		WasmPath: wasm, Upstream: s.AppURL, Clusters: map[string]string{"oidc": s.OP.Issuer()},
		Edit: envoyrig.WithFilters(),
	}})
	if err != nil {
		return err
	}
	defer bare.Close()

	rows := []row{
		{name: "Envoy, no filter", url: bare.URL, pid: bare.PID()},
		{name: "plugin.wasm (session checked at the upgrade)", url: s.URL, pid: s.Proxy.Envoy.PID(), cookie: cookie},
	}
	if o.noop != "" {
		floor, err := envoy.Start(startCtx, envoy.Config{Concurrency: 1, Bootstrap: envoy.Bootstrap{
			WasmPath: o.noop, PluginConfig: []byte("{}"), Upstream: s.AppURL,
			Clusters: map[string]string{"oidc": s.OP.Issuer()},
		}})
		if err != nil {
			return err
		}
		defer floor.Close()
		rows = append(rows, row{name: "no-op Go plugin, same SDK (floor)", url: floor.URL, pid: floor.PID()})
	}
	fmt.Fprintf(out, "wsbench: Envoy 1.40 (one worker), %d sockets x %d frames of %d bytes, %d runs\n\n",
		o.sockets, o.frames, o.size, o.runs)
	fmt.Fprintf(out, "%-4s %-46s %14s %14s\n", "run", "row", "CPU/frame (us)", "wall (ms)")
	per := make([][]float64, len(rows))
	for r := range o.runs {
		for i := range rows {
			cpu, wall, err := rows[i].measure(ctx, o)
			if err != nil {
				return fmt.Errorf("%s: %w", rows[i].name, err)
			}
			us := float64(cpu.Nanoseconds()) / 1e3 / float64(o.sockets*o.frames)
			per[i] = append(per[i], us)
			fmt.Fprintf(out, "%-4d %-46s %14.2f %14d\n", r+1, rows[i].name, us, wall.Milliseconds())
		}
	}
	fmt.Fprintf(out, "\nmedians:\n")
	for i := range rows {
		fmt.Fprintf(out, "  %-46s %8.2f us/frame\n", rows[i].name, median(per[i]))
	}
	// Paired within each run (the machine's load changes between runs).
	for i := 1; i < len(rows); i++ {
		var ratio, diff []float64
		for r := range per[0] {
			ratio = append(ratio, per[i][r]/per[0][r])
			diff = append(diff, per[i][r]-per[0][r])
		}
		fmt.Fprintf(out, "  %s / no filter, median of the runs' ratios: x%.2f (%+.2f us per frame)\n",
			rows[i].name, median(ratio), median(diff))
	}
	return nil
}

type row struct {
	name, url, cookie string
	pid               int
}

// measure opens the sockets, then times the frames only.
func (r row) measure(ctx context.Context, o options) (time.Duration, time.Duration, error) {
	conns := make([]*wsConn, o.sockets)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		c, err := dial(ctx, r.url, r.cookie)
		if err != nil {
			return 0, 0, err
		}
		conns[i] = c
	}
	frame := []byte(strings.Repeat("x", o.size))
	cpu0, err := envoyrig.ProcessCPU(r.pid)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(frame))
			for range o.frames {
				if _, err := c.Write(frame); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c.r, buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	cpu1, err := envoyrig.ProcessCPU(r.pid)
	if err != nil {
		return 0, 0, err
	}
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	return cpu1 - cpu0, wall, nil
}

type wsConn struct {
	net.Conn
	r *bufio.Reader
}

// dial sends a WebSocket upgrade and expects the 101.
func dial(ctx context.Context, base, cookie string) (*wsConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return nil, err
	}
	req := "GET /ws HTTP/1.1\r\nHost: " + strings.TrimPrefix(base, "http://") +
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: " + base + "\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("upgrade answered %d, not 101", resp.StatusCode)
	}
	return &wsConn{Conn: conn, r: br}, nil
}

// withEcho answers upgrades under /ws with a 101 and echoes every read; the rest goes to app.
func withEcho(app http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/ws") || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			app.ServeHTTP(w, r)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		if rw.Flush() != nil {
			return
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := rw.Read(buf)
			if n > 0 {
				if _, err := conn.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
