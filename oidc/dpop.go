package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// DPoP (RFC 9449): proofs of possession the relying party attaches to token
// endpoint and PAR requests and, for DPoP-bound access tokens, to resource
// requests.

// DPoPHeader is the request header that carries a proof; DPoPNonceHeader the
// response header in which a server supplies a nonce (RFC 9449 4.1, 8).
const (
	DPoPHeader      = "DPoP"
	DPoPNonceHeader = "DPoP-Nonce"
	// DPoPTokenType is the token_type of a DPoP-bound access token, also
	// the Authorization scheme it is sent with (RFC 9449 5, 7.1).
	DPoPTokenType = "DPoP"
	// ErrorUseDPoPNonce is the error code by which a server demands a
	// (fresh) nonce (RFC 9449 8, 9).
	ErrorUseDPoPNonce = "use_dpop_nonce"
)

// ErrDPoP: a DPoP proof cannot be built (a bad target URI, method or
// nonce, or the key failed to sign).
var ErrDPoP = errors.New("oidc: dpop")

// maxNonce bounds a server-supplied nonce: it is echoed into every proof.
const maxNonce = 1024

// DPoPProof describes one proof (RFC 9449 4.2).
type DPoPProof struct {
	Method      string // htm: the HTTP method, such as "POST"
	URL         string // htu: the target URI; query and fragment are dropped
	IssuedAt    int64  // iat, Unix seconds
	Nonce       string // nonce, optional: the latest DPoP-Nonce of the server
	AccessToken string // ath, optional: set when the proof accompanies an access token
}

// BuildDPoPProof signs p with key: header typ "dpop+jwt", alg, and jwk (the
// public key; never a kid), claims jti (128 random bits from random), htm,
// htu, iat, and nonce and ath when set. The method must be a token (RFC 9110
// 5.6.2); the URL absolute http(s) without userinfo; the nonce printable
// ASCII (NQCHAR, RFC 9449 8) of at most 1024 bytes.
func BuildDPoPProof(key *jwt.SigningKey, p DPoPProof, random io.Reader) (string, error) {
	if key == nil {
		return "", errorf(ErrDPoP, "no key")
	}
	if p.Method == "" || !isToken(p.Method) {
		return "", errorf(ErrDPoP, "method %s is not an HTTP token", detail(p.Method))
	}
	htu, err := DPoPTargetURI(p.URL)
	if err != nil {
		return "", err
	}
	if p.Nonce != "" && !validNonce(p.Nonce) {
		return "", errorf(ErrDPoP, "nonce is not printable ASCII of at most %d bytes", maxNonce)
	}
	var jti [16]byte
	if _, err := io.ReadFull(random, jti[:]); err != nil {
		return "", errorf(ErrDPoP, "random: %v", err)
	}
	// Written as the client assertion is (appendJSONString): no reflection.
	b := []byte(`{"jti":"`)
	b = base64.RawURLEncoding.AppendEncode(b, jti[:])
	b = append(b, `","htm":`...)
	b = appendJSONString(b, p.Method)
	b = append(b, `,"htu":`...)
	b = appendJSONString(b, htu)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, p.IssuedAt, 10)
	if p.Nonce != "" {
		b = append(b, `,"nonce":`...)
		b = appendJSONString(b, p.Nonce)
	}
	if p.AccessToken != "" {
		b = append(b, `,"ath":"`...)
		b = append(b, AccessTokenHash(p.AccessToken)...)
		b = append(b, '"')
	}
	payload := append(b, '}')
	proof, err := key.Sign(jwt.SignHeader{Type: "dpop+jwt", EmbedJWK: true}, payload, random)
	if err != nil {
		return "", errorf(ErrDPoP, "signing: %v", err)
	}
	return proof, nil
}

// AccessTokenHash is a proof's ath: base64url(SHA-256(ASCII access token))
// without padding (RFC 9449 4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// DPoPTargetURI is a proof's htu for raw: the URI without query and fragment
// (RFC 9449 4.2), with scheme and host lower-cased. raw must be an absolute
// http or https URI without userinfo.
func DPoPTargetURI(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.User != nil {
		return "", errorf(ErrDPoP, "target %s is not an absolute URI with a host and no userinfo", detail(raw))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", errorf(ErrDPoP, "target %s is not http(s)", detail(raw))
	}
	out := url.URL{Scheme: scheme, Host: strings.ToLower(u.Host), Path: u.Path, RawPath: u.RawPath}
	s := out.String()
	if !isVSCHAR(s) {
		return "", errorf(ErrDPoP, "target %s has characters outside %%x20-7E", detail(raw))
	}
	return s, nil
}

// DPoPNonce reads a DPoP-Nonce response header value: "" when absent or not
// a valid nonce (1*NQCHAR, at most 1024 bytes), which callers treat as no
// nonce rather than echoing junk.
func DPoPNonce(value string) string {
	value = strings.TrimSpace(value)
	if !validNonce(value) {
		return ""
	}
	return value
}

// IsUseDPoPNonce reports whether a token-endpoint (or PAR) failure is the
// server's demand for a nonce: a [*TokenEndpointError] with error
// "use_dpop_nonce" (RFC 9449 8, a 400 response).
func IsUseDPoPNonce(err error) bool {
	var te *TokenEndpointError
	return errors.As(err, &te) && te.Code == ErrorUseDPoPNonce
}

// ParseDPoPTokenResponse parses a token endpoint response to a request that
// carried a DPoP proof: as [ParseTokenResponse], but token_type must be
// "DPoP" (any case). A "Bearer" answer is refused with [ErrTokenType]: the
// provider ignored the proof (DPoP not enabled for the client there), and
// the relying party was configured to hold bound tokens only, so it fails
// loudly instead of silently downgrading.
func ParseDPoPTokenResponse(status int, contentType string, body []byte, maxBytes int) (*TokenResponse, error) {
	return parseTokenResponse(status, contentType, body, maxBytes, false, true)
}

// ParseDPoPExchangeResponse is [ParseExchangeResponse] for a request with a
// DPoP proof: token_type "DPoP", or "N_A" for a token that is not an access
// token.
func ParseDPoPExchangeResponse(status int, contentType string, body []byte, maxBytes int) (*TokenResponse, error) {
	return parseTokenResponse(status, contentType, body, maxBytes, true, true)
}

func tokenTypeOK(t string, exchange, dpop bool) bool {
	if exchange && t == "N_A" {
		return true
	}
	if dpop {
		return strings.EqualFold(t, DPoPTokenType)
	}
	return strings.EqualFold(t, "Bearer")
}

func validNonce(s string) bool {
	if s == "" || len(s) > maxNonce {
		return false
	}
	for i := 0; i < len(s); i++ {
		// NQCHAR = %x21 / %x23-5B / %x5D-7E
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
