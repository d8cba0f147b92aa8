package host

// sharedFuncs: shared data and shared queues, common to every VM.
func sharedFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_get_shared_data", ints(5), proxyGetSharedData},
		{"proxy_set_shared_data", ints(5), proxySetSharedData},
		{"proxy_register_shared_queue", ints(3), proxyRegisterSharedQueue},
		{"proxy_resolve_shared_queue", ints(5), proxyResolveSharedQueue},
		{"proxy_enqueue_shared_queue", ints(3), proxyEnqueueSharedQueue},
		{"proxy_dequeue_shared_queue", ints(3), proxyDequeueSharedQueue},
	}
}

func proxyGetSharedData(v *vm, s []uint64) status {
	key, ok := v.readString(u32(s[0]), u32(s[1]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	value, cas, found := v.h.shared.get(key)
	if !found {
		return statusNotFound
	}
	if st := v.copyOut(value, u32(s[2]), u32(s[3])); st != statusOK {
		return st
	}
	if !v.writeU32(u32(s[4]), cas) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

func proxySetSharedData(v *vm, s []uint64) status {
	key, ok1 := v.readString(u32(s[0]), u32(s[1]))
	value, ok2 := v.read(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	return v.h.shared.set(key, value, u32(s[4]))
}

func proxyRegisterSharedQueue(v *vm, s []uint64) status {
	name, ok := v.readString(u32(s[0]), u32(s[1]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	id := v.h.queues.register(v.h.cfg.VMID, name, v, rootContextID)
	if !v.writeU32(u32(s[2]), id) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxyResolveSharedQueue looks a queue up by vm id (empty: this plugin's).
func proxyResolveSharedQueue(v *vm, s []uint64) status {
	vmID, ok1 := v.readString(u32(s[0]), u32(s[1]))
	name, ok2 := v.readString(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	if vmID == "" {
		vmID = v.h.cfg.VMID
	}
	id, found := v.h.queues.resolve(vmID, name)
	if !found {
		return statusNotFound
	}
	if !v.writeU32(u32(s[4]), id) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// proxyEnqueueSharedQueue appends an item and, after this VM call, tells the
// queue's owner through proxy_on_queue_ready on its own VM.
func proxyEnqueueSharedQueue(v *vm, s []uint64) status {
	item, ok := v.read(u32(s[1]), u32(s[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	id := u32(s[0])
	q, st := v.h.queues.enqueue(id, item)
	if st != statusOK {
		return st
	}
	owner, root := q.owner, q.rootID
	v.h.wg.Add(1)
	go func() {
		defer v.h.wg.Done()
		owner.mu.Lock()
		defer owner.mu.Unlock()
		if owner.failed == nil && !owner.h.closed.Load() {
			_, _ = owner.call(owner.fn.onQueueReady, root, uint64(root), uint64(id))
		}
	}()
	return statusOK
}

func proxyDequeueSharedQueue(v *vm, s []uint64) status {
	item, st := v.h.queues.dequeue(u32(s[0]))
	if st != statusOK {
		return st
	}
	return v.copyOut(item, u32(s[1]), u32(s[2]))
}
