//go:build wasip1

package probe

import "runtime"

func read() *runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &m
}

// totalAlloc is runtime.MemStats.TotalAlloc: bytes allocated on the heap, ever.
//
//go:wasmexport oidc_bench_total_alloc
func totalAlloc() uint64 { return read().TotalAlloc }

// mallocs is runtime.MemStats.Mallocs: heap objects allocated, ever.
//
//go:wasmexport oidc_bench_mallocs
func mallocs() uint64 { return read().Mallocs }

// numGC is runtime.MemStats.NumGC: completed GC cycles.
//
//go:wasmexport oidc_bench_num_gc
func numGC() uint64 { return uint64(read().NumGC) }

// heapSys is runtime.MemStats.HeapSys: heap memory obtained from linear memory, which never
// goes back.
//
//go:wasmexport oidc_bench_heap_sys
func heapSys() uint64 { return read().HeapSys }

// heapAlloc is runtime.MemStats.HeapAlloc after a GC: the live heap.
//
//go:wasmexport oidc_bench_heap_alloc
func heapAlloc() uint64 {
	runtime.GC()
	return read().HeapAlloc
}

// heapInuse is runtime.MemStats.HeapInuse after a GC: bytes in heap spans holding live
// objects (the live heap plus fragmentation).
//
//go:wasmexport oidc_bench_heap_inuse
func heapInuse() uint64 {
	runtime.GC()
	return read().HeapInuse
}
