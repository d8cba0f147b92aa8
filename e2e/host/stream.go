package host

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

// A stream is one HTTP request/response pair and its proxy-wasm context.
// Fields below mu are read and written only with the VM's mutex held.
type stream struct {
	h  *Host
	v  *vm
	id uint32
	w  http.ResponseWriter
	r  *http.Request

	wake   chan struct{}   // signalled when the plugin continues, replies or resets
	ctx    context.Context // the request's context, also cancelled by Host.Close
	cancel context.CancelFunc

	// Immutable request facts, for properties.
	start      time.Time
	connID     uint64
	remoteAddr string
	localAddr  string
	protocol   string
	upgrade    string

	req, resp                *headerMap
	reqBody, respBody        []byte
	reqOpen, reqBodyOpen     bool // writable request headers / body (Envoy nils them)
	respOpen, respBodyOpen   bool
	logPhase                 bool
	contReq, contResp, reset bool
	local                    *localReply
	respCode                 int
	codeDetails              string
	bytesSent                int64
	filterState              map[string][]byte
	created, headersSent     bool
	tunnelling               bool // an upgraded stream's bytes flow (upgrade.go)
}

// A localReply is a proxy_send_local_response (or a host-generated reply
// Envoy would send, such as a 503 when the upstream is down).
type localReply struct {
	code    int
	body    []byte
	headers [][2]string
	details string
}

func (s *stream) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// requestHeaders builds the map the plugin sees, like Envoy's HTTP/1 codec and
// connection manager: pseudo-headers first, lowercase names, hop-by-hop
// headers removed (kept for upgrades), x-forwarded-proto and x-request-id
// added when absent. Go does not keep the wire order of headers, so regular
// headers are sorted by name.
func (s *stream) requestHeaders() *headerMap {
	r := s.r
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	xfp := r.Header.Get("X-Forwarded-Proto")
	if xfp == "" {
		xfp = scheme
	}
	// Envoy's :scheme follows a valid x-forwarded-proto.
	if xfp == "http" || xfp == "https" {
		scheme = xfp
	}
	path := r.RequestURI
	if path == "" || path[0] != '/' && path != "*" {
		path = r.URL.RequestURI()
	}
	m := &headerMap{pairs: make([][2]string, 0, len(r.Header)+6)}
	m.pairs = append(m.pairs,
		[2]string{":authority", r.Host},
		[2]string{":path", path},
		[2]string{":method", r.Method},
		[2]string{":scheme", scheme},
	)
	for _, k := range sortedKeys(r.Header) {
		lk := lower(k)
		if hopByHop[lk] && !(s.upgrade != "" && (lk == "connection" || lk == "upgrade")) {
			continue
		}
		for _, val := range r.Header[k] {
			m.pairs = append(m.pairs, [2]string{lk, val})
		}
	}
	if _, ok := m.get("content-length"); !ok && r.ContentLength > 0 {
		m.add("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
	if _, ok := m.get("x-forwarded-proto"); !ok {
		m.add("x-forwarded-proto", xfp)
	}
	if _, ok := m.get("x-request-id"); !ok {
		m.add("x-request-id", newUUID())
	}
	return m
}

// hopByHop are the connection-level headers Envoy's connection manager strips.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "trailer": true,
}

func hostPort(addr string) (string, int64) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.ParseInt(p, 10, 64)
	return addr, n
}
