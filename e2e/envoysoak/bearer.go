package envoysoak

import (
	"context"
	"fmt"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/sessionmint"
)

// BearerAudience is the audience the plugin's bearer route requires.
const BearerAudience = "soak-api"

// bearerToken signs an access token for BearerAudience with the rig's issuer, RS256 or
// EdDSA ("rs" or "ed"), with a distinct jti and the given expiry.
func (r *Rig) bearerToken(kid, jti string, exp time.Time) (string, error) {
	return r.Iss.Sign(kid, map[string]any{
		"iss": r.Iss.URL(), "aud": BearerAudience, "sub": "soak-client", "jti": jti,
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": exp.Unix(), "scope": "read write",
	})
}

// NewMinter logs in through Envoy at base and the provider, and returns a minter of
// distinct sessions built on the session that login set (internal/sessionmint). The
// login's own Cookie header is returned too.
func (r *Rig) NewMinter(ctx context.Context, base string) (*sessionmint.Minter, string, error) {
	cookie, _, err := envoyrig.Login(ctx, nil, r.OP, base, "/app1/soak")
	if err != nil {
		return nil, "", err
	}
	m, err := sessionmint.FromLogin(r.Key.ID, r.Key.Secret, cookie)
	if err != nil {
		return nil, "", fmt.Errorf("envoysoak: %w", err)
	}
	return m, cookie, nil
}
