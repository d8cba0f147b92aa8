package oidc

import (
	"fmt"
	"slices"
	"time"

	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// IDTokenValidator validates ID tokens for one client at one provider. Build
// it once per key set (its Verifier holds the keys); it is safe for
// concurrent use. Now nil means time.Now; Leeway absorbs clock skew.
type IDTokenValidator struct {
	Issuer   string
	ClientID string
	Verifier *jwt.Verifier
	Now      func() time.Time
	Leeway   time.Duration
	// MaxAge, when positive, is the max_age the authorization request sent:
	// Validate then requires auth_time and refuses one older than MaxAge
	// (with Leeway). ValidateRefreshed does not apply it (auth_time cannot
	// change, OIDC Core 12.2; the session's own end enforces the age).
	MaxAge time.Duration
	// ACRValues, when not empty, are the acr_values the authorization request
	// sent: Validate then requires an acr claim equal to one of them
	// ([ErrACR]; 3.1.3.7 item 12), since the user may have removed them from
	// the request. ValidateRefreshed does not apply it (no new authentication).
	ACRValues []string
}

// Validate applies OIDC Core 3.1.3.7 to an ID token from a code exchange and
// returns its claims: the signature (alg allowlist and keys of the
// Verifier), typ absent or JWT (application/jwt, any case; anything else
// wraps jwt.ErrType, RFC 8725 3.11), iss equal to Issuer, aud containing ClientID, azp equal to
// ClientID when present and required when aud has several values, sub
// present, exp required and not passed, iat required and not in the future
// (both with Leeway), nonce equal to nonce when nonce is not empty (pass the
// one sent in the authorization request: it must be there), and at_hash
// when the token has one and accessToken is not empty (3.1.3.8, 3.2.2.9),
// and, when MaxAge is set, auth_time present ([ErrAuthTimeMissing]) and
// auth_time + MaxAge + Leeway not passed ([ErrMaxAgeExceeded]; 3.1.3.7 item 13),
// and, when ACRValues is set, an acr that is one of them ([ErrACR]; item 12).
//
// A token signed with a key not in the set wraps jwt.ErrUnknownKey: the
// caller may refetch the JWKS (rate limited) and retry once.
func (v *IDTokenValidator) Validate(rawIDToken, nonce, accessToken string) (*jwt.Claims, error) {
	tok, claims, err := v.verify(rawIDToken, nonce)
	if err != nil {
		return nil, err
	}
	if err := checkAtHash(tok, claims, accessToken); err != nil {
		return nil, err
	}
	if err := v.checkMaxAge(claims); err != nil {
		return nil, err
	}
	if err := v.checkACR(claims); err != nil {
		return nil, err
	}
	return claims, nil
}

func (v *IDTokenValidator) checkACR(claims *jwt.Claims) error {
	if len(v.ACRValues) == 0 {
		return nil
	}
	acr := gjson.GetBytes(claims.Raw, "acr")
	switch {
	case !acr.Exists():
		return idTokenError(fmt.Errorf("%w: the id token has no acr", ErrACR))
	case acr.Type != gjson.String || !slices.Contains(v.ACRValues, acr.Str):
		return idTokenError(fmt.Errorf("%w: acr %s", ErrACR, detail(acr.String())))
	}
	return nil
}

func (v *IDTokenValidator) checkMaxAge(claims *jwt.Claims) error {
	if v.MaxAge <= 0 {
		return nil
	}
	if claims.AuthTime.IsZero() {
		return idTokenError(ErrAuthTimeMissing)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if age := now().Sub(claims.AuthTime); age > v.MaxAge+v.Leeway {
		return idTokenError(fmt.Errorf("%w: authenticated %ds ago, max_age %ds", ErrMaxAgeExceeded, int64(age/time.Second), int64(v.MaxAge/time.Second)))
	}
	return nil
}

// ValidateRefreshed validates an ID token returned by a refresh (OIDC Core
// 12.2) against prev, the claims of the session's current ID token: the
// checks of Validate without a nonce requirement, then iss and sub must be
// unchanged ([ErrIssuerMismatch], [ErrSubjectChanged]), aud must hold the same
// values as prev's, in any order ([ErrAudienceChanged]), azp must be
// unchanged ([ErrAuthorizedParty]), a nonce, if present, must equal prev's
// (jwt.ErrNonce), and auth_time, if present in both, must be equal
// ([ErrAuthTimeChanged]).
func (v *IDTokenValidator) ValidateRefreshed(rawIDToken, accessToken string, prev *jwt.Claims) (*jwt.Claims, error) {
	if prev == nil {
		return nil, ErrNoPreviousIDToken
	}
	tok, claims, err := v.verify(rawIDToken, "")
	if err != nil {
		return nil, err
	}
	switch {
	case claims.Issuer != prev.Issuer:
		return nil, idTokenError(errorf(ErrIssuerMismatch, "refreshed id token issuer %s, session issuer %s", detail(claims.Issuer), detail(prev.Issuer)))
	case claims.Subject != prev.Subject:
		return nil, idTokenError(ErrSubjectChanged)
	case !sameAudience(claims.Audience, prev.Audience):
		return nil, idTokenError(ErrAudienceChanged)
	case claims.AuthorizedParty != prev.AuthorizedParty:
		return nil, idTokenError(errorf(ErrAuthorizedParty, "refreshed id token azp %s, original %s", detail(claims.AuthorizedParty), detail(prev.AuthorizedParty)))
	case claims.Nonce != "" && claims.Nonce != prev.Nonce:
		return nil, idTokenError(fmt.Errorf("%w: refreshed id token nonce differs from the original", jwt.ErrNonce))
	case !claims.AuthTime.IsZero() && !prev.AuthTime.IsZero() && !claims.AuthTime.Equal(prev.AuthTime):
		return nil, idTokenError(ErrAuthTimeChanged)
	}
	if err := checkAtHash(tok, claims, accessToken); err != nil {
		return nil, err
	}
	return claims, nil
}

// sameAudience reports whether two aud values hold the same strings (as sets: a
// provider may list them in another order, or as a string instead of an array of one).
func sameAudience(a, b []string) bool {
	return slices.Equal(uniqueSorted(a), uniqueSorted(b))
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// verify checks the signature and the claims common to both paths.
func (v *IDTokenValidator) verify(raw, nonce string) (*jwt.Token, *jwt.Claims, error) {
	if v == nil || v.Verifier == nil || v.Issuer == "" || v.ClientID == "" {
		return nil, nil, ErrNotConfigured
	}
	if raw == "" {
		return nil, nil, idTokenError(errorf(ErrMissingParam, "id_token"))
	}
	tok, err := v.Verifier.Verify(raw)
	if err != nil {
		return nil, nil, idTokenError(err)
	}
	// RFC 8725 3.11: a token explicitly typed as something else (an RFC 9068
	// access token, a logout token) is never an ID token, even when its
	// claims would pass. ID tokens carry typ JWT or none.
	if err := tok.Header.CheckType(false, jwt.TypeJWT); err != nil {
		return nil, nil, idTokenError(err)
	}
	claims, err := tok.Claims()
	if err != nil {
		return nil, nil, idTokenError(err)
	}
	err = claims.Validate(jwt.Expected{
		Issuer:          v.Issuer,
		Audience:        v.ClientID,
		AuthorizedParty: v.ClientID,
		Nonce:           nonce,
		Now:             v.Now,
		Leeway:          v.Leeway,
		RequireExpiry:   true,
		RequireIssuedAt: true,
		RequireSubject:  true,
	})
	if err != nil {
		return nil, nil, idTokenError(err)
	}
	return tok, claims, nil
}

func checkAtHash(tok *jwt.Token, claims *jwt.Claims, accessToken string) error {
	if claims.AtHash == "" || accessToken == "" {
		return nil
	}
	if err := jwt.VerifyAtHash(accessToken, tok.Header.Algorithm, claims.AtHash); err != nil {
		return idTokenError(err)
	}
	return nil
}

func idTokenError(err error) error {
	return fmt.Errorf("%w: %w", ErrIDToken, err)
}
