package host

import (
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// respond runs a response (upstream or local) through proxy_on_response_headers
// and proxy_on_response_body and writes it to the client. next yields body
// chunks; last marks the end.
func (s *stream) respond(m *headerMap, code int, details string, eos bool,
	next func() (data []byte, last bool, err error)) {
	v := s.v
	v.mu.Lock()
	s.resp, s.respCode, s.codeDetails = m, code, details
	v.mu.Unlock()
	contResp := func() bool { return s.contResp }
	o := s.step(func() (uint64, error) {
		s.respOpen, s.contResp = true, false
		return v.call(v.fn.onResponseHeaders, s.id, uint64(s.id), uint64(s.resp.len()), boolArg(eos))
	}, contResp)
	v.mu.Lock()
	s.respOpen = false
	out := s.resp.clone()
	lr := s.local
	s.local = nil
	v.mu.Unlock()
	switch o {
	case replied:
		s.writeLocal(lr)
		return
	case failed:
		s.writeLocal(failStream())
		return
	case idle:
		s.writeLocal(&localReply{code: http.StatusRequestTimeout, body: []byte("stream timeout"), details: "stream_idle_timeout"})
		return
	case aborted:
		s.abort()
		return
	}
	s.writeHeaders(out)
	if !eos {
		s.streamBody(next, contResp)
	}
}

// streamBody calls proxy_on_response_body per chunk. Continue forwards what is
// buffered; Pause before the end keeps buffering (Envoy's
// StopIterationAndBuffer, the next call sees the whole buffer); Pause at the
// end waits for proxy_continue_stream. Headers are out, so a local reply or a
// failure here resets the stream, as in Envoy.
func (s *stream) streamBody(next func() ([]byte, bool, error), contResp func() bool) {
	v := s.v
	for {
		data, last, err := next()
		if err != nil {
			s.resetClient()
			return
		}
		v.mu.Lock()
		s.respBody = append(s.respBody, data...)
		if len(data) == 0 && !last {
			v.mu.Unlock()
			continue
		}
		s.respBodyOpen, s.contResp = true, false
		act, err := v.call(v.fn.onResponseBody, s.id, uint64(s.id), uint64(len(s.respBody)), boolArg(last))
		o := s.check(act, err, contResp)
		if o == waiting && !last {
			s.respBodyOpen = false
			v.mu.Unlock()
			continue
		}
		v.mu.Unlock()
		if o == waiting {
			o = s.wait(contResp)
		}
		v.mu.Lock()
		s.respBodyOpen = false
		out := s.respBody
		s.respBody = nil
		v.mu.Unlock()
		if o != proceed {
			s.resetClient()
			return
		}
		s.write(out)
		if last {
			return
		}
	}
}

// writeHeaders writes the response head from the plugin's final header map.
// An unusable :status becomes 502. Go's automatic Content-Type sniffing is
// suppressed: the client gets exactly the headers the plugin left.
func (s *stream) writeHeaders(m *headerMap) {
	hdr := s.w.Header()
	code := http.StatusBadGateway
	for _, p := range m.pairs {
		k := p[0]
		if k == ":status" {
			if n, err := strconv.Atoi(p[1]); err == nil && n >= 200 && n <= 999 {
				code = n
			}
			continue
		}
		if k == "" || k[0] == ':' || (hopByHop[k] && !(s.upgrade != "" && (k == "connection" || k == "upgrade"))) {
			continue
		}
		hdr.Add(k, p[1])
	}
	if _, ok := hdr["Content-Type"]; !ok {
		hdr["Content-Type"] = nil
	}
	s.w.WriteHeader(code)
	s.headersSent = true
}

func (s *stream) write(b []byte) {
	if len(b) == 0 {
		return
	}
	n, _ := s.w.Write(b)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	s.v.mu.Lock()
	s.bytesSent += int64(n)
	s.v.mu.Unlock()
}

// abort ends a stream that was reset, lost its client, or outlived the host.
func (s *stream) abort() {
	if s.r.Context().Err() != nil {
		return // the client is gone
	}
	if s.h.baseCtx.Err() != nil && !s.headersSent {
		http.Error(s.w, "host is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.resetClient()
}

// resetClient aborts the client's connection, as an Envoy stream reset does.
// net/http recovers this panic silently; the deferred finish still runs.
func (s *stream) resetClient() {
	panic(http.ErrAbortHandler)
}

// finish runs proxy_on_log (final headers readable), proxy_on_done and
// proxy_on_delete, in Envoy's order, and forgets the context.
func (s *stream) finish() {
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failed == nil {
		s.logPhase = true
		_, _ = v.call(v.fn.onLog, s.id, uint64(s.id))
		s.logPhase = false
		_, _ = v.call(v.fn.onDone, s.id, uint64(s.id))
		_, _ = v.call(v.fn.onDelete, s.id, uint64(s.id))
	}
	delete(v.streams, s.id)
}

// proxyUpgrade forwards an upgrade (websocket) request with the plugin's
// request headers; proxy_on_response_headers sees the upstream's answer (the
// 101 included) and may edit it. After a 101 the bytes flow both ways without
// body callbacks, and without the route timeout.
func (s *stream) proxyUpgrade() {
	method, _ := s.req.get(":method")
	path, _ := s.req.get(":path")
	authority, _ := s.req.get(":authority")
	upgrade, _ := s.req.get("upgrade")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out, err := http.NewRequestWithContext(s.ctx, method, s.h.upstreamURL(path), http.NoBody)
			if err != nil {
				return
			}
			pr.Out.URL, pr.Out.Method, pr.Out.Host = out.URL, method, authority
			pr.Out.Header = http.Header{}
			copyRequestHeaders(pr.Out.Header, s.req)
			if upgrade != "" {
				pr.Out.Header.Set("Connection", "Upgrade")
				pr.Out.Header.Set("Upgrade", upgrade)
			}
		},
		Transport:      s.h.client.Transport,
		FlushInterval:  -1,
		ModifyResponse: s.upgradeResponse,
		ErrorHandler: func(_ http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, errUpgradeRefused) || s.ctx.Err() != nil {
				s.abort()
				return
			}
			s.respondLocal(upstreamFailure(s.ctx, err), true)
		},
	}
	rp.ServeHTTP(s.w, s.r.WithContext(s.ctx))
}

