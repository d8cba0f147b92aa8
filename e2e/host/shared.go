package host

import "sync"

// sharedData is proxy-wasm's shared key-value store, one per host and shared
// by every VM, with proxy-wasm-cpp-host's compare-and-swap rules: cas values
// start at 1 and skip 0; a set with cas 0 always succeeds; a set with a
// non-zero cas fails with CasMismatch if the key exists with another cas.
type sharedData struct {
	mu      sync.Mutex
	m       map[string]sharedValue
	nextCas uint32
}

type sharedValue struct {
	value []byte
	cas   uint32
}

func newSharedData() *sharedData {
	return &sharedData{m: map[string]sharedValue{}, nextCas: 1}
}

func (d *sharedData) get(key string) ([]byte, uint32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[key]
	return v.value, v.cas, ok
}

func (d *sharedData) set(key string, value []byte, cas uint32) status {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.m[key]; ok && cas != 0 && cas != old.cas {
		return statusCasMismatch
	}
	next := d.nextCas
	d.nextCas++
	if d.nextCas == 0 {
		d.nextCas++
	}
	d.m[key] = sharedValue{value: append([]byte(nil), value...), cas: next}
	return statusOK
}

// sharedQueues are proxy-wasm's shared queues. A queue is keyed by (vm id,
// name); every registration keeps the queue's token and makes the registering
// root context its owner, which receives proxy_on_queue_ready: the last VM to
// register wins, as observed in Envoy (TestEnvoyConformance/all/SharedQueue).
type sharedQueues struct {
	mu     sync.Mutex
	byName map[[2]string]uint32
	queues map[uint32]*sharedQueue
	next   uint32
}

type sharedQueue struct {
	owner  *vm
	rootID uint32
	items  [][]byte
}

func newSharedQueues() *sharedQueues {
	return &sharedQueues{byName: map[[2]string]uint32{}, queues: map[uint32]*sharedQueue{}, next: 1}
}

func (q *sharedQueues) register(vmID, name string, owner *vm, rootID uint32) uint32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := [2]string{vmID, name}
	if id, ok := q.byName[key]; ok {
		sq := q.queues[id]
		sq.owner, sq.rootID = owner, rootID
		return id
	}
	id := q.next
	q.next++
	q.byName[key] = id
	q.queues[id] = &sharedQueue{owner: owner, rootID: rootID}
	return id
}

func (q *sharedQueues) resolve(vmID, name string) (uint32, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	id, ok := q.byName[[2]string{vmID, name}]
	return id, ok
}

// enqueue appends item and returns the queue's owner to notify.
func (q *sharedQueues) enqueue(id uint32, item []byte) (*sharedQueue, status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	sq, ok := q.queues[id]
	if !ok {
		return nil, statusNotFound
	}
	sq.items = append(sq.items, append([]byte(nil), item...))
	return sq, statusOK
}

func (q *sharedQueues) dequeue(id uint32) ([]byte, status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	sq, ok := q.queues[id]
	if !ok {
		return nil, statusNotFound
	}
	if len(sq.items) == 0 {
		return nil, statusEmpty
	}
	item := sq.items[0]
	sq.items = sq.items[1:]
	return item, statusOK
}
