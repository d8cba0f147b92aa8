package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// outcome is what a stream does after a plugin callback.
type outcome int

const (
	proceed outcome = iota // the callback returned Continue, or the plugin continued
	waiting                // paused: wait for proxy_continue_stream
	replied                // proxy_send_local_response is pending
	aborted                // reset by the plugin, client gone, or host closing
	idle                   // paused past StreamIdleTimeout
	failed                 // the VM trapped
)

func (h *Host) newStream(v *vm, w http.ResponseWriter, r *http.Request) *stream {
	s := &stream{h: h, v: v, w: w, r: r, wake: make(chan struct{}, 1), start: time.Now(),
		remoteAddr: r.RemoteAddr, protocol: protocolString(r), connID: connectionID(r.RemoteAddr)}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		s.localAddr = la.String()
	}
	if isUpgrade(r) {
		s.upgrade = r.Header.Get("Upgrade")
	}
	return s
}

// protocolString is Envoy's name for the downstream protocol.
func protocolString(r *http.Request) string {
	if r.ProtoMajor == 2 {
		return "HTTP/2"
	}
	return r.Proto
}

// connectionID stands in for Envoy's connection id: stable for one client
// connection (its address and port), since a handler cannot see connections.
func connectionID(remote string) uint64 {
	var x uint64 = 14695981039346656037
	for i := 0; i < len(remote); i++ {
		x = (x ^ uint64(remote[i])) * 1099511628211
	}
	return x
}

// serve is the life of one stream, in Envoy's order: context create, request
// headers, request body, upstream, response headers, response body, then
// proxy_on_log, proxy_on_done, proxy_on_delete.
func (s *stream) serve() {
	ctx, cancel := context.WithCancel(s.r.Context())
	defer cancel()
	defer context.AfterFunc(s.h.baseCtx, cancel)()
	s.ctx, s.cancel = ctx, cancel

	if s.upgrade == "" {
		body, err := io.ReadAll(io.LimitReader(s.r.Body, s.h.cfg.MaxRequestBody+1))
		if err != nil {
			return // client gone
		}
		if int64(len(body)) > s.h.cfg.MaxRequestBody {
			s.writeLocal(&localReply{code: http.StatusRequestEntityTooLarge, body: []byte("Payload Too Large"), details: "request_payload_too_large"})
			return
		}
		s.reqBody = body
	}
	s.req = s.requestHeaders()

	v := s.v
	v.mu.Lock()
	if v.failed != nil {
		v.mu.Unlock()
		s.writeLocal(failStream())
		return
	}
	s.id = v.newContextID()
	v.streams[s.id] = s
	s.created = true
	_, err := v.call(v.fn.onContextCreate, s.id, uint64(s.id), rootContextID)
	v.mu.Unlock()
	defer s.finish()
	if err != nil {
		s.writeLocal(failStream())
		return
	}
	if s.upgrade != "" && !s.h.upgradeAllowed(s.upgrade) {
		s.refuseUpgrade()
		return
	}
	ok, early := s.requestPhase()
	defer early.close()
	if !ok {
		return
	}
	if s.h.cfg.upstream == nil {
		s.respondLocal(&localReply{code: http.StatusServiceUnavailable, body: []byte("no healthy upstream"), details: "no_healthy_upstream"}, true)
		return
	}
	if s.upgrade != "" {
		s.proxyUpgrade()
		return
	}
	s.proxy(early)
}

