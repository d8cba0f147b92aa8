package host

import "strings"

// streamFuncs: continuing, closing and answering HTTP streams.
func streamFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_continue_stream", ints(1), proxyContinueStream},
		{"proxy_close_stream", ints(1), proxyCloseStream},
		{"proxy_send_local_response", ints(8), proxySendLocalResponse},
	}
}

// proxyContinueStream resumes a paused request or response after the current
// VM call, as Envoy defers continueDecoding. Like Envoy, continuing the request
// ends write access to the request headers and body. On the root context it is
// a no-op.
func proxyContinueStream(v *vm, s []uint64) status {
	st := v.active()
	switch streamType(u32(s[0])) {
	case streamRequest:
		if st != nil {
			st.contReq = true
			st.notify()
		}
	case streamResponse:
		if st != nil {
			st.contResp = true
			st.notify()
		}
	case streamDownstream:
		return statusOK
	case streamUpstream:
		return statusUnimplemented
	default:
		return statusBadArgument
	}
	if st != nil {
		st.reqOpen, st.reqBodyOpen = false, false
	}
	return statusOK
}

// proxyCloseStream resets an HTTP stream: the client's connection is aborted,
// and an upgraded stream's tunnel ends (Envoy closes both connections).
func proxyCloseStream(v *vm, s []uint64) status {
	st := v.active()
	switch streamType(u32(s[0])) {
	case streamRequest, streamResponse:
		if st != nil {
			if st.codeDetails == "" {
				st.codeDetails = "wasm_close_stream"
			}
			st.reset = true
			st.notify()
			if st.tunnelling {
				st.cancel() // closes both connections of the upgraded stream
			}
		}
		return statusOK
	case streamDownstream, streamUpstream:
		return statusOK
	}
	return statusBadArgument
}

// proxySendLocalResponse records the reply; the stream sends it after the VM
// call returns and never calls the upstream. Envoy's grpc_status is ignored
// here (no gRPC). On the root context it is a no-op, as in Envoy.
func proxySendLocalResponse(v *vm, s []uint64) status {
	details, ok1 := v.readString(u32(s[1]), u32(s[2]))
	body, ok2 := v.read(u32(s[3]), u32(s[4]))
	rawHeaders, ok3 := v.read(u32(s[5]), u32(s[6]))
	if !ok1 || !ok2 || !ok3 {
		return statusInvalidMemoryAccess
	}
	st := v.active()
	if st == nil {
		return statusOK
	}
	headers := decodePairs(rawHeaders)
	for i := range headers {
		headers[i][0] = strings.ToLower(headers[i][0])
	}
	st.local = &localReply{
		code:    int(u32(s[0])),
		body:    append([]byte(nil), body...),
		headers: headers,
		details: strings.Join(strings.Fields(details), "_"),
	}
	st.notify()
	return statusOK
}
