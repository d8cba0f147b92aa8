// Package calib holds calibration benchmarks: the operations of RATIONALE.md's
// "wasm cost model" (signature verification, AEAD open, hashing, compare,
// JSON), measured on the standard library and golang.org/x/crypto exactly as
// plugin.wasm links them. `make bench` runs them natively and in wasm side by
// side and prints them next to the model (model.txt), so every report shows
// whether this machine still matches the numbers the design relies on.
//
// The package has no code of its own; its RSA public key, message and
// signature in testdata/ are fixed so that no benchmark run pays for an
// RSA key generation (slow in wasm).
package calib
