package host

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// What Envoy does with a request whose headers continue before its body has been through
// the plugin: the router starts the upstream request with the headers at once and sends the
// body when the filter chain passes it on; a local reply (or a reset) from the body callback
// resets that upstream request, after the app may have received the headers. That is every
// request with a body under Envoy's default, where a pause in proxy_on_request_headers is
// StopAllIteration (no body callback until the headers continue); with
// Config.AllowOnHeadersStopIteration a plugin can hold the headers through its body instead.

// An earlyUpstream is an upstream request started with the request's headers, its body to
// come through pw.
type earlyUpstream struct {
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{} // closed when Do returned: resp, err
	resp   *http.Response
	err    error
}

// headersSentWait bounds the wait for the headers to be on the wire (a transport that reads
// the body before writing the headers: it never comes to that for a POST).
const headersSentWait = 2 * time.Second

// startUpstream starts the upstream request with the headers as the plugin left them and
// returns once they are written to the upstream connection (or the request failed), so the
// body callback runs after the app could see them, as on Envoy. Nil when the request cannot
// be built (proxy then builds it again and answers the error).
func (s *stream) startUpstream() *earlyUpstream {
	ctx, cancel := context.WithCancel(s.ctx)
	pr, pw := io.Pipe()
	sent := make(chan struct{})
	body := &firstRead{r: pr, c: sent}
	req, err := s.newUpstreamRequest(ctx, body, s.declaredLength())
	if err != nil {
		cancel()
		return nil
	}
	e := &earlyUpstream{pw: pw, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.resp, e.err = s.h.client.Do(req)
	}()
	t := time.NewTimer(headersSentWait)
	defer t.Stop()
	select {
	case <-sent: // the transport flushed the headers and now reads the body
	case <-e.done:
	case <-ctx.Done():
	case <-t.C:
	}
	return e
}

// declaredLength is the request's content-length as the plugin left it, -1 (chunked) when
// there is none: what Envoy's codec sends with headers that go before the body.
func (s *stream) declaredLength() int64 {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	if cl, ok := s.req.get("content-length"); ok {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	return -1
}

// finish sends body and waits for the upstream's response headers.
func (e *earlyUpstream) finish(body []byte) (*http.Response, error) {
	go func() {
		if _, err := e.pw.Write(body); err != nil {
			return
		}
		_ = e.pw.Close()
	}()
	<-e.done
	return e.resp, e.err
}

// close resets the upstream request if it is still going (the plugin answered, or the
// stream ended).
func (e *earlyUpstream) close() {
	if e == nil {
		return
	}
	e.cancel()
	_ = e.pw.CloseWithError(errors.New("host: the request was reset"))
}

// firstRead closes c when the body is first read: net/http writes and flushes a request's
// headers before it reads a body that is not in memory.
type firstRead struct {
	r    io.Reader
	c    chan struct{}
	once sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(func() { close(f.c) })
	return f.r.Read(p)
}
