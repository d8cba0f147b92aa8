// Package config turns the plugin's JSON configuration into an immutable,
// fully validated Config. It is the plugin's public interface: README.md in
// this directory is the reference for every key, testdata/example.json a
// complete example and testdata/minimal.json the least that works.
//
// # Parsing
//
// Parse runs once, at plugin start. It reads the JSON strictly: unknown keys,
// duplicate keys, null, values of the wrong type and trailing data are all
// errors. Absent keys take their defaults, and the defaults are the secure
// choice (Secure, HttpOnly, SameSite=Lax cookies; https only; asymmetric JWT
// algorithms only; refresh on; the token endpoint off).
//
// Parse reports every problem at once, not the first: the error is an
// errors.Join of *FieldError values, each naming the JSON path at fault and
// saying what is wrong with it:
//
//	cookie.name: must match [A-Za-z0-9_-]+
//	session.refresh_margin: must be shorter than session.lifetime
//	routes[2].exchange.type: must be one of rfc8693, entra_obo (not "obo")
//	routes[1].bearer_issuers[0]: no bearer issuer named "corp"
//	provider.issuer: invalid JSON: invalid character '}' looking for beginning of value (offset 27, line 2, column 13)
//
// FieldErrors returns them as a slice. No message contains a secret: the
// client secret and key secrets are described (their decoded length, what
// encoding was expected) but never quoted, and URLs are not echoed.
//
// # Using a Config
//
// A Config is only made by Parse and never changes afterwards; share it
// between all contexts of a VM and never modify its fields, slices or maps.
// Everything is resolved: durations are time.Duration, key secrets are
// decoded bytes, header names are lower case, cross references (a route's
// bearer issuers) are pointers, and defaults that depend on other keys
// (provider.jwks_cluster, exchange.cluster, the bearer issuers' algorithms)
// are filled in. So nothing is checked again at request time.
//
// Request-time helpers: EndpointFor and CallbackPath, SignInPath, ... for the
// filter's own endpoints; IsPassThrough; Route, which picks the most specific
// route and never returns nil; IsAPIPath; Authorization.Allows and
// ClaimRule.Match for claim rules. They match against NormalizePath's form
// of the request path, so "/public/../admin" is "/admin" to a route and is
// never passed through; ordinary paths cost one scan and no allocation.
//
// # Stability
//
// The JSON names are the interface and follow the schema in README.md.
// Printing a Config with the fmt package redacts the client and key secrets.
package config
