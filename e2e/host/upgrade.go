package host

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Upgrades (WebSockets), as Envoy 1.40's connection manager and router handle them over
// HTTP/1 (checked by TestEnvoyConformance/all/Upgrade*):
//
//   - An upgrade whose type is not in the connection manager's upgrade_configs
//     (Config.UpgradeTypes) is answered 403 with an empty body (response code details
//     upgrade_failed) before any filter's request callback: the plugin's context is created
//     and it sees only proxy_on_log and proxy_on_done, where the request headers and the
//     403 are readable. The upstream is not called.
//   - An accepted one is never at its end: proxy_on_request_headers has end_of_stream false,
//     an empty proxy_on_request_body follows at once (requestPhase), and the upstream's
//     answer goes through proxy_on_response_headers; a 101 is followed by an empty
//     proxy_on_response_body. Then every chunk read from either side is one body callback
//     (end_of_stream false, whatever ends the stream) before it is passed on. Headers paused
//     under AllowOnHeadersStopIteration get the empty request chunk while still held.
//   - The client closing its connection (or half-closing it) ends the stream without more
//     callbacks (details downstream_remote_disconnect); the app closing its side costs one
//     more empty proxy_on_response_body, then the client's connection is closed (details
//     upstream_reset_after_response_started{connection_termination}); proxy_close_stream
//     closes both connections (details unchanged). proxy_on_log and proxy_on_done follow.
//   - There is no route timeout on an upgraded stream (the shipped upgrade route has none).

// upgradeAllowed reports whether the connection manager accepts this upgrade type (Envoy
// compares it case-insensitively).
func (h *Host) upgradeAllowed(upgrade string) bool {
	for _, t := range h.cfg.UpgradeTypes {
		if strings.EqualFold(t, upgrade) {
			return true
		}
	}
	return false
}

// refuseUpgrade is the connection manager's 403 for an upgrade type it was not configured
// for; the deferred finish gives the plugin proxy_on_log and proxy_on_done.
func (s *stream) refuseUpgrade() {
	s.writeLocal(&localReply{code: http.StatusForbidden, details: "upgrade_failed"})
}

// proxyUpgrade forwards an upgrade request with the plugin's request headers. An answer
// other than 101 is an ordinary response; a 101 turns the stream into a tunnel.
func (s *stream) proxyUpgrade() {
	req, err := s.newUpstreamRequest(s.ctx, http.NoBody, 0)
	if err != nil {
		s.respondLocal(&localReply{code: http.StatusBadRequest, body: []byte("invalid request"), details: "invalid_upstream_request"}, true)
		return
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", s.upgrade)
	resp, err := s.h.client.Transport.RoundTrip(req)
	if err != nil {
		if s.ctx.Err() != nil {
			return // client gone, reset or host closing
		}
		s.respondLocal(upstreamFailure(s.ctx, err), true)
		return
	}
	up, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		defer resp.Body.Close()
		s.forward(resp)
		return
	}
	defer up.Close()
	m := responseHeaders(resp)
	for _, k := range []string{"Connection", "Upgrade"} {
		for _, val := range resp.Header.Values(k) {
			m.add(strings.ToLower(k), val)
		}
	}
	out, ok := s.responseHeaders(m, resp.StatusCode, "via_upstream", false)
	if !ok {
		return
	}
	s.tunnel(up, out)
}

