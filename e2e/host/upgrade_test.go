package host

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Upgrades (WebSockets) observed through the conformance plugin (e2e/testdata/conformance,
// ws.go), on this host here and on Envoy in conformance_envoy_test.go. Neither proxy parses
// WebSocket frames: after the 101 both tunnel bytes, so the tests send plain text.

// tunnelEcho is the app's end of an upgrade: a 101 that names the upgrade and says whether
// the plugin's header arrived, then every read echoed back; "bye" makes the app close.
func tunnelEcho(w http.ResponseWriter, r *http.Request) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + r.Header.Get("Upgrade") +
		"\r\nConnection: Upgrade\r\nX-Upstream-Conf-Added: " + r.Header.Get("X-Conf-Added") + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	buf := make([]byte, 4096)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
			if string(buf[:n]) == "bye" {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// socket is a client's upgraded connection through the proxy.
type socket struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
	body string // the body of a refused upgrade
}

// dialUpgrade sends an upgrade request for path with the tag the plugin tracks it by, and
// extra header lines ("Name: value").
func dialUpgrade(t testing.TB, baseURL, path, upgrade, tag string, extra ...string) *socket {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: "+upgrade+
		"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Ws-Tag: "+tag+"\r\n"+
		strings.Join(append(extra, ""), "\r\n")+"\r\n")
	if err != nil {
		t.Fatal(err)
	}
	s := &socket{conn: conn, br: bufio.NewReader(conn)}
	if s.resp, err = http.ReadResponse(s.br, nil); err != nil {
		t.Fatal(err)
	}
	if s.resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(s.resp.Body)
		s.body = string(b)
	}
	return s
}

// echo sends msg and waits for the app's echo, so each message is its own read (one data
// chunk) on the way in and on the way out.
func (s *socket) echo(t testing.TB, msg string) {
	t.Helper()
	if _, err := io.WriteString(s.conn, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(s.br, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo of %q: got %q, %v", msg, buf, err)
	}
}

// closedWithin reports whether the proxy closes the connection within d (a read ends).
func (s *socket) closedWithin(d time.Duration) (bool, error) {
	_ = s.conn.SetReadDeadline(time.Now().Add(d))
	_, err := s.br.ReadByte()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false, err
	}
	return err != nil, err
}

// wsSeen reads what the plugin recorded of the stream tagged tag; nil if nothing.
func (f *fixture) wsSeen(t testing.TB, tag string) map[string]any {
	t.Helper()
	r := f.conf(t, "/conf/shared", "x-op", "get", "x-key", "ws/"+tag)
	if r["err"] != "" {
		return nil
	}
	var seen map[string]any
	if err := json.Unmarshal([]byte(r["value"].(string)), &seen); err != nil {
		t.Fatalf("ws/%s = %q: %v", tag, r["value"], err)
	}
	return seen
}

// wsSeenWhen polls wsSeen until cond holds.
func (f *fixture) wsSeenWhen(t testing.TB, tag string, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	var seen map[string]any
	eventually(t, 5*time.Second, what, func() bool {
		seen = f.wsSeen(t, tag)
		return seen != nil && cond(seen)
	})
	return seen
}

// The observations, made on this host (TestUpgrade*) and on Envoy
// (TestEnvoyConformance/all/Upgrade*). Each uses its own path and tag.

