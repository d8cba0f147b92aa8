package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

func TestClassifyTokenError(t *testing.T) {
	for _, c := range []struct {
		err    error
		reason string
	}{
		{jwt.ErrExpired, "expired"},
		{jwt.ErrNotYetValid, "not_yet_valid"},
		{jwt.ErrIssuedInFuture, "not_yet_valid"},
		{jwt.ErrAudience, "audience"},
		{jwt.ErrIssuer, "issuer"},
		{ErrForeignIssuer, "issuer"},
		{ErrNoIssuer, "issuer"},
		{jwt.ErrAlgNone, "algorithm"},
		{jwt.ErrAlgNotAllowed, "algorithm"},
		{jwt.ErrSignature, "signature"},
		{jwt.ErrUnknownKey, "signature"},
		{jwt.ErrKeyMismatch, "signature"},
		{jwt.ErrMissingClaim, "claims"},
		{jwt.ErrTooLarge, "malformed"},
		{jwt.ErrType, "type"},
		{ErrIDTokenAsBearer, "type"},
		{jwt.ErrMalformed, "malformed"},
		{errors.New("other"), "malformed"},
	} {
		reason, desc := ClassifyTokenError(fmt.Errorf("verify: %w", c.err))
		if reason != c.reason || desc == "" {
			t.Errorf("%v: reason %q desc %q, want reason %q", c.err, reason, desc, c.reason)
		}
	}
	if _, d := ClassifyTokenError(jwt.ErrTooLarge); d != "The token is too large." {
		t.Errorf("too large: %q", d)
	}
	if _, d := ClassifyTokenError(jwt.ErrMalformed); d != "The token is malformed." {
		t.Errorf("malformed: %q", d)
	}
}
