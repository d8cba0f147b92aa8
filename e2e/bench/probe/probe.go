//go:build wasip1

package probe

import "runtime"

// totalAlloc is runtime.MemStats.TotalAlloc: bytes allocated on the heap, ever.
//
//go:wasmexport oidc_bench_total_alloc
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// mallocs is runtime.MemStats.Mallocs: heap objects allocated, ever.
//
//go:wasmexport oidc_bench_mallocs
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// heapInuse is runtime.MemStats.HeapInuse after a GC: bytes in live heap spans.
//
//go:wasmexport oidc_bench_heap_inuse
func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
