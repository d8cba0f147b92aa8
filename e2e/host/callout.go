package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type calloutRequest struct {
	base    *url.URL
	headers *headerMap
	body    []byte
	timeout time.Duration // 0: none, as Envoy
}

// fetch performs a callout the way Envoy's async client reports it:
//   - a response: its headers (":status" first) and body (no trailers);
//   - a timeout or connect failure before response headers: the router's local
//     reply (504 "upstream request timeout", 503 "upstream connect error ...");
//   - a reset after the headers (timeout mid-body, truncated body, body over
//     MaxCalloutResponse): nil, delivered as zero headers;
//   - the host shutting down: nil, never delivered.
func (h *Host) fetch(ctx context.Context, c calloutRequest) *calloutResponse {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	method, _ := c.headers.get(":method")
	path, _ := c.headers.get(":path")
	authority, _ := c.headers.get(":authority")
	target := strings.TrimSuffix(c.base.String(), "/") + path
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(c.body))
	if err != nil {
		return routerReply(http.StatusServiceUnavailable,
			"upstream connect error or disconnect/reset before headers. reset reason: local reset")
	}
	req.Host = authority
	req.ContentLength = int64(len(c.body))
	if len(c.body) == 0 {
		req.Body = http.NoBody
	}
	copyRequestHeaders(req.Header, c.headers)
	resp, err := h.client.Do(req)
	if err != nil {
		if h.baseCtx.Err() != nil {
			return nil
		}
		return failureReply(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxCalloutResponse+1))
	if err != nil || int64(len(body)) > h.cfg.MaxCalloutResponse {
		return nil
	}
	// Response trailers are dropped: the clusters speak HTTP/1.1, whose codec in Envoy
	// drops trailers unless the cluster sets http_protocol_options.enable_trailers (the
	// shipped envoy.yaml does not; TestEnvoyConformance/all/CalloutResponse).
	return &calloutResponse{headers: responseHeaders(resp), body: body, trailers: &headerMap{}}
}

// failureReply is the local reply Envoy's router gives an async request that
// failed before response headers.
func failureReply(ctx context.Context, err error) *calloutResponse {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return routerReply(http.StatusGatewayTimeout, "upstream request timeout")
	}
	return routerReply(http.StatusServiceUnavailable,
		"upstream connect error or disconnect/reset before headers. reset reason: "+resetReason(err))
}

func routerReply(code int, body string) *calloutResponse {
	return &calloutResponse{
		headers: &headerMap{pairs: [][2]string{
			{":status", strconv.Itoa(code)},
			{"content-length", strconv.Itoa(len(body))},
			{"content-type", "text/plain"},
		}},
		body:     []byte(body),
		trailers: &headerMap{},
	}
}

// resetReason names a transport error in Envoy's words.
func resetReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "remote connection failure, transport failure reason: delayed connect error: Connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "connection termination"
	}
	return "remote connection failure, transport failure reason: " + err.Error()
}

// responseHeaders is the header map of an upstream response: ":status" first,
// then lowercase names sorted (Go does not keep wire order), hop-by-hop
// headers removed.
func responseHeaders(resp *http.Response) *headerMap {
	m := &headerMap{pairs: make([][2]string, 0, len(resp.Header)+2)}
	m.pairs = append(m.pairs, [2]string{":status", strconv.Itoa(resp.StatusCode)})
	for _, k := range sortedKeys(resp.Header) {
		lk := lower(k)
		if hopByHop[lk] {
			continue
		}
		for _, val := range resp.Header[k] {
			m.pairs = append(m.pairs, [2]string{lk, val})
		}
	}
	return m
}

// copyRequestHeaders copies the regular headers of m into an outgoing
// request, without pseudo-headers and hop-by-hop headers; Go's default
// User-Agent is suppressed so the upstream sees only what the plugin sent.
func copyRequestHeaders(dst http.Header, m *headerMap) {
	for _, p := range m.pairs {
		if strings.HasPrefix(p[0], ":") || hopByHop[p[0]] || p[0] == "host" || p[0] == "content-length" {
			continue
		}
		dst[http.CanonicalHeaderKey(p[0])] = append(dst[http.CanonicalHeaderKey(p[0])], p[1])
	}
	if _, ok := dst["User-Agent"]; !ok {
		dst["User-Agent"] = []string{""}
	}
}
