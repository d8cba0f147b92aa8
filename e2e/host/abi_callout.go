package host

import (
	"context"
	"strings"
	"time"
)

// calloutResponse is what proxy_on_http_call_response can read.
type calloutResponse struct {
	headers, trailers *headerMap
	body              []byte
}

// statusBrokenConnection is WasmResult::BrokenConnection, reported by
// proxy_get_status after a callout reset.
const statusBrokenConnection = 11

func calloutFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_http_call", ints(10), proxyHTTPCall},
		{"proxy_get_status", ints(3), proxyGetStatus},
	}
}

// proxyHTTPCall starts a callout owned by the root context, as Envoy's
// Context::httpCall: the cluster must be configured and :method, :path and
// :authority present, else BadArgument. The response always arrives later,
// through proxy_on_http_call_response, never inside this call.
func proxyHTTPCall(v *vm, s []uint64) status {
	cluster, ok1 := v.readString(u32(s[0]), u32(s[1]))
	rawHeaders, ok2 := v.read(u32(s[2]), u32(s[3]))
	body, ok3 := v.read(u32(s[4]), u32(s[5]))
	_, ok4 := v.read(u32(s[6]), u32(s[7])) // Envoy's async client does not send request trailers.
	tokenPtr := u32(s[9])
	if !ok1 || !ok2 || !ok3 || !ok4 || !v.writeU32(tokenPtr, 0) {
		return statusInvalidMemoryAccess
	}
	timeout := int32(u32(s[8]))
	if timeout < 0 {
		return statusBadArgument
	}
	base, known := v.h.cfg.clusters[cluster]
	if !known {
		return statusBadArgument
	}
	headers := &headerMap{}
	for _, p := range decodePairs(rawHeaders) {
		headers.add(p[0], p[1])
	}
	for _, required := range []string{":path", ":method", ":authority"} {
		if _, ok := headers.get(required); !ok {
			return statusBadArgument
		}
	}
	token := v.nextCallToken()
	ctx, cancel := context.WithCancel(v.h.baseCtx)
	v.callouts[token] = cancel
	req := calloutRequest{base: base, headers: headers, body: append([]byte(nil), body...),
		timeout: time.Duration(timeout) * time.Millisecond}
	v.h.wg.Add(1)
	go func() {
		defer v.h.wg.Done()
		v.deliverCallout(token, v.h.fetch(ctx, req))
	}()
	v.writeU32(tokenPtr, token)
	return statusOK
}

func (v *vm) nextCallToken() uint32 {
	for {
		t := v.nextCall
		v.nextCall++
		if _, used := v.callouts[t]; t != 0 && !used {
			return t
		}
	}
}

// deliverCallout calls proxy_on_http_call_response on the root context; a nil
// response is a reset and is delivered with zero headers, like Envoy's
// onHttpCallFailure.
func (v *vm) deliverCallout(token uint32, resp *calloutResponse) {
	v.mu.Lock()
	defer v.mu.Unlock()
	cancel, live := v.callouts[token]
	if !live {
		return
	}
	delete(v.callouts, token)
	cancel()
	if v.failed != nil || v.h.closed.Load() {
		return
	}
	if resp == nil {
		v.statusCode, v.statusMessage = statusBrokenConnection, "reset"
		_, _ = v.call(v.fn.onHTTPCallResponse, rootContextID, rootContextID, uint64(token), 0, 0, 0)
		v.statusMessage = ""
		return
	}
	v.callResp = resp
	_, _ = v.call(v.fn.onHTTPCallResponse, rootContextID, rootContextID, uint64(token),
		uint64(resp.headers.len()), uint64(len(resp.body)), uint64(resp.trailers.len()))
	v.callResp = nil
}

// proxyGetStatus reports the root context's last callout status, as Envoy.
func proxyGetStatus(v *vm, s []uint64) status {
	if !v.writeU32(u32(s[0]), v.statusCode) {
		return statusInvalidMemoryAccess
	}
	return v.copyOut([]byte(v.statusMessage), u32(s[1]), u32(s[2]))
}

// lower is strings.ToLower for header names.
func lower(s string) string { return strings.ToLower(s) }
