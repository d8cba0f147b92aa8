package host

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

func propertyFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_get_property", ints(4), proxyGetProperty},
		{"proxy_set_property", ints(4), proxySetProperty},
	}
}

// proxyGetProperty serializes like Envoy's serializeValue: strings as bytes,
// int64/uint64/timestamps/durations as 8 little-endian bytes, bools as one
// byte, maps in the proxy-wasm pairs format.
func proxyGetProperty(v *vm, s []uint64) status {
	raw, ok := v.read(u32(s[0]), u32(s[1]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	if len(raw) == 0 {
		return statusNotFound
	}
	val, st := v.property(strings.Split(string(raw), "\x00"))
	if st != statusOK {
		return st
	}
	return v.copyOut(val, u32(s[2]), u32(s[3]))
}

// proxySetProperty stores a value in the stream's filter state, readable back
// under the same one-segment path (Envoy keeps it as a "wasm."-prefixed
// CelState). Without a stream there is nothing to store it in: NotFound.
func proxySetProperty(v *vm, s []uint64) status {
	path, ok1 := v.readString(u32(s[0]), u32(s[1]))
	val, ok2 := v.read(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	st := v.active()
	if st == nil {
		return statusNotFound
	}
	if st.filterState == nil {
		st.filterState = map[string][]byte{}
	}
	st.filterState[path] = append([]byte(nil), val...)
	return statusOK
}

func (v *vm) property(path []string) ([]byte, status) {
	top, rest := path[0], path[1:]
	cfg := v.h.cfg
	switch top {
	case "plugin_name":
		return leaf(cfg.PluginName, rest)
	case "plugin_root_id":
		return leaf(cfg.RootID, rest)
	case "plugin_vm_id":
		return leaf(cfg.VMID, rest)
	}
	s := v.active()
	if s == nil {
		return nil, statusNotFound
	}
	switch top {
	case "request":
		return s.requestProperty(rest)
	case "response":
		return s.responseProperty(rest)
	case "source":
		return peerProperty(s.remoteAddr, rest)
	case "destination":
		return peerProperty(s.localAddr, rest)
	case "connection":
		return s.connectionProperty(rest)
	case "connection_id":
		return leaf(s.connID, rest)
	}
	if b, ok := s.filterState[top]; ok && len(rest) == 0 {
		return b, statusOK
	}
	return nil, statusNotFound
}

// leaf serializes a scalar property; a longer path under a scalar is NotFound.
func leaf(val any, rest []string) ([]byte, status) {
	if len(rest) != 0 {
		return nil, statusNotFound
	}
	var b [8]byte
	switch x := val.(type) {
	case string:
		return []byte(x), statusOK
	case int64:
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		return b[:], statusOK
	case uint64:
		binary.LittleEndian.PutUint64(b[:], x)
		return b[:], statusOK
	case bool:
		if x {
			return []byte{1}, statusOK
		}
		return []byte{0}, statusOK
	case [][2]string:
		return encodePairs(x), statusOK
	}
	return nil, statusSerializationFailure
}

// visibleRequest is the request header map CEL sees: Envoy's activation uses
// the live request headers, which are gone once the request continued, or the
// final ones in proxy_on_log.
func (s *stream) visibleRequest() *headerMap {
	if s.reqOpen || s.logPhase {
		return s.req
	}
	return nil
}

func (s *stream) visibleResponse() *headerMap {
	if s.respOpen || s.logPhase {
		return s.resp
	}
	return nil
}

func (s *stream) requestProperty(rest []string) ([]byte, status) {
	if len(rest) == 0 {
		return nil, statusSerializationFailure
	}
	h := s.visibleRequest()
	fromHeader := func(name string) ([]byte, status) {
		if h == nil {
			return nil, statusNotFound
		}
		val, ok := h.get(name)
		if !ok {
			return nil, statusNotFound
		}
		return leaf(val, rest[1:])
	}
	switch rest[0] {
	case "headers":
		return headersProperty(h, rest[1:])
	case "path":
		return fromHeader(":path")
	case "url_path", "query":
		p, st := fromHeader(":path")
		if st != statusOK {
			return p, st
		}
		before, after, _ := strings.Cut(string(p), "?")
		if rest[0] == "url_path" {
			return []byte(before), statusOK
		}
		after, _, _ = strings.Cut(after, "#")
		return []byte(after), statusOK
	case "host":
		return fromHeader(":authority")
	case "scheme":
		return fromHeader(":scheme")
	case "method":
		return fromHeader(":method")
	case "referer":
		return fromHeader("referer")
	case "useragent":
		return fromHeader("user-agent")
	case "id":
		return fromHeader("x-request-id")
	case "time":
		return leaf(s.start.UnixNano(), rest[1:])
	case "protocol":
		return leaf(s.protocol, rest[1:])
	case "duration":
		if !s.logPhase {
			return nil, statusNotFound
		}
		return leaf(int64(time.Since(s.start)), rest[1:])
	case "size":
		if h != nil {
			if cl, ok := h.get("content-length"); ok {
				n, err := strconv.ParseInt(cl, 10, 64)
				if err != nil {
					return nil, statusNotFound
				}
				return leaf(n, rest[1:])
			}
		}
		return leaf(int64(len(s.reqBody)), rest[1:])
	case "total_size":
		return leaf(int64(len(s.reqBody))+byteSize(h), rest[1:])
	}
	return nil, statusNotFound
}

func (s *stream) responseProperty(rest []string) ([]byte, status) {
	if len(rest) == 0 {
		return nil, statusSerializationFailure
	}
	switch rest[0] {
	case "code":
		if s.respCode == 0 {
			return nil, statusNotFound
		}
		return leaf(int64(s.respCode), rest[1:])
	case "code_details":
		if s.codeDetails == "" {
			return nil, statusNotFound
		}
		return leaf(s.codeDetails, rest[1:])
	case "headers":
		return headersProperty(s.visibleResponse(), rest[1:])
	case "trailers":
		return headersProperty(nil, rest[1:])
	case "size":
		return leaf(s.bytesSent, rest[1:])
	case "total_size":
		return leaf(s.bytesSent+byteSize(s.visibleResponse()), rest[1:])
	case "flags":
		return leaf(int64(0), rest[1:])
	}
	return nil, statusNotFound
}

// headersProperty is Envoy's HeadersWrapper: as a map, one pair per name with
// repeated values joined by ","; indexed by a name, that joined value.
func headersProperty(h *headerMap, rest []string) ([]byte, status) {
	var names []string
	joined := map[string]string{}
	if h != nil {
		for _, p := range h.pairs {
			if old, ok := joined[p[0]]; ok {
				joined[p[0]] = old + "," + p[1]
				continue
			}
			names = append(names, p[0])
			joined[p[0]] = p[1]
		}
	}
	if len(rest) == 0 {
		pairs := make([][2]string, len(names))
		for i, n := range names {
			pairs[i] = [2]string{n, joined[n]}
		}
		return leaf(pairs, nil)
	}
	val, ok := joined[strings.ToLower(rest[0])]
	if !ok {
		return nil, statusNotFound
	}
	return leaf(val, rest[1:])
}

func peerProperty(addr string, rest []string) ([]byte, status) {
	if len(rest) == 0 {
		return nil, statusSerializationFailure
	}
	a, port := hostPort(addr)
	switch rest[0] {
	case "address":
		return leaf(a, rest[1:])
	case "port":
		return leaf(port, rest[1:])
	}
	return nil, statusNotFound
}

func (s *stream) connectionProperty(rest []string) ([]byte, status) {
	if len(rest) == 0 {
		return nil, statusSerializationFailure
	}
	cs := s.r.TLS
	switch rest[0] {
	case "id":
		return leaf(s.connID, rest[1:])
	case "mtls":
		return leaf(cs != nil && len(cs.PeerCertificates) > 0, rest[1:])
	case "requested_server_name":
		if cs == nil {
			return leaf("", rest[1:])
		}
		return leaf(cs.ServerName, rest[1:])
	case "sha256_peer_certificate_digest":
		// Envoy: the hex SHA-256 of the client certificate's DER, "" without one; absent
		// on a connection without TLS.
		if cs == nil {
			return nil, statusNotFound
		}
		if len(cs.PeerCertificates) == 0 {
			return leaf("", rest[1:])
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		return leaf(hex.EncodeToString(sum[:]), rest[1:])
	case "tls_version":
		if cs == nil {
			return nil, statusNotFound
		}
		return leaf(tlsVersion(cs.Version), rest[1:])
	}
	return nil, statusNotFound
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

func byteSize(h *headerMap) int64 {
	if h == nil {
		return 0
	}
	var n int64
	for _, p := range h.pairs {
		n += int64(len(p[0]) + len(p[1]))
	}
	return n
}
