package oidc

import (
	"errors"
	"fmt"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// ErrTokenExpired is a token response whose access token has already expired when it
// arrives: expires_in 0, or (without expires_in) a JWT access token whose exp has passed.
// It is the provider's fault (a clock far off, a misconfigured lifetime); forwarding such
// a token, or refreshing forever to replace it, helps nobody.
var ErrTokenExpired = errors.New("oidc: the provider issued an access token that has already expired")

// AccessTokenExpiry is the one rule for when an access token from the token endpoint
// (login, refresh, exchange) expires: expires_in when the response has it; else the
// token's own exp when it is a JWT with one (read, not verified: access tokens are for the
// API, not for us); else now+fallback (session.default_access_token_lifetime). Never the
// zero time ("never expires") for sessions; an exchange, which caches what it gets rather
// than forwarding it for the session's life, passes fallback 0 and gets the zero time for
// "unknown" (it then caches the token only briefly). An expiry not after now is
// [ErrTokenExpired].
func AccessTokenExpiry(tr *TokenResponse, now time.Time, fallback time.Duration) (time.Time, error) {
	exp, from := tr.Expiry(now), "expires_in"
	if !tr.HasExpiresIn {
		exp, from = jwtExpiry(tr.AccessToken), "the token's exp"
	}
	switch {
	case exp.IsZero() && fallback > 0:
		return now.Add(fallback), nil
	case exp.IsZero():
		return time.Time{}, nil // unknown (an exchange's choice)
	case !exp.After(now):
		return time.Time{}, fmt.Errorf("%w (%s: %s ago)", ErrTokenExpired, from, now.Sub(exp).Round(time.Second))
	}
	return exp, nil
}

// jwtExpiry is the exp of token when it is a JWT with one (read, not verified), else zero.
func jwtExpiry(token string) time.Time {
	tok, err := jwt.Parse(token)
	if err != nil {
		return time.Time{}
	}
	c, err := tok.Claims()
	if err != nil {
		return time.Time{}
	}
	return c.Expiry
}
