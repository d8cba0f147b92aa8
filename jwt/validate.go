package jwt

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
)

// Expected is what Validate checks claims against: the building blocks of
// OIDC Core 3.1.3.7 (ID token) and RFC 9068 (JWT access token) validation.
type Expected struct {
	// Issuer must equal iss exactly. Required: Validate fails if empty.
	Issuer string
	// Audience must be one of the aud values. Required: Validate fails if
	// empty. For an ID token it is the client_id.
	Audience string
	// AuthorizedParty is this client's client_id, for ID tokens. When set,
	// azp must equal it if present, and must be present if aud has more
	// than one value (OIDC Core 3.1.3.7 steps 4 and 5). Leave it empty for
	// access tokens, whose azp names the client that requested them.
	AuthorizedParty string
	// Nonce, when set, must equal the nonce claim (compared in constant
	// time). Set it to the value sent in the authentication request.
	Nonce string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Leeway absorbs clock skew for exp, nbf, iat and the ages below.
	Leeway time.Duration
	// RequireExpiry, RequireIssuedAt and RequireSubject fail validation
	// when exp, iat or sub is absent. OIDC ID tokens require all three.
	RequireExpiry, RequireIssuedAt, RequireSubject bool
	// MaxAge, when positive, rejects tokens whose iat is older than it
	// (and requires iat).
	MaxAge time.Duration
	// MaxAuthAge, when positive, rejects tokens whose auth_time is older
	// than it (and requires auth_time): the max_age request parameter.
	MaxAuthAge time.Duration
}

// Validate checks c against e and returns the first failure, wrapping the
// matching sentinel with detail. Issuer and audience values appear in the
// message (quoted, truncated); nonces never do.
func (c *Claims) Validate(e Expected) error {
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	leeway := max(e.Leeway, 0)
	if err := c.checkIssuer(e.Issuer); err != nil {
		return err
	}
	if err := c.checkAudience(e.Audience, e.AuthorizedParty); err != nil {
		return err
	}
	if err := c.checkTimes(e, now, leeway); err != nil {
		return err
	}
	if err := c.checkNonce(e.Nonce); err != nil {
		return err
	}
	if e.RequireSubject && c.Subject == "" {
		return fmt.Errorf("%w: sub", ErrMissingClaim)
	}
	return nil
}

func (c *Claims) checkIssuer(want string) error {
	switch {
	case want == "":
		return fmt.Errorf("%w: no expected issuer configured", ErrIssuer)
	case c.Issuer == "":
		return fmt.Errorf("%w: %w: iss", ErrIssuer, ErrMissingClaim)
	case c.Issuer != want:
		return fmt.Errorf("%w: expected %s, got %s", ErrIssuer, quote(want), quote(c.Issuer))
	}
	return nil
}

func (c *Claims) checkAudience(want, clientID string) error {
	switch {
	case want == "":
		return fmt.Errorf("%w: no expected audience configured", ErrAudience)
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: %w: aud", ErrAudience, ErrMissingClaim)
	case !contains(c.Audience, want):
		return fmt.Errorf("%w: expected %s, got %s", ErrAudience, quote(want), quoteList(c.Audience))
	case clientID == "":
		return nil
	case c.AuthorizedParty == "" && len(c.Audience) > 1:
		return fmt.Errorf("%w: %w: azp is required when aud has %d values", ErrAuthorizedParty, ErrMissingClaim, len(c.Audience))
	case c.AuthorizedParty != "" && c.AuthorizedParty != clientID:
		return fmt.Errorf("%w: expected %s, got %s", ErrAuthorizedParty, quote(clientID), quote(c.AuthorizedParty))
	}
	return nil
}

// checkTimes applies exp, nbf, iat and the optional ages. RFC 7519: the
// token is expired once now >= exp, so with leeway once now >= exp+leeway.
func (c *Claims) checkTimes(e Expected, now time.Time, leeway time.Duration) error {
	switch {
	case c.Expiry.IsZero() && e.RequireExpiry:
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	case c.IssuedAt.IsZero() && (e.RequireIssuedAt || e.MaxAge > 0):
		return fmt.Errorf("%w: iat", ErrMissingClaim)
	case c.AuthTime.IsZero() && e.MaxAuthAge > 0:
		return fmt.Errorf("%w: auth_time", ErrMissingClaim)
	case !c.Expiry.IsZero() && !now.Before(c.Expiry.Add(leeway)):
		return fmt.Errorf("%w: exp %s, now %s, leeway %s", ErrExpired, stamp(c.Expiry), stamp(now), leeway)
	case !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore):
		return fmt.Errorf("%w: nbf %s, now %s, leeway %s", ErrNotYetValid, stamp(c.NotBefore), stamp(now), leeway)
	case !c.IssuedAt.IsZero() && now.Add(leeway).Before(c.IssuedAt):
		return fmt.Errorf("%w: iat %s, now %s, leeway %s", ErrIssuedInFuture, stamp(c.IssuedAt), stamp(now), leeway)
	case e.MaxAge > 0 && now.Sub(c.IssuedAt) > e.MaxAge+leeway:
		return fmt.Errorf("%w: iat %s, max age %s", ErrTooOld, stamp(c.IssuedAt), e.MaxAge)
	case e.MaxAuthAge > 0 && now.Sub(c.AuthTime) > e.MaxAuthAge+leeway:
		return fmt.Errorf("%w: auth_time %s, max age %s", ErrAuthTooOld, stamp(c.AuthTime), e.MaxAuthAge)
	}
	return nil
}

func (c *Claims) checkNonce(want string) error {
	switch {
	case want == "":
		return nil
	case c.Nonce == "":
		return fmt.Errorf("%w: %w: nonce", ErrNonce, ErrMissingClaim)
	case subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(want)) != 1:
		return fmt.Errorf("%w: nonce does not match the request", ErrNonce)
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// quoteList renders up to four values with quote.
func quoteList(list []string) string {
	const show = 4
	parts := make([]string, 0, show+1)
	for i, s := range list {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(list)-show))
			break
		}
		parts = append(parts, quote(s))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
