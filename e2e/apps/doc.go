// Package apps is the apps suite: the example apps users copy (docs/examples/apps: R Shiny from
// Debian's r-cran-shiny, Streamlit from PyPI) run as users run them, behind plugin.wasm in real
// Envoy with the embedded provider, and driven by headless Chromium over their WebSockets.
//
// For each app, inside one open session: the app renders after login; the tokens of the
// socket's upgrade request expire while the socket stays open, and later the app's server
// holds a fresh access token (from the plugin's /oauth2/tokens.js) that verifies at the
// provider with the same subject, and a fresh exchanged token of the route the page names, and
// its own on-behalf-of call with the access token succeeds; a token the page pushes for
// another user is refused; a socket opened
// after the tokens expired gets fresh ones in its upgrade headers; an upgrade without a
// session gets 401, not a redirect; sign-out closes the app's socket (the plugin's tick) and
// the page's script learns the session ended; a refresh the provider refuses is told to the
// app over its open socket, and it obtains no token after it.
//
// scripts/apps-suite.sh runs it (APPS_SUITE=1, after scripts/ensure-apps.sh); a plain
// `go test ./...` skips the scenarios and starts no app. The test files hold everything; this
// file only documents the package.
package apps
