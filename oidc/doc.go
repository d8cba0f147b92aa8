// Package oidc implements the relying-party side of OpenID Connect and the
// OAuth 2.0 token requests a token broker makes, as pure Go: no proxy-wasm,
// no network, no clock or randomness of its own.
//
// # What it does
//
//   - Discovery: [ParseDiscovery] validates an OpenID Provider's metadata
//     document (OIDC Discovery 1.0), including the exact issuer match.
//   - Login: [AuthorizeURL] builds the authorization request (code flow,
//     PKCE S256), [ParseCallback] parses the authorization response strictly
//     (RFC 6749 3.1, RFC 9207), [CodeExchange] builds the token request and
//     [ParseTokenResponse] parses its answer (RFC 6749 5.1/5.2).
//   - Tokens: [IDTokenValidator] applies OIDC Core 3.1.3.7 (and 12.2 for
//     refreshed ID tokens) on top of a jwt.Verifier.
//   - Broker: [Refresh], [TokenExchange] (RFC 8693), [EntraOBO]
//     (Microsoft on-behalf-of), [Revoke] (RFC 7009), [Userinfo].
//   - Logout: [EndSessionURL] (OIDC RP-Initiated Logout 1.0).
//   - Edge decisions: [SafeReturnPath] (open-redirect defence),
//     [IsAPIRequest] (401 or redirect) and [WWWAuthenticate] (RFC 6750).
//
// Outgoing HTTP requests are returned as [Request] values for the caller to
// send; responses are handed back as status, content type and body.
//
// # Guarantees
//
// Every parser of untrusted input checks its size cap before anything else,
// rejects duplicate parameters or members where they would be ambiguous, and
// never panics (each has a fuzz target). Errors wrap a package sentinel
// ("oidc: ...") with %w; typed errors ([*TokenEndpointError],
// [*AuthorizationError], [*HTTPError]) carry only sanitized, bounded text
// from the provider. No error string ever contains a token, code, secret or
// state value.
//
// Parsing uses gjson rather than encoding/json: the package is linked into a
// wasm filter where reflection-based decoding is an order of magnitude slower.
package oidc
