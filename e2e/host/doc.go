// Package host is a proxy-wasm host for tests and demos: an HTTP listener in
// front of an upstream, running a plugin.wasm on wazero the way Envoy runs it.
//
// # What it guarantees
//
// Wherever a plugin can observe the host, the host behaves like Envoy's
// source/extensions/common/wasm and proxy-wasm-cpp-host (ABI 0.2.1):
//
//   - N VMs, one per simulated worker thread, each single-threaded: every call
//     into a VM holds that VM's mutex. Requests are spread round-robin (or
//     pinned per connection). Callout responses and ticks re-enter the VM under
//     the same mutex.
//   - Each VM starts with proxy_on_context_create(root, 0), proxy_on_vm_start
//     and proxy_on_configure; a false from either refuses the whole host, and
//     New's error carries the plugin's log lines.
//   - Streams: context create, request headers (with :authority, :path,
//     :method, :scheme), request body, response headers (:status), response
//     body, then proxy_on_log, proxy_on_done, proxy_on_delete, in Envoy's order.
//     A paused stream waits for proxy_continue_stream; request headers stop
//     being writable once the request continues. A local response ends the
//     stream (the upstream is never called) and, as in Envoy, passes through the
//     plugin's own response callbacks.
//   - proxy_http_call needs a configured cluster and :method, :path,
//     :authority (else BadArgument), honours the timeout, and answers through
//     proxy_on_http_call_response on the root context, asynchronously. A
//     timeout before response headers delivers Envoy's 504 "upstream request
//     timeout" local reply; a connect failure its 503; a reset after headers
//     delivers zero headers.
//   - Shared data (with CAS), shared queues and metrics are shared by all VMs.
//   - The guest reads the real wall clock, the real monotonic clock and
//     crypto/rand: never wazero's fake defaults.
//
// See e2e/README.md for how this maps to Envoy and where it differs.
package host
