// Package envoyrig is the Envoy load rig shared by tools/benchenvoy (`make bench-envoy`) and
// e2e/envoysoak (`make soak`, the start and memory figures): what both put around plugin.wasm
// in real Envoy, on loopback.
//
//   - Rig: the embedded OpenID Provider (e2e/op, tokens valid for an hour so no refresh
//     happens during a run), a bearer token Issuer of its own, the session key, and the
//     plugin configuration they make (`make run`'s, plus a bearer route for /api/).
//   - Issuer: an httptest server publishing a JWKS (an RS256 key, and an EdDSA one when
//     asked; keys generated per run) and signing access tokens with them.
//   - WaitServing: polls a freshly started Envoy until the plugin serves (a protected
//     navigation redirected to the provider, then a bearer token accepted), counting what it
//     answered before.
//   - Login: a whole browser login through a proxy and the provider's form; the Cookie
//     header it leaves is what internal/sessionmint mints more sessions from.
//   - WithFilters: the shipped bootstrap with the Wasm filter replaced (the peers' rows) or
//     removed (the "no filter" baseline).
//   - ProcessCPU: a process's CPU time from /proc (Linux only).
package envoyrig