var errUpgradeRefused = errors.New("host: the plugin stopped the upgrade response")

// upgradeResponse runs proxy_on_response_headers on an upgrade's response.
func (s *stream) upgradeResponse(resp *http.Response) error {
	v := s.v
	m := responseHeaders(resp)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		for _, k := range []string{"Connection", "Upgrade"} {
			for _, val := range resp.Header.Values(k) {
				m.add(strings.ToLower(k), val)
			}
		}
	}
	v.mu.Lock()
	s.resp, s.respCode, s.codeDetails = m, resp.StatusCode, "via_upstream"
	v.mu.Unlock()
	o := s.step(func() (uint64, error) {
		s.respOpen, s.contResp = true, false
		return v.call(v.fn.onResponseHeaders, s.id, uint64(s.id), uint64(s.resp.len()), 0)
	}, func() bool { return s.contResp })
	v.mu.Lock()
	s.respOpen = false
	out := s.resp.clone()
	lr := s.local
	s.local = nil
	v.mu.Unlock()
	switch o {
	case replied:
		out = localHeaders(lr)
		resp.StatusCode = lr.code
		resp.Body = http.NoBody
		if len(lr.body) > 0 {
			resp.Body = io.NopCloser(strings.NewReader(string(lr.body)))
			resp.ContentLength = int64(len(lr.body))
		}
	case proceed:
	default:
		return errUpgradeRefused
	}
	resp.Header = http.Header{}
	for _, p := range out.pairs {
		if p[0] == ":status" {
			if n, err := strconv.Atoi(p[1]); err == nil {
				resp.StatusCode = n
			}
			continue
		}
		if p[0] != "" && p[0][0] != ':' {
			resp.Header.Add(p[0], p[1])
		}
	}
	return nil
}
