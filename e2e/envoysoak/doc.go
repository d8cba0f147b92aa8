// Package envoysoak measures plugin.wasm in real Envoy (V8) for BENCHMARKS.md's "In Envoy"
// section: how long Envoy takes from exec to the plugin serving, Envoy's resident memory with
// no session and with 10,000 distinct sessions, and a soak of 100,000 mixed requests with
// Envoy's resident memory along the way.
//
// # What runs
//
// A Rig is the load rig shared with tools/benchenvoy (e2e/envoyrig: the embedded OpenID
// Provider, a bearer token issuer publishing a JWKS with keys generated per run, the session
// key), the demo app (e2e/demoapp) and one Envoy process (e2e/envoy, the shipped envoy.yaml,
// two workers) in front of the app, all on loopback. Browser sessions come from one real
// login through Envoy and the provider's form; the session it sets is opened with the
// configured key and sealed again under fresh session ids (internal/sessionmint), so each
// copy is a distinct session cookie the plugin must open and cache, as it would another
// user's.
//
// The tests are skipped unless asked for: SOAK=1 (make soak) runs TestEnvoySoak,
// ENVOY_FIGURES=1 (make bench, scripts/envoy-figures.sh) runs TestEnvoyFigures. Memory is
// VmRSS of the Envoy process from /proc/PID/status (Linux only).
package envoysoak
