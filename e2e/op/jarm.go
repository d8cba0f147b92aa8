package op

import (
	"encoding/json"
	"maps"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// SignJARM returns a JWT Secured Authorization Response (JARM) carrying params (code and
// state, or error) from this provider: iss is the issuer, aud clientID, exp a minute ahead,
// signed with the current signing key. override replaces or, with a nil value, removes claims
// (a wrong aud, a passed exp) so tests can send what a broken or hostile provider would.
func (s *Server) SignJARM(clientID string, params map[string]string, override map[string]any) (string, error) {
	claims := map[string]any{"iss": s.issuer, "aud": clientID, "exp": time.Now().Add(time.Minute).Unix()}
	for k, v := range params {
		claims[k] = v
	}
	maps.Copy(claims, override)
	for k, v := range override {
		if v == nil {
			delete(claims, k)
		}
	}
	k := s.keys.current()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.private},
		(&jose.SignerOptions{}).WithHeader("kid", k.kid))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
