package host

// bufferFuncs: proxy_{get,set}_buffer_bytes and proxy_get_buffer_status.
func bufferFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_get_buffer_bytes", ints(5), proxyGetBufferBytes},
		{"proxy_get_buffer_status", ints(3), proxyGetBufferStatus},
		{"proxy_set_buffer_bytes", ints(5), proxySetBufferBytes},
	}
}

// buffer returns the contents of buffer t, whether the plugin may modify it,
// and whether it exists at all now (else NotFound), as Envoy's getBuffer. A
// body outside its callback reads as empty and is read-only.
func (v *vm) buffer(t bufferType) (data *[]byte, mutable, ok bool) {
	switch t {
	case bufferVMConfiguration:
		b := v.h.cfg.VMConfig
		return &b, false, true
	case bufferPluginConfig:
		if !v.configuring {
			return nil, false, false
		}
		b := v.h.cfg.PluginConfig
		return &b, false, true
	case bufferCallResponseBody:
		if v.callResp == nil {
			return nil, false, false
		}
		return &v.callResp.body, false, true
	case bufferRequestBody:
		if s := v.active(); s != nil && s.reqBodyOpen {
			return &s.reqBody, true, true
		}
		return new([]byte), false, true
	case bufferResponseBody:
		if s := v.active(); s != nil && s.respBodyOpen {
			return &s.respBody, true, true
		}
		return new([]byte), false, true
	case bufferDownstreamData, bufferUpstreamData, bufferGrpcReceive, bufferCallData:
		return new([]byte), false, true
	}
	return nil, false, false
}

func proxyGetBufferBytes(v *vm, s []uint64) status {
	t := bufferType(u32(s[0]))
	if t > bufferTypeMax {
		return statusBadArgument
	}
	data, _, ok := v.buffer(t)
	if !ok {
		return statusNotFound
	}
	start, length := uint64(u32(s[1])), uint64(u32(s[2]))
	size := uint64(len(*data))
	switch {
	case start > size:
		length = 0
	case start+length > size:
		length = size - start
	}
	if length == 0 {
		return v.copyOut(nil, u32(s[3]), u32(s[4]))
	}
	out := append([]byte(nil), (*data)[start:start+length]...)
	return v.copyOut(out, u32(s[3]), u32(s[4]))
}

func proxyGetBufferStatus(v *vm, s []uint64) status {
	t := bufferType(u32(s[0]))
	if t > bufferTypeMax {
		return statusBadArgument
	}
	data, _, ok := v.buffer(t)
	if !ok {
		return statusNotFound
	}
	if !v.writeU32(u32(s[1]), uint32(len(*data))) || !v.writeU32(u32(s[2]), 0) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxySetBufferBytes follows Envoy's Buffer::copyFrom: prepend (start 0,
// size 0), replace (start 0, size >= length), append (start >= length); any
// other edit is BadArgument.
func proxySetBufferBytes(v *vm, s []uint64) status {
	t := bufferType(u32(s[0]))
	if t > bufferTypeMax {
		return statusBadArgument
	}
	data, mutable, ok := v.buffer(t)
	if !ok {
		return statusNotFound
	}
	in, okMem := v.read(u32(s[3]), u32(s[4]))
	if !okMem {
		return statusInvalidMemoryAccess
	}
	if !mutable {
		return statusBadArgument
	}
	start, size := uint64(u32(s[1])), uint64(u32(s[2]))
	cur := uint64(len(*data))
	switch {
	case start == 0 && size == 0:
		*data = append(append([]byte(nil), in...), *data...)
	case start == 0 && size >= cur:
		*data = append((*data)[:0:0], in...)
	case start != 0 && start >= cur:
		*data = append(*data, in...)
	default:
		return statusBadArgument
	}
	return statusOK
}
