package engine

import (
	"errors"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// ErrNoPushEndpoint: login.par asks for a pushed authorization request (or the provider
// requires one) and no pushed_authorization_request_endpoint is configured or discovered.
var ErrNoPushEndpoint = errors.New("engine: no pushed_authorization_request_endpoint is configured or discovered")

// PushAuthorization decides whether a login pushes its authorization request (RFC 9126)
// under login.par mode, given the PAR endpoint (configured, else discovered; "" when none)
// and whether the provider's metadata says require_pushed_authorization_requests.
//
// auto pushes when the endpoint is known or the provider requires it; always pushes; never
// does not (a provider that requires PAR will then refuse the login itself). A push without
// an endpoint is [ErrNoPushEndpoint].
func PushAuthorization(mode, endpoint string, required bool) (bool, error) {
	push := false
	switch mode {
	case config.PARAlways:
		push = true
	case config.PARAuto:
		push = endpoint != "" || required
	}
	if push && endpoint == "" {
		return false, ErrNoPushEndpoint
	}
	return push, nil
}

// SessionEnd is when s stops being usable: its absolute expiry, or, under session.max_age
// (maxAge > 0), auth_time + maxAge when that is sooner, whatever the refreshes. A session
// without an auth_time under max_age has already ended (the zero time): it cannot show
// when its user authenticated.
func SessionEnd(s *state.Session, maxAge time.Duration) time.Time {
	if maxAge <= 0 {
		return s.Expiry
	}
	if s.AuthTime.IsZero() {
		return time.Time{}
	}
	if end := s.AuthTime.Add(maxAge); end.Before(s.Expiry) {
		return end
	}
	return s.Expiry
}