// requestPhase runs proxy_on_request_headers and proxy_on_request_body; it
// reports whether the request goes on to the upstream, and the upstream
// request when its headers went ahead of the body (early.go).
//
// A pause in the headers is Envoy's StopAllIteration: the body callback comes
// only once the plugin continues, and then the headers have gone upstream.
// With AllowOnHeadersStopIteration it is StopIteration when a body follows:
// the body callback comes at once with the headers still held (readable and
// writable), and Continue from it, or proxy_continue_stream, sends both.
//
// An upgrade request is never at its end: Envoy's HTTP/1 codec completes it at
// its headers and hands the filters an empty body chunk (end_of_stream false)
// before the upstream answers; the upgraded bytes follow as more chunks
// (upgrade.go). Only held headers wait on that chunk; otherwise a pause there
// only buffers, as Envoy's StopIterationAndBuffer.
func (s *stream) requestPhase() (bool, *earlyUpstream) {
	v := s.v
	eos := len(s.reqBody) == 0 && s.upgrade == ""
	continued := func() bool { return s.contReq }
	v.mu.Lock()
	s.reqOpen, s.contReq = true, false
	act, err := v.call(v.fn.onRequestHeaders, s.id, uint64(s.id), uint64(s.req.len()), boolArg(eos))
	o := s.check(act, err, continued)
	v.mu.Unlock()
	held := o == waiting && !eos && s.h.cfg.AllowOnHeadersStopIteration
	if !held {
		if o == waiting {
			o = s.wait(continued)
		}
		v.mu.Lock()
		s.reqOpen = false
		v.mu.Unlock()
		if !s.handleRequestOutcome(o) {
			return false, nil
		}
	}
	if len(s.reqBody) == 0 && s.upgrade == "" {
		return true, nil
	}
	var early *earlyUpstream
	if !held && s.h.cfg.upstream != nil && s.upgrade == "" {
		early = s.startUpstream()
	}
	bodyContinued := continued
	if s.upgrade != "" && !held {
		bodyContinued = func() bool { return true }
	}
	o = s.step(func() (uint64, error) {
		s.reqBodyOpen, s.contReq = true, false
		return v.call(v.fn.onRequestBody, s.id, uint64(s.id), uint64(len(s.reqBody)), boolArg(s.upgrade == ""))
	}, bodyContinued)
	v.mu.Lock()
	s.reqOpen, s.reqBodyOpen = false, false
	v.mu.Unlock()
	if !s.handleRequestOutcome(o) {
		early.close() // Envoy resets the upstream request the headers started
		return false, nil
	}
	return true, early
}

// handleRequestOutcome answers the client unless the request proceeds.
func (s *stream) handleRequestOutcome(o outcome) bool {
	switch o {
	case proceed:
		return true
	case replied:
		s.v.mu.Lock()
		lr := s.local
		s.local = nil
		s.v.mu.Unlock()
		s.respondLocal(lr, true)
	case idle:
		s.respondLocal(&localReply{code: http.StatusRequestTimeout, body: []byte("stream timeout"), details: "stream_idle_timeout"}, true)
	case failed:
		s.writeLocal(failStream())
	case aborted:
		s.abort()
	}
	return false
}

// step makes one callback (call runs with the VM locked) and, if the plugin
// paused, waits until it continues, replies, resets, or the stream dies.
func (s *stream) step(call func() (uint64, error), continued func() bool) outcome {
	s.v.mu.Lock()
	act, err := call()
	o := s.check(act, err, continued)
	s.v.mu.Unlock()
	if o != waiting {
		return o
	}
	return s.wait(continued)
}

// check classifies the stream after a callback; the VM is locked. A local
// reply wins over the returned action, as in proxy-wasm-cpp-host.
func (s *stream) check(act uint64, err error, continued func() bool) outcome {
	switch {
	case err != nil || s.v.failed != nil:
		return failed
	case s.reset:
		return aborted
	case s.local != nil:
		return replied
	case uint32(act) == actionContinue || continued():
		return proceed
	}
	return waiting
}

func (s *stream) wait(continued func() bool) outcome {
	t := time.NewTimer(s.h.cfg.StreamIdleTimeout)
	defer t.Stop()
	for {
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return aborted
		case <-t.C:
			return idle
		}
		s.v.mu.Lock()
		o := s.check(1, nil, continued)
		s.v.mu.Unlock()
		if o != waiting {
			return o
		}
	}
}

// proxy forwards the request (or the body of one whose headers went ahead:
// early) and streams the response back through the plugin.
func (s *stream) proxy(early *earlyUpstream) {
	ctx := s.ctx
	if t := s.h.cfg.UpstreamTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	var resp *http.Response
	var err error
	if early != nil {
		defer context.AfterFunc(ctx, early.cancel)()
		resp, err = early.finish(s.reqBody)
	} else {
		req, rerr := s.upstreamRequest(ctx)
		if rerr != nil {
			s.respondLocal(&localReply{code: http.StatusBadRequest, body: []byte("invalid request"), details: "invalid_upstream_request"}, true)
			return
		}
		resp, err = s.h.client.Do(req)
	}
	if err != nil {
		if s.ctx.Err() != nil {
			return // client gone or host closing
		}
		s.respondLocal(upstreamFailure(ctx, err), true)
		return
	}
	defer resp.Body.Close()
	s.forward(resp)
}

