package host

import "time"

// miscFuncs: logging, clocks, timers, contexts and foreign functions.
func miscFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_log", ints(3), proxyLog},
		{"proxy_get_log_level", ints(1), func(v *vm, s []uint64) status {
			if !v.writeU32(u32(s[0]), uint32(v.h.cfg.LogLevel)) {
				return statusInvalidMemoryAccess
			}
			return statusOK
		}},
		{"proxy_get_current_time_nanoseconds", ints(1), func(v *vm, s []uint64) status {
			if !v.writeU64(u32(s[0]), uint64(time.Now().UnixNano())) {
				return statusInvalidMemoryAccess
			}
			return statusOK
		}},
		{"proxy_set_tick_period_milliseconds", ints(1), func(v *vm, s []uint64) status {
			v.setTickPeriod(time.Duration(u32(s[0])) * time.Millisecond)
			return statusOK
		}},
		{"proxy_set_effective_context", ints(1), proxySetEffectiveContext},
		{"proxy_done", nil, proxyDone},
		{"proxy_call_foreign_function", ints(6), proxyCallForeignFunction},
	}
}

func proxyLog(v *vm, s []uint64) status {
	level := LogLevel(u32(s[0]))
	if level > LogCritical {
		return statusBadArgument
	}
	msg, ok := v.readString(u32(s[1]), u32(s[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	v.h.logs.add(v.idx, level, msg)
	return statusOK
}

// proxySetEffectiveContext accepts the root context, a live stream, or 0
// (proxy-wasm-cpp-host's VM context, which means "the current context").
func proxySetEffectiveContext(v *vm, s []uint64) status {
	id := u32(s[0])
	if _, ok := v.streams[id]; !ok && id != rootContextID && id != 0 {
		return statusBadArgument
	}
	v.effID = id
	return statusOK
}

// proxyDone finishes a root context that returned false from proxy_on_done.
func proxyDone(v *vm, _ []uint64) status {
	if v.active() != nil || !v.pendingDone {
		return statusNotFound
	}
	v.pendingDone = false
	close(v.doneCh)
	return statusOK
}

// proxyCallForeignFunction knows Envoy's clear_route_cache (a no-op here: the
// host has one route); every other name is NotFound.
func proxyCallForeignFunction(v *vm, s []uint64) status {
	name, ok := v.readString(u32(s[0]), u32(s[1]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	if _, ok := v.read(u32(s[2]), u32(s[3])); !ok {
		return statusInvalidMemoryAccess
	}
	if name != "clear_route_cache" {
		return statusNotFound
	}
	if s[4] != 0 && !v.writeU32(u32(s[4]), 0) || s[5] != 0 && !v.writeU32(u32(s[5]), 0) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// setTickPeriod (re)arms the VM's timer; 0 disables it. v.mu is held. Like
// Envoy, the first tick fires one period after the call.
func (v *vm) setTickPeriod(d time.Duration) {
	v.tickGen++
	v.tickPeriod = d
	if v.tickTimer != nil {
		v.tickTimer.Stop()
		v.tickTimer = nil
	}
	if d > 0 {
		v.armTick(v.tickGen)
	}
}

func (v *vm) armTick(gen uint64) {
	v.tickTimer = time.AfterFunc(v.tickPeriod, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if gen != v.tickGen || v.h.closed.Load() || v.failed != nil {
			return
		}
		_, _ = v.call(v.fn.onTick, rootContextID, rootContextID)
		if gen == v.tickGen && v.tickPeriod > 0 {
			v.armTick(gen)
		}
	})
}
