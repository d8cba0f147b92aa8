package host

// mapFuncs: proxy_{get,set,add,replace,remove}_header_map_*.
func mapFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_get_header_map_value", ints(5), proxyGetHeaderMapValue},
		{"proxy_get_header_map_pairs", ints(3), proxyGetHeaderMapPairs},
		{"proxy_get_header_map_size", ints(2), proxyGetHeaderMapSize},
		{"proxy_set_header_map_pairs", ints(3), proxySetHeaderMapPairs},
		{"proxy_add_header_map_value", ints(5), func(v *vm, s []uint64) status {
			return editMap(v, s, func(m *headerMap, k, val string) { m.add(k, val) })
		}},
		{"proxy_replace_header_map_value", ints(5), func(v *vm, s []uint64) status {
			return editMap(v, s, func(m *headerMap, k, val string) { m.replace(k, val) })
		}},
		{"proxy_remove_header_map_value", ints(3), proxyRemoveHeaderMapValue},
	}
}

// mutableMap is Envoy's Context::getMap: request headers only while the
// request is paused in (or inside) proxy_on_request_headers, response headers
// likewise. Trailers are not supported by this host.
func (v *vm) mutableMap(t mapType) *headerMap {
	s := v.active()
	if s == nil {
		return nil
	}
	switch t {
	case mapRequestHeaders:
		if s.reqOpen {
			return s.req
		}
	case mapResponseHeaders:
		if s.respOpen {
			return s.resp
		}
	}
	return nil
}

// constMap is Envoy's Context::getConstMap: as mutableMap, plus the final
// request and response headers in proxy_on_log, plus the callout response.
func (v *vm) constMap(t mapType) *headerMap {
	switch t {
	case mapCallResponseHeaders:
		if v.callResp != nil {
			return v.callResp.headers
		}
		return nil
	case mapCallResponseTrailers:
		if v.callResp != nil {
			return v.callResp.trailers
		}
		return nil
	}
	if s := v.active(); s != nil && s.logPhase {
		switch t {
		case mapRequestHeaders:
			return s.req
		case mapResponseHeaders:
			return s.resp
		}
		return nil
	}
	return v.mutableMap(t)
}

func proxyGetHeaderMapValue(v *vm, s []uint64) status {
	t := mapType(u32(s[0]))
	if t > mapTypeMax {
		return statusBadArgument
	}
	key, ok := v.readString(u32(s[1]), u32(s[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	m := v.constMap(t)
	if m == nil {
		if st := v.active(); st != nil && st.logPhase {
			return statusNotFound
		}
		return statusBadArgument
	}
	val, found := m.get(key)
	if !found {
		return statusNotFound
	}
	return v.copyOut([]byte(val), u32(s[3]), u32(s[4]))
}

func proxyGetHeaderMapPairs(v *vm, s []uint64) status {
	t := mapType(u32(s[0]))
	if t > mapTypeMax {
		return statusBadArgument
	}
	m := v.constMap(t)
	if m == nil || m.len() == 0 {
		return v.copyOut(nil, u32(s[1]), u32(s[2]))
	}
	return v.copyOut(encodePairs(m.pairs), u32(s[1]), u32(s[2]))
}

// proxyGetHeaderMapSize reports Envoy's byteSize: the sum of key and value
// lengths.
func proxyGetHeaderMapSize(v *vm, s []uint64) status {
	t := mapType(u32(s[0]))
	if t > mapTypeMax {
		return statusBadArgument
	}
	m := v.mutableMap(t)
	if m == nil {
		return statusBadArgument
	}
	n := 0
	for _, p := range m.pairs {
		n += len(p[0]) + len(p[1])
	}
	if !v.writeU32(u32(s[1]), uint32(n)) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

func proxySetHeaderMapPairs(v *vm, s []uint64) status {
	t := mapType(u32(s[0]))
	if t > mapTypeMax {
		return statusBadArgument
	}
	b, ok := v.read(u32(s[1]), u32(s[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	m := v.mutableMap(t)
	if m == nil {
		return statusBadArgument
	}
	m.setAll(decodePairs(b))
	return statusOK
}

func editMap(v *vm, s []uint64, edit func(m *headerMap, key, value string)) status {
	t := mapType(u32(s[0]))
	if t > mapTypeMax {
		return statusBadArgument
	}
	key, ok1 := v.readString(u32(s[1]), u32(s[2]))
	val, ok2 := v.readString(u32(s[3]), u32(s[4]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	m := v.mutableMap(t)
	if m == nil {
		return statusBadArgument
	}
	edit(m, key, val)
	return statusOK
}

func proxyRemoveHeaderMapValue(v *vm, s []uint64) status {
	t := mapType(u32(s[0]))
	if t > mapTypeMax {
		return statusBadArgument
	}
	key, ok := v.readString(u32(s[1]), u32(s[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	m := v.mutableMap(t)
	if m == nil {
		return statusBadArgument
	}
	m.remove(key)
	return statusOK
}