// forward runs the upstream's response through the plugin to the client.
func (s *stream) forward(resp *http.Response) {
	m := responseHeaders(resp)
	eos := resp.ContentLength == 0 || s.r.Method == http.MethodHead ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	chunk := *buf
	next := func() ([]byte, bool, error) {
		n, err := resp.Body.Read(chunk)
		if errors.Is(err, io.EOF) {
			return chunk[:n], true, nil
		}
		return chunk[:n], false, err
	}
	s.respond(m, resp.StatusCode, "via_upstream", eos, next)
	for k, vs := range resp.Trailer {
		for _, val := range vs {
			s.w.Header().Add(http.TrailerPrefix+k, val)
		}
	}
}

// chunkPool holds the buffers response bodies are read into.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// upstreamFailure is the router's local reply when the upstream fails before
// response headers.
func upstreamFailure(ctx context.Context, err error) *localReply {
	r := failureReply(ctx, err)
	code, _ := strconv.Atoi(r.headers.pairs[0][1])
	details := "upstream_reset_before_response_started"
	if code == http.StatusGatewayTimeout {
		details = "upstream_response_timeout"
	}
	return &localReply{code: code, body: r.body, details: details}
}

func (s *stream) upstreamRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader = http.NoBody
	if len(s.reqBody) > 0 {
		body = bytes.NewReader(s.reqBody)
	}
	return s.newUpstreamRequest(ctx, body, int64(len(s.reqBody)))
}

// newUpstreamRequest is the upstream request with the plugin's request headers.
func (s *stream) newUpstreamRequest(ctx context.Context, body io.Reader, length int64) (*http.Request, error) {
	method, _ := s.req.get(":method")
	path, _ := s.req.get(":path")
	authority, _ := s.req.get(":authority")
	req, err := http.NewRequestWithContext(ctx, method, s.h.upstreamURL(path), body)
	if err != nil {
		return nil, err
	}
	req.Host = authority
	req.ContentLength = length
	copyRequestHeaders(req.Header, s.req)
	return req, nil
}

func (h *Host) upstreamURL(path string) string {
	base := h.cfg.upstream.String()
	if len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + path
}

// respondLocal sends a local reply. Through the filters (a reply from the
// request path, or one Envoy's router or connection manager generates), the
// plugin's response callbacks see it, as in Envoy; otherwise it goes straight
// to the client (Envoy's sendDirectLocalReply, for replies made while the
// response is being processed).
func (s *stream) respondLocal(lr *localReply, viaFilters bool) {
	if !viaFilters {
		s.writeLocal(lr)
		return
	}
	body := lr.body
	sent := false
	next := func() ([]byte, bool, error) {
		if sent {
			return nil, true, nil
		}
		sent = true
		return body, true, nil
	}
	s.respond(localHeaders(lr), lr.code, lr.details, len(body) == 0, next)
}

// localHeaders are the headers of Envoy's local reply: :status, the plugin's
// headers, and content-length and content-type (text/plain unless set) when
// there is a body.
func localHeaders(lr *localReply) *headerMap {
	m := &headerMap{pairs: [][2]string{{":status", strconv.Itoa(lr.code)}}}
	for _, p := range lr.headers {
		m.add(p[0], p[1])
	}
	if len(lr.body) > 0 {
		m.replace("content-length", strconv.Itoa(len(lr.body)))
		if _, ok := m.get("content-type"); !ok {
			m.add("content-type", "text/plain")
		}
	}
	return m
}

func failStream() *localReply {
	return &localReply{code: http.StatusServiceUnavailable, details: "wasm_fail_stream"}
}

// writeLocal writes a reply to the client without plugin callbacks.
func (s *stream) writeLocal(lr *localReply) {
	s.v.mu.Lock()
	s.respCode, s.codeDetails = lr.code, lr.details
	s.resp = localHeaders(lr)
	m := s.resp.clone()
	s.v.mu.Unlock()
	if s.headersSent {
		s.abort()
		return
	}
	s.writeHeaders(m)
	s.write(lr.body)
}

func boolArg(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range bytes.Split([]byte(v), []byte(",")) {
			if string(bytes.ToLower(bytes.TrimSpace(tok))) == "upgrade" {
				return true
			}
		}
	}
	return false
}
