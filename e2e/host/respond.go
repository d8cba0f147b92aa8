package host

import (
	"net/http"
	"strconv"
)

// respond runs a response (upstream or local) through proxy_on_response_headers
// and proxy_on_response_body and writes it to the client. next yields body
// chunks; last marks the end.
func (s *stream) respond(m *headerMap, code int, details string, eos bool,
	next func() (data []byte, last bool, err error)) {
	out, ok := s.responseHeaders(m, code, details, eos)
	if !ok {
		return
	}
	s.writeHeaders(out)
	if !eos {
		s.streamBody(next, func() bool { return s.contResp })
	}
}

// responseHeaders runs proxy_on_response_headers and returns the headers the
// client gets; if the plugin answered, reset or failed instead, the client has
// had that and ok is false.
func (s *stream) responseHeaders(m *headerMap, code int, details string, eos bool) (out *headerMap, ok bool) {
	v := s.v
	v.mu.Lock()
	s.resp, s.respCode, s.codeDetails = m, code, details
	v.mu.Unlock()
	o := s.step(func() (uint64, error) {
		s.respOpen, s.contResp = true, false
		return v.call(v.fn.onResponseHeaders, s.id, uint64(s.id), uint64(s.resp.len()), boolArg(eos))
	}, func() bool { return s.contResp })
	v.mu.Lock()
	s.respOpen = false
	out = s.resp.clone()
	lr := s.local
	s.local = nil
	v.mu.Unlock()
	switch o {
	case replied:
		s.writeLocal(lr)
	case failed:
		s.writeLocal(failStream())
	case idle:
		s.writeLocal(&localReply{code: http.StatusRequestTimeout, body: []byte("stream timeout"), details: "stream_idle_timeout"})
	case aborted:
		s.abort()
	default:
		return out, true
	}
	return nil, false
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
