// Package bench is the wasm half of `make bench`'s whole-filter report: each scenario of
// internal/filterbench (warm and cold session requests, the login callback, a refresh, bearer
// tokens, a pass-through request, and the no-op plugin as the floor) runs through the plugin
// compiled to wasm, in the e2e proxy-wasm host on wazero's compiler engine. The native half is
// filter/bench_test.go; scripts/bench-filter.sh runs both, interleaved, and tools/filterbench
// prints the table.
//
// # What is measured
//
// A request is driven through its whole proxy-wasm life with host.Driver: context create,
// request headers, the callouts it makes (answered in line with the provider's canned answer,
// so no network time is counted), response headers, log, done, delete. filter-ns/op is the
// time inside those calls into the VM, host functions included, as Envoy's worker would spend
// it; the host's floor is the same life in the no-op plugin. filter-B/op and filter-allocs/op
// come from the guest Go runtime's counters (e2e/bench/probe), read before and after the loop.
//
// BenchmarkHostCalls counts the proxy_* host functions each request calls, by name, through a
// wazero function listener on the host module (a separate host: listeners change the compiled
// code). BenchmarkVMStart times a VM's instantiation and configuration; BenchmarkMemory10k
// reports a VM's linear memory after 10,000 distinct sessions.
//
// Environment: FILTERBENCH_PLUGIN and FILTERBENCH_NOOP name the benchmark builds of the plugin
// and of the no-op plugin (built into a temporary directory when unset); FILTERBENCH_CACHE is
// wazero's compilation cache directory.
package bench
