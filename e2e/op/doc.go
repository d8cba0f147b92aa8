// Package op is an embedded OpenID Provider for the end-to-end tests and
// `make run`.
//
// It runs a real HTTP server on loopback (issuer http://127.0.0.1:PORT) built
// on github.com/zitadel/oidc/v3/pkg/op with an in-memory storage of its own,
// and adds what a test of a relying party needs from its provider:
//
//   - an HTML login form (fields #username, #password, button #submit) and a
//     login session cookie, so a second authorize skips the form until
//     end_session ends the session;
//   - configurable lifetimes for access, ID and refresh tokens, changeable
//     while running ([Server.SetLifetimes]);
//   - JWT access tokens signed with the published keys, key rotation on demand
//     ([Server.RotateKey], [Server.RemoveOldKeys]);
//   - refresh token rotation: a used refresh token is invalid afterwards and a
//     reuse answers invalid_grant (and is counted);
//   - RFC 8693 token exchange, RFC 7009 revocation, RFC 7662 introspection
//     (client_secret_basic and client_secret_post everywhere; private_key_jwt for a
//     client registered with Config.ClientJWKS or Client.JWKS);
//   - an Entra-style on-behalf-of grant (jwt-bearer with
//     requested_token_use=on_behalf_of) at the token endpoint and at
//     /entra/token, with Microsoft's response shape and AADSTS errors;
//   - per-endpoint request counters ([Server.Counts]) and injected faults
//     ([Server.SetFault]): HTTP 500, an HTML body, invalid JSON, a slow
//     answer, a closed connection.
//
// # Endpoints
//
//	/.well-known/openid-configuration  discovery
//	/keys                              JWKS
//	/authorize                         authorization endpoint (code flow, PKCE S256)
//	/login                             login form (GET shows, POST submits)
//	/oauth/token                       token endpoint
//	/entra/token                       Entra-style on-behalf-of token endpoint
//	/oauth/introspect                  RFC 7662 introspection
//	/revoke                            RFC 7009 revocation
//	/userinfo                          userinfo
//	/end_session                       RP-initiated logout
//
// The server is for tests on one machine: it keeps everything in memory,
// speaks plain HTTP and accepts any loopback redirect URI unless told not to.
// It must never be exposed beyond loopback.
package op
