// Package probe exports the guest Go runtime's allocation counters to the host, so the wasm
// benchmarks (e2e/bench) can report bytes and allocations per request as testing.B does
// natively. Only the benchmark builds of the plugin import it (e2e/bench/plugin and
// e2e/bench/noop); plugin.wasm never has these exports. Outside wasip1 it is empty.
package probe
