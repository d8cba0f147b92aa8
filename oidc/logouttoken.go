package oidc

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// OpenID Connect Back-Channel Logout 1.0.
const (
	// EventBackchannelLogout is the member of a logout token's events claim (section 2.4).
	EventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"
	// TypeLogoutToken is the JOSE typ of an explicitly typed logout token (section 2.4).
	TypeLogoutToken = "logout+jwt"
	// DefaultLogoutTokenMaxAge is how old a logout token's iat may be when
	// LogoutTokenValidator.MaxAge is 0. The provider sends it the moment the session ends;
	// an older one is a delayed or replayed delivery. The single-use record of its jti is
	// kept as long (see [LogoutToken.ReplayUntil]).
	DefaultLogoutTokenMaxAge = 5 * time.Minute
	// MaxLogoutRequestBytes caps a back-channel logout request body when the caller passes
	// no cap of its own: a logout token is a few hundred bytes.
	MaxLogoutRequestBytes = 16 << 10
)

// ErrLogoutToken is wrapped by every logout token validation failure, together with the jwt
// sentinel where the jwt package found the problem (jwt.ErrSignature, jwt.ErrUnknownKey,
// jwt.ErrAudience, jwt.ErrTooOld, jwt.ErrType ...) or [ErrMalformed] / [ErrMissingParam].
var ErrLogoutToken = errors.New("oidc: invalid logout token")

// LogoutToken is a validated logout token: what the provider says ended. At least one of
// Subject and SessionID is set.
type LogoutToken struct {
	Issuer    string
	Subject   string // sub; "" when the token names only a session
	SessionID string // sid; "" when the token names only a subject (every session of it)
	JTI       string // the token's unique id, for single use
	IssuedAt  time.Time
	Expiry    time.Time // exp; zero if absent
	// ReplayUntil is when the token stops being acceptable anyway (iat + max age + leeway,
	// or exp + leeway if sooner): its jti must be remembered until then, and no longer.
	ReplayUntil time.Time
}

// LogoutTokenValidator validates logout tokens for one client at one provider, like
// [IDTokenValidator] for ID tokens. Now nil means time.Now; Leeway absorbs clock skew; MaxAge
// 0 means [DefaultLogoutTokenMaxAge].
type LogoutTokenValidator struct {
	Issuer   string
	ClientID string
	Verifier *jwt.Verifier
	Now      func() time.Time
	Leeway   time.Duration
	MaxAge   time.Duration
}

// Validate applies Back-Channel Logout 1.0 section 2.6 to a logout token: the signature
// (alg allowlist and keys of the Verifier; a key not in the set wraps jwt.ErrUnknownKey, so
// the caller may refetch the JWKS, rate limited, and retry once), typ absent or logout+jwt
// (2.4, RFC 8725 3.11: an ID token or access token is never a logout token), iss equal to
// Issuer, aud containing ClientID, iat required, not in the future and not older than
// MaxAge, exp (optional) not passed, jti required, an events object whose
// EventBackchannelLogout member is a JSON object, sid and/or sub (strings), and no nonce
// (which keeps an ID token from being taken for a logout token). Single use of jti is the
// caller's (it needs storage): remember it until ReplayUntil.
func (v *LogoutTokenValidator) Validate(raw string) (*LogoutToken, error) {
	if v == nil || v.Verifier == nil || v.Issuer == "" || v.ClientID == "" {
		return nil, ErrNotConfigured
	}
	if raw == "" {
		return nil, logoutError(errorf(ErrMissingParam, "logout_token"))
	}
	tok, err := v.Verifier.Verify(raw)
	if err != nil {
		return nil, logoutError(err)
	}
	if err := tok.Header.CheckType(false, TypeLogoutToken); err != nil {
		return nil, logoutError(err)
	}
	claims, err := tok.Claims()
	if err != nil {
		return nil, logoutError(err)
	}
	maxAge := v.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultLogoutTokenMaxAge
	}
	err = claims.Validate(jwt.Expected{
		Issuer:          v.Issuer,
		Audience:        v.ClientID,
		Now:             v.Now,
		Leeway:          v.Leeway,
		RequireIssuedAt: true,
		MaxAge:          maxAge,
	})
	if err != nil {
		return nil, logoutError(err)
	}
	lt := &LogoutToken{Issuer: claims.Issuer, Subject: claims.Subject, IssuedAt: claims.IssuedAt, Expiry: claims.Expiry}
	if err := lt.readClaims(claims.Raw); err != nil {
		return nil, logoutError(err)
	}
	lt.ReplayUntil = claims.IssuedAt.Add(maxAge + max(v.Leeway, 0))
	if !claims.Expiry.IsZero() && claims.Expiry.Add(max(v.Leeway, 0)).Before(lt.ReplayUntil) {
		lt.ReplayUntil = claims.Expiry.Add(max(v.Leeway, 0))
	}
	return lt, nil
}