func wsTag(t testing.TB) string {
	return strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

// The upgrade reaches the app with the plugin's request edits and the plugin sees the 101.
// Request headers are not the end of the stream, an empty body chunk follows each way, then
// every chunk of the tunnel is one body callback in each direction (the plugin's Continue
// passes it on). When the client closes, the stream ends with no end_of_stream.
func checkUpgradeBodies(t *testing.T, f *fixture) {
	tag := wsTag(t)
	s := dialUpgrade(t, f.srv.URL, "/ws/"+tag, "websocket", tag)
	if s.resp.StatusCode != http.StatusSwitchingProtocols || s.resp.Header.Get("X-On-Response-Headers") != "101" {
		t.Fatalf("got %d %v %q, want 101 seen by the plugin", s.resp.StatusCode, s.resp.Header, s.body)
	}
	if got := s.resp.Header.Get("X-Upstream-Conf-Added"); got != "1" {
		t.Errorf("the app saw x-conf-added %q, want the plugin's 1", got)
	}
	if h := s.resp.Header; h.Get("Upgrade") != "websocket" || !strings.EqualFold(h.Get("Connection"), "upgrade") {
		t.Errorf("101 headers %v, want Upgrade: websocket and Connection: Upgrade", h)
	}
	start := []string{"headers", "req 0", "response_headers", "resp 0"}
	seen := f.wsSeenWhen(t, tag, "the 101's callbacks", func(m map[string]any) bool { return len(calls(m)) >= len(start) })
	if got := calls(seen); !slices.Equal(got, start) || seen["headers_eos"] != false {
		t.Errorf("before any data: callbacks %q (headers end_of_stream %v), want %q and false", got, seen["headers_eos"], start)
	}
	if conn, _ := seen["connection"].(string); seen["upgrade"] != "websocket" || !strings.EqualFold(conn, "upgrade") {
		t.Errorf("the plugin read upgrade %q, connection %q; want websocket, upgrade", seen["upgrade"], seen["connection"])
	}
	want := start
	for _, m := range []string{"one", "two", "three"} {
		s.echo(t, m)
		n := strconv.Itoa(len(m))
		want = append(want, "req "+n, "resp "+n)
	}
	seen = f.wsSeenWhen(t, tag, "the echoes' callbacks", func(m map[string]any) bool { return len(calls(m)) >= len(want) })
	if got := calls(seen); !slices.Equal(got, want) {
		t.Errorf("after three echoes: callbacks %q, want %q", got, want)
	}
	s.conn.Close()
	seen = f.wsSeenWhen(t, tag, "the stream's end", func(m map[string]any) bool { return m["done"] == true })
	if got := calls(seen); !slices.Equal(got, want) || seen["done_details"] != "downstream_remote_disconnect" || seen["done_status"] != "101" {
		t.Errorf("after the client closed: callbacks %q, details %v, status %v; want %q, downstream_remote_disconnect, 101",
			got, seen["done_details"], seen["done_status"], want)
	}
}

// A client's half-close (FIN) ends the upgraded stream as a close does: no end_of_stream.
func checkUpgradeHalfClose(t *testing.T, f *fixture) {
	tag := wsTag(t)
	s := dialUpgrade(t, f.srv.URL, "/ws/"+tag, "websocket", tag)
	s.echo(t, "x")
	if err := s.conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if closed, err := s.closedWithin(3 * time.Second); !closed {
		t.Errorf("after the client's FIN the connection stayed open: %v", err)
	}
	seen := f.wsSeenWhen(t, tag, "the stream's end", func(m map[string]any) bool { return m["done"] == true })
	want := []string{"headers", "req 0", "response_headers", "resp 0", "req 1", "resp 1"}
	if got := calls(seen); !slices.Equal(got, want) || seen["done_details"] != "downstream_remote_disconnect" {
		t.Errorf("callbacks %q, details %v; want %q, downstream_remote_disconnect", got, seen["done_details"], want)
	}
}

// The app closing its side: one more empty response chunk (no end_of_stream), then the
// client's connection is closed.
func checkUpgradeAppCloses(t *testing.T, f *fixture) {
	tag := wsTag(t)
	s := dialUpgrade(t, f.srv.URL, "/ws/"+tag, "websocket", tag)
	s.echo(t, "x")
	s.echo(t, "bye")
	if closed, err := s.closedWithin(3 * time.Second); !closed {
		t.Errorf("the app closed, the client's connection stayed open: %v", err)
	}
	seen := f.wsSeenWhen(t, tag, "the stream's end", func(m map[string]any) bool { return m["done"] == true })
	want := []string{"headers", "req 0", "response_headers", "resp 0", "req 1", "resp 1", "req 3", "resp 3", "resp 0"}
	if got := calls(seen); !slices.Equal(got, want) || seen["done_details"] != "upstream_reset_after_response_started{connection_termination}" {
		t.Errorf("callbacks %q, details %v; want %q, upstream_reset_after_response_started{connection_termination}", got, seen["done_details"], want)
	}
}

// proxy_close_stream(request) from the root context's tick, after
// proxy_set_effective_context(stream), as filter/sockets.go closes a socket whose session
// ended: both succeed, the client's connection and the app's are closed, and the stream
// ends (proxy_on_log, proxy_on_done) with no more body callbacks.
func checkUpgradeClosedByPlugin(t *testing.T, f *fixture) {
	tag := wsTag(t)
	path := "/ws/" + tag
	s := dialUpgrade(t, f.srv.URL, path, "websocket", tag)
	s.echo(t, "x")
	if r := f.conf(t, "/conf/shared", "x-op", "set", "x-key", "close/"+tag, "x-value", "1", "x-cas", "0"); r["err"] != "" {
		t.Fatalf("asking the tick to close: %v", r)
	}
	t0 := time.Now()
	if closed, err := s.closedWithin(5 * time.Second); !closed {
		t.Fatalf("the plugin closed the stream, the client's connection stayed open: %v", err)
	}
	t.Logf("the client's connection closed %v after the request to close", time.Since(t0).Round(time.Millisecond))
	if r := f.conf(t, "/conf/shared", "x-op", "get", "x-key", "closed/"+tag); r["value"] != "close_stream:ok" {
		t.Errorf("proxy_set_effective_context, proxy_close_stream: %v, want close_stream:ok", r)
	}
	seen := f.wsSeenWhen(t, tag, "the stream's end", func(m map[string]any) bool { return m["done"] == true })
	want := []string{"headers", "req 0", "response_headers", "resp 0", "req 1", "resp 1"}
	if got := calls(seen); !slices.Equal(got, want) || seen["done_details"] != "via_upstream" {
		t.Errorf("callbacks %q, details %v; want %q, via_upstream", got, seen["done_details"], want)
	}
	eventually(t, 3*time.Second, "the app's end of the tunnel to close", func() bool { return f.upstream.tunnelEnded(path) })
}

// An upgrade type the connection manager was not configured for: 403 with an empty body
// before the plugin's request callbacks; the plugin sees the stream only in proxy_on_log and
// proxy_on_done (request headers and the 403 readable there); the app is not called.
func checkUpgradeRefused(t *testing.T, f *fixture, upgrade string) {
	tag := wsTag(t)
	path := "/ws/" + tag
	s := dialUpgrade(t, f.srv.URL, path, upgrade, tag)
	if s.resp.StatusCode != http.StatusForbidden || s.body != "" || s.resp.Header.Get("Content-Length") != "0" {
		t.Errorf("got %d %v %q, want 403 with an empty body", s.resp.StatusCode, s.resp.Header, s.body)
	}
	if s.resp.Header.Get("X-On-Response-Headers") != "" {
		t.Error("proxy_on_response_headers ran for the connection manager's 403")
	}
	seen := f.wsSeenWhen(t, tag, "the stream's end", func(m map[string]any) bool { return m["done"] == true })
	if seen["headers"] != false || seen["status"] != "" || len(calls(seen)) != 0 {
		t.Errorf("the plugin saw callbacks %q (request headers %v, response headers %q), want none before the end",
			calls(seen), seen["headers"], seen["status"])
	}
	if seen["done_status"] != "403" || seen["done_details"] != "upgrade_failed" {
		t.Errorf("at the end: status %v, details %v; want 403, upgrade_failed", seen["done_status"], seen["done_details"])
	}
	if n := f.upstream.reached(path); n != 0 {
		t.Errorf("the app got the refused upgrade %d time(s)", n)
	}
}

// Upgrade headers held on a callout (the plugin refreshing a session before it forwards the
// upgrade), then resumed from the callout's answer. With allow_on_headers_stop_iteration the
// upgrade's empty body chunk comes at once, the headers still held (the plugin pauses it
// too); without it, only once the plugin resumed. Either way the upgrade then goes through.
func checkUpgradeHeld(t *testing.T, f *fixture, allowStopIteration bool) {
	tag := wsTag(t)
	s := dialUpgrade(t, f.srv.URL, "/ws/"+tag, "websocket", tag, "X-Ws-Hold: 1")
	if s.resp.StatusCode != http.StatusSwitchingProtocols || s.resp.Header.Get("X-Upstream-Conf-Added") != "1" {
		t.Fatalf("got %d %v %q, want the 101 with the plugin's header upstream", s.resp.StatusCode, s.resp.Header, s.body)
	}
	s.echo(t, "held")
	want := []string{"headers", "callout", "req 0", "response_headers", "resp 0", "req 4", "resp 4"}
	if allowStopIteration {
		want = []string{"headers", "req 0 held", "callout", "response_headers", "resp 0", "req 4", "resp 4"}
	}
	seen := f.wsSeenWhen(t, tag, "the echo's callbacks", func(m map[string]any) bool { return len(calls(m)) >= len(want) })
	if got := calls(seen); !slices.Equal(got, want) {
		t.Errorf("callbacks %q, want %q", got, want)
	}
}

// A local reply to an upgrade request (the plugin's 401 without a session) is an ordinary
// local reply: the plugin's proxy_on_response_headers sees it, the app is not called.
func checkUpgradeLocalReply(t *testing.T, f *fixture) {
	s := dialUpgrade(t, f.srv.URL, "/conf/local", "websocket", wsTag(t))
	if s.resp.StatusCode != http.StatusForbidden || s.body != "denied by plugin" {
		t.Fatalf("got %d %q, want the plugin's 403", s.resp.StatusCode, s.body)
	}
	if got := s.resp.Header.Get("X-On-Response-Headers"); got != "403" {
		t.Errorf("proxy_on_response_headers saw %q, want 403", got)
	}
	if h := s.resp.Header; h.Get("Upgrade") != "" || h.Get("X-Local") != "yes" {
		t.Errorf("local reply headers %v, want the plugin's and no Upgrade", h)
	}
	if n := f.upstream.reached("/conf/local"); n != 0 {
		t.Errorf("the app got the upgrade the plugin answered (%d)", n)
	}
}

func calls(seen map[string]any) []string {
	var out []string
	list, _ := seen["calls"].([]any)
	for _, c := range list {
		out = append(out, c.(string))
	}
	return out
}

func TestUpgrade(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.UpgradeTypes = []string{"websocket"}
		c.PluginConfig = []byte(`{"tick_ms":20}`)
	})
	t.Run("Bodies", func(t *testing.T) { checkUpgradeBodies(t, f) })
	t.Run("HalfClose", func(t *testing.T) { checkUpgradeHalfClose(t, f) })
	t.Run("AppCloses", func(t *testing.T) { checkUpgradeAppCloses(t, f) })
	t.Run("ClosedByPlugin", func(t *testing.T) { checkUpgradeClosedByPlugin(t, f) })
	t.Run("OtherTypeRefused", func(t *testing.T) { checkUpgradeRefused(t, f, "echo") })
	t.Run("LocalReply", func(t *testing.T) { checkUpgradeLocalReply(t, f) })
}

func TestUpgradeHeldHeaders(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow_on_headers_stop_iteration=%v", allow), func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.UpgradeTypes = []string{"websocket"}
				c.AllowOnHeadersStopIteration = allow
			})
			checkUpgradeHeld(t, f, allow)
		})
	}
}

// Without UpgradeTypes (Envoy's default: no upgrade_configs) every upgrade is refused.
func TestUpgradeNotConfigured(t *testing.T) {
	checkUpgradeRefused(t, newFixture(t, nil), "websocket")
}
