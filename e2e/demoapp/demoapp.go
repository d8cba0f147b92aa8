// Package demoapp is the upstream app behind the plugin in end-to-end tests
// and `make run`. It shows a person, and tells a test as JSON, what the
// plugin forwarded: the user, the identity headers, and every token header
// decoded, with its expiry and whether it verifies against the provider's
// keys at the moment of the request.
//
// # Routes
//
// The same app is mounted at /, /app1/ and /app2/ (the token-freshness
// scenario opens "app 2" long after logging in at "app 1"):
//
//	{prefix}              an HTML page (any path that is not under api/)
//	{prefix}api/whoami    JSON: a WhoAmI
//	{prefix}ws            the live panel's WebSocket (live.go): what token the server holds
//
// Everything echoed is escaped by html/template. It is a test app: its JSON
// includes the raw tokens it received, so it must only be served on loopback.
package demoapp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Config configures the demo app.
type Config struct {
	// Issuer is the provider's issuer; tokens must carry it as iss to
	// verify. Without JWKSURL and Keys, the keys are found through its
	// discovery document.
	Issuer string
	// JWKSURL is fetched on every request that needs keys, so a verdict
	// reflects the keys published right now.
	JWKSURL string
	// Keys, if set, supplies the key set instead of HTTP (for example the
	// embedded provider's Server.JWKS, which does not count as a request).
	Keys func(context.Context) (*jose.JSONWebKeySet, error)
	// Name is the app's name at "/" ("app" when empty); the /app1/ and
	// /app2/ mounts are named app1 and app2.
	Name string
	// TokenHeaders are further request headers holding tokens to decode (an
	// on-behalf-of header configured in the plugin, say).
	TokenHeaders []string
	// SignOutPath is the sign-out link, "/oauth2/sign_out" by default.
	SignOutPath string
	// TokenScriptPath is the plugin's token script, "/oauth2/tokens.js" by default: the
	// page's live panel takes fresh tokens from it.
	TokenScriptPath string
	// HTTPClient fetches discovery and JWKS; http.DefaultClient with a 5 s
	// timeout when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultTokenHeaders are decoded on every request, followed by
// Config.TokenHeaders.
var DefaultTokenHeaders = []string{
	"Authorization",
	"X-Forwarded-Access-Token",
	"X-Forwarded-Id-Token",
	"X-Exchanged-Token",
	"X-Auth-Request-Access-Token",
}

// Handler returns the app mounted at /, /app1/ and /app2/.
func Handler(cfg Config) http.Handler {
	if cfg.Name == "" {
		cfg.Name = "app"
	}
	if cfg.SignOutPath == "" {
		cfg.SignOutPath = "/oauth2/sign_out"
	}
	if cfg.TokenScriptPath == "" {
		cfg.TokenScriptPath = "/oauth2/tokens.js"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ks := &keySource{cfg: cfg}
	mux := http.NewServeMux()
	for _, m := range []struct{ prefix, name string }{{"/", cfg.Name}, {"/app1/", "app1"}, {"/app2/", "app2"}} {
		mux.Handle(m.prefix, &app{cfg: cfg, keys: ks, name: m.name, prefix: m.prefix})
	}
	return mux
}

// app is one mount of the demo app.
type app struct {
	cfg    Config
	keys   *keySource
	name   string
	prefix string
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, a.prefix)
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case rel == "api/whoami":
		a.serveWhoAmI(w, r)
	case rel == "ws":
		a.serveLive(w, r)
	case rel == "api" || strings.HasPrefix(rel, "api/"):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "path": r.URL.Path})
	default:
		a.servePage(w, r)
	}
}

func (a *app) serveWhoAmI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.inspect(r))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
