// Package engine is the plugin's request-path logic that needs no host: the decisions and
// codecs filter/ applies through the proxy-wasm ABI. Everything here is plain Go on the
// standard library and the project's pure packages (config, state, oidc), so it is tested
// natively, inside wasm (scripts/wasmtest.sh) and fuzzed where it parses input, while
// filter/ keeps only what touches the host: reading the request, applying a decision,
// callouts, shared data, metrics, logs.
//
// # What is here
//
//   - Pages and JSON bodies the plugin answers with ([ErrorPage], [ErrorJSON],
//     [RetryPage], [SignedOutPage], [TokenJSON]), every untrusted value escaped.
//   - Cookies: [SetCookie] renders one with the configured attributes; [CookieValue] and
//     [SplitCookies] read the Cookie header without allocating per lookup.
//   - When a session's tokens are due for refresh ([RefreshDue], [IDTokenDue]) and how a
//     session is named across its refreshes ([SessionRef]).
//   - The records the filter keeps in Envoy's shared data: single-flight slots
//     ([FlightKey], [SlotEntry], [EncodeSlot], [DecodeSlot]) and the digest sets of used
//     login states and signed-out sessions ([DigestSet]).
//   - [SameOrigin]: whether a request comes from a page of its own origin.
//
// Nothing here reads a clock or randomness of its own: times come in as arguments.
package engine
