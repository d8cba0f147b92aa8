package op

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// EventBackchannelLogout is the events member of a logout token (Back-Channel Logout 1.0, 2.4).
const EventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken signs a logout token (OpenID Connect Back-Channel Logout 1.0, section 2.4) for
// this provider's client with the current signing key, typ logout+jwt: iss, aud (the client
// id), iat now, a random jti, the back-channel logout event, and sid and/or sub as given (""
// leaves one out). edit, when not nil, changes the claims before signing (a nonce, another
// aud, an old iat: the refusals a relying party must make).
func (s *Server) LogoutToken(sid, sub string, edit func(claims map[string]any)) (string, error) {
	var jti [12]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := map[string]any{
		"iss": s.issuer, "aud": s.clientID, "iat": time.Now().Unix(), "jti": hex.EncodeToString(jti[:]),
		"events": map[string]any{EventBackchannelLogout: map[string]any{}},
	}
	if sid != "" {
		claims["sid"] = sid
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if edit != nil {
		edit(claims)
	}
	k := s.keys.current()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.private},
		(&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", k.kid))
	if err != nil {
		return "", fmt.Errorf("op: logout token: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("op: logout token: %w", err)
	}
	return jws.CompactSerialize()
}

// BackchannelLogout posts token to a relying party's back-channel logout URL the way a
// provider does (section 2.5: a form with logout_token) and returns the answer's status,
// Cache-Control and body.
func (s *Server) BackchannelLogout(ctx context.Context, logoutURL, token string) (status int, cacheControl, body string, err error) {
	form := url.Values{"logout_token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, logoutURL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", fmt.Errorf("op: back-channel logout: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Cache-Control"), string(b), nil
}