// tunnel writes the 101 to the client and then passes bytes both ways through the body
// callbacks until one side closes, the plugin resets the stream or the host closes.
func (s *stream) tunnel(up io.ReadWriteCloser, out *headerMap) {
	conn, brw, err := http.NewResponseController(s.w).Hijack()
	if err != nil {
		s.abort()
		return
	}
	defer conn.Close()
	// The tunnel ends when this context does: cancelled by the first side to close (end), by
	// proxy_close_stream (s.cancel) or by Host.Close. The request's own context is not used:
	// net/http cancels it when the client closes, which would hide who closed first.
	ctx, cancel := context.WithCancel(s.h.baseCtx)
	defer cancel()
	v := s.v
	v.mu.Lock()
	s.headersSent, s.tunnelling, s.cancel = true, true, cancel
	v.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		up.Close()
	})
	defer stop()
	if err := writeSwitchingProtocols(brw.Writer, out); err != nil {
		return
	}
	var once sync.Once
	end := func(details string) {
		once.Do(func() {
			v.mu.Lock()
			if details != "" && !s.reset {
				s.codeDetails = details
			}
			v.mu.Unlock()
			cancel()
		})
	}
	// The 101's empty chunk, then what the plugin left in the request body before the
	// upstream answered.
	if first, ok := s.tunnelChunk(false, nil); !ok || write(conn, first) != nil {
		end("")
		return
	}
	v.mu.Lock()
	pending := s.reqBody
	s.reqBody = nil
	v.mu.Unlock()
	if write(up, pending) != nil {
		end("")
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := s.pump(brw.Reader, up, true)
		switch {
		case errors.Is(err, errTunnelWrite):
			return // the app's side is gone: the other pump sees it and ends the tunnel
		case ctx.Err() == nil && !errors.Is(err, errTunnelReset):
			end("downstream_remote_disconnect")
		}
		end("")
	}()
	err = s.pump(up, conn, false)
	switch {
	case ctx.Err() != nil || errors.Is(err, errTunnelReset):
	case errors.Is(err, errTunnelWrite):
		end("downstream_remote_disconnect")
	default:
		// Envoy hands the filters one more empty chunk when the app closes its side.
		_, _ = s.tunnelChunk(false, nil)
		end("upstream_reset_after_response_started{connection_termination}")
	}
	end("")
	wg.Wait()
}

var (
	errTunnelReset = errors.New("host: the plugin reset the upgraded stream")
	errTunnelWrite = errors.New("host: writing to the other side of the tunnel failed")
)

// pump reads src until it fails, passing each chunk through the plugin's body callback
// (request: src is the client) and on to dst.
func (s *stream) pump(src io.Reader, dst io.Writer, request bool) error {
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	for {
		n, err := src.Read(*buf)
		if n > 0 {
			out, ok := s.tunnelChunk(request, (*buf)[:n])
			if !ok {
				return errTunnelReset
			}
			if write(dst, out) != nil {
				return errTunnelWrite
			}
		}
		if err != nil {
			return err
		}
	}
}

// tunnelChunk runs one chunk of an upgraded stream through proxy_on_request_body or
// proxy_on_response_body (end_of_stream false) and returns the bytes to pass on: the
// buffer as the plugin left it if it continued, nothing if it paused (Envoy's
// StopIterationAndBuffer: the next call sees the chunks together). ok is false when the
// stream is over: the plugin reset it, answered (after the 101, a reset too) or failed.
func (s *stream) tunnelChunk(request bool, data []byte) (out []byte, ok bool) {
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failed != nil || s.reset || s.local != nil {
		return nil, false
	}
	buf, open, fn, cont := &s.respBody, &s.respBodyOpen, v.fn.onResponseBody, &s.contResp
	if request {
		buf, open, fn, cont = &s.reqBody, &s.reqBodyOpen, v.fn.onRequestBody, &s.contReq
	}
	*buf = append(*buf, data...)
	*open, *cont = true, false
	act, err := v.call(fn, s.id, uint64(s.id), uint64(len(*buf)), 0)
	*open = false
	switch s.check(act, err, func() bool { return *cont }) {
	case proceed:
		out, *buf = *buf, nil
		return out, true
	case waiting:
		return nil, true
	}
	return nil, false
}

// writeSwitchingProtocols writes the 101 with the headers the plugin left.
func writeSwitchingProtocols(w *bufio.Writer, m *headerMap) error {
	_, _ = w.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for _, p := range m.pairs {
		if p[0] == "" || p[0][0] == ':' {
			continue
		}
		_, _ = w.WriteString(http.CanonicalHeaderKey(p[0]) + ": " + p[1] + "\r\n")
	}
	_, _ = w.WriteString("\r\n")
	return w.Flush()
}

func write(w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}