// readClaims reads and checks the members the jwt package does not know: jti, sid, events
// and nonce. Top-level names are unique already (jwt.Token.Claims refuses repeats).
func (lt *LogoutToken) readClaims(payload []byte) error {
	var v [4]gjson.Result
	if err := pick(gjson.ParseBytes(payload), []string{"jti", "sid", "events", "nonce"}, v[:]); err != nil {
		return err
	}
	jti, sid, events, nonce := v[0], v[1], v[2], v[3]
	switch {
	case nonce.Exists():
		return errorf(ErrMalformed, "a logout token must not have a nonce (section 2.4)")
	case jti.Type != gjson.String || jti.Str == "":
		return errorf(ErrMissingParam, "logout token jti")
	case sid.Exists() && sid.Type != gjson.String:
		return errorf(ErrMalformed, "logout token sid is not a string")
	case !events.IsObject():
		return errorf(ErrMissingParam, "logout token events object")
	}
	if err := checkEvents(events); err != nil {
		return err
	}
	lt.JTI, lt.SessionID = jti.Str, sid.Str
	if lt.SessionID == "" && lt.Subject == "" {
		return errorf(ErrMissingParam, "logout token sid or sub")
	}
	return nil
}

// checkEvents requires the back-channel logout member, once, with a JSON object value.
func checkEvents(events gjson.Result) error {
	var ev [1]gjson.Result
	if err := pick(events, []string{EventBackchannelLogout}, ev[:]); err != nil {
		return err
	}
	if !ev[0].IsObject() {
		return errorf(ErrMissingParam, "logout token events member %s (a JSON object)", EventBackchannelLogout)
	}
	return nil
}

// ParseLogoutRequest reads the body of a back-channel logout request (section 2.5): an
// application/x-www-form-urlencoded POST body with exactly one logout_token parameter
// (other parameters are ignored, repeated ones refused). maxBytes <= 0 means
// [MaxLogoutRequestBytes]; the cap is checked first ([ErrTooLarge]).
func ParseLogoutRequest(contentType string, body []byte, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = MaxLogoutRequestBytes
	}
	if len(body) > maxBytes {
		return "", errorf(ErrTooLarge, "logout request of %d bytes (max %d)", len(body), maxBytes)
	}
	if !FormContentType(contentType) {
		return "", errorf(ErrMalformed, "logout request content type %s, want application/x-www-form-urlencoded", detail(mediaType(contentType)))
	}
	q, err := parseUniqueQuery(string(body))
	if err != nil {
		return "", err
	}
	tok, ok := q.get("logout_token")
	if !ok || tok == "" {
		return "", errorf(ErrMissingParam, "logout_token")
	}
	return tok, nil
}

// FormContentType reports whether a Content-Type is application/x-www-form-urlencoded
// (parameters such as charset allowed).
func FormContentType(contentType string) bool {
	return mediaType(contentType) == "application/x-www-form-urlencoded"
}

// LogoutErrorJSON is the body of a 400 answer to a back-channel logout request (section
// 2.8): an RFC 6749 error object. description must hold no token (it is the validation
// error's text, which never does).
func LogoutErrorJSON(description string) []byte {
	desc := sanitizeText(strings.TrimPrefix(description, "oidc: "), maxDescriptionLen)
	return fmt.Appendf(nil, `{"error":"invalid_request","error_description":%q}`, desc)
}

// LogoutTokenForm is the body a provider posts (for tests and tools).
func LogoutTokenForm(token string) []byte {
	return []byte("logout_token=" + url.QueryEscape(token))
}

func logoutError(err error) error {
	return fmt.Errorf("%w: %w", ErrLogoutToken, err)
}
