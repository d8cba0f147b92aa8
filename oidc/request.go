package oidc

import (
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// Client authentication methods (RFC 6749 2.3.1, OIDC Core 9).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none"              // public client: client_id in the body only
	AuthPrivateKeyJWT     = "private_key_jwt"   // RFC 7523 2.2 assertion signed with the client's key
	AuthClientSecretJWT   = "client_secret_jwt" // RFC 7523 2.2 assertion, HMAC with the secret
	// RFC 8705 2: the TLS client certificate authenticates the client;
	// the body carries client_id only. The certificate is presented by
	// the transport (in Envoy, the cluster's UpstreamTlsContext).
	AuthTLSClientAuth           = "tls_client_auth"             // PKI: the certificate's subject DN or a SAN
	AuthSelfSignedTLSClientAuth = "self_signed_tls_client_auth" // the certificate's key is registered
)

// IsMTLS reports whether method authenticates the client by its TLS
// client certificate (RFC 8705 section 2).
func IsMTLS(method string) bool {
	return method == AuthTLSClientAuth || method == AuthSelfSignedTLSClientAuth
}

// ClientAssertionType is client_assertion_type for JWT client assertions
// (RFC 7523 2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is valid.
const AssertionLifetime = 60 * time.Second

// Client is the relying party's registration at the provider.
type Client struct {
	ID     string
	Secret string
	// AuthMethod is one of the Auth* constants. Empty means
	// client_secret_basic when Secret is set, else none.
	AuthMethod string
	// Signer signs client assertions (private_key_jwt: the client's key;
	// client_secret_jwt: an HMAC key of the secret). Without it those
	// methods send client_id only, which the provider rejects.
	Signer *jwt.SigningKey
	// Audience is the assertions' aud: the issuer identifier (RFC 7523bis,
	// FAPI 2.0), accepted by every endpoint. Empty: the endpoint's URL.
	Audience string
	// Now and Rand feed iat/exp and jti (and ECDSA/PSS); nil means
	// time.Now and no assertion.
	Now  func() time.Time
	Rand io.Reader
}

// Request is an outgoing HTTP request for the caller to send (in the filter,
// by an HTTP callout). The caller derives :method, :path and :authority from
// Method and URL. Headers and Body hold credentials: never log them.
type Request struct {
	Method  string
	URL     string
	Headers [][2]string
	Body    []byte
}

// Token type identifiers (RFC 8693 3).
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
)

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// CodeExchange builds the token request that redeems an authorization code
// (RFC 6749 4.1.3) with its PKCE verifier (RFC 7636 4.5).
func CodeExchange(endpoint string, c Client, code, verifier, redirectURI string) Request {
	return c.post(endpoint, []queryParam{
		{"grant_type", GrantAuthorizationCode},
		{"code", code},
		{"redirect_uri", redirectURI},
		{"code_verifier", verifier},
	})
}

// Refresh builds a refresh token request (RFC 6749 6). scopes, when
// non-empty, narrows the request; empty keeps the original grant's scope.
// Scopes that are not valid scope tokens are dropped (configuration
// validates them).
func Refresh(endpoint string, c Client, refreshToken string, scopes []string) Request {
	return c.post(endpoint, []queryParam{
		{"grant_type", GrantRefreshToken},
		{"refresh_token", refreshToken},
		{"scope", joinScopes(scopes)},
	})
}

// Exchange are the optional parameters of an RFC 8693 token exchange.
type Exchange struct {
	Audience           string
	Resource           string
	Scope              string
	SubjectTokenType   string // default TokenTypeAccessToken
	RequestedTokenType string
	ActorToken         string
	ActorTokenType     string // default TokenTypeAccessToken when ActorToken is set
}

// TokenExchange builds an RFC 8693 token exchange request. Parse its answer
// with [ParseExchangeResponse].
func TokenExchange(endpoint string, c Client, subjectToken string, x Exchange) Request {
	subjectType := x.SubjectTokenType
	if subjectType == "" {
		subjectType = TokenTypeAccessToken
	}
	actorType := ""
	if x.ActorToken != "" {
		actorType = x.ActorTokenType
		if actorType == "" {
			actorType = TokenTypeAccessToken
		}
	}
	return c.post(endpoint, []queryParam{
		{"grant_type", GrantTokenExchange},
		{"subject_token", subjectToken},
		{"subject_token_type", subjectType},
		{"requested_token_type", x.RequestedTokenType},
		{"audience", x.Audience},
		{"resource", x.Resource},
		{"scope", x.Scope},
		{"actor_token", x.ActorToken},
		{"actor_token_type", actorType},
	})
}

// EntraOBO builds a Microsoft identity platform on-behalf-of request: the
// JWT bearer grant (RFC 7523) with requested_token_use=on_behalf_of. The
// assertion is an access token whose audience is this client; scope is the
// downstream API's (e.g. "https://database.windows.net/.default"). Parse
// the answer with [ParseTokenResponse].
func EntraOBO(endpoint string, c Client, assertion, scope string) Request {
	return c.post(endpoint, []queryParam{
		{"grant_type", GrantJWTBearer},
		{"assertion", assertion},
		{"scope", scope},
		{"requested_token_use", "on_behalf_of"},
	})
}

// Revoke builds an RFC 7009 revocation request. hint is
// "refresh_token", "access_token" or empty. Check the answer with
// [ParseRevokeResponse].
func Revoke(endpoint string, c Client, token, hint string) Request {
	return c.post(endpoint, []queryParam{
		{"token", token},
		{"token_type_hint", hint},
	})
}

// Userinfo builds a UserInfo request (OIDC Core 5.3.1) with the access
// token in the Authorization header (RFC 6750 2.1).
func Userinfo(endpoint, accessToken string) Request {
	return Request{
		Method: "GET",
		URL:    endpoint,
		Headers: [][2]string{
			{"authorization", "Bearer " + accessToken},
			{"accept", "application/json"},
		},
	}
}

// post builds a form POST to a token-type endpoint authenticated as c.
func (c Client) post(endpoint string, params []queryParam) Request {
	headers := make([][2]string, 0, 3)
	headers = append(headers,
		[2]string{"content-type", "application/x-www-form-urlencoded"},
		[2]string{"accept", "application/json"},
	)
	switch c.method() {
	case AuthClientSecretBasic:
		headers = append(headers, [2]string{"authorization", basicAuth(c.ID, c.Secret)})
	case AuthClientSecretPost:
		if !hasParam(params, "client_id") {
			params = append(params, queryParam{"client_id", c.ID})
		}
		params = append(params, queryParam{"client_secret", c.Secret})
	case AuthPrivateKeyJWT, AuthClientSecretJWT:
		if !hasParam(params, "client_id") {
			params = append(params, queryParam{"client_id", c.ID})
		}
		if a, ok := c.assertion(endpoint); ok {
			params = append(params, queryParam{"client_assertion_type", ClientAssertionType}, queryParam{"client_assertion", a})
		}
	default:
		if !hasParam(params, "client_id") {
			params = append(params, queryParam{"client_id", c.ID})
		}
	}
	return Request{Method: "POST", URL: endpoint, Headers: headers, Body: formEncode(params)}
}

// hasParam reports whether params already sets name (a pushed authorization
// request carries client_id among its own parameters).
func hasParam(params []queryParam, name string) bool {
	for _, p := range params {
		if p.name == name && p.value != "" {
			return true
		}
	}
	return false
}

func (c Client) method() string {
	switch c.AuthMethod {
	case AuthClientSecretBasic, AuthClientSecretPost, AuthNone, AuthPrivateKeyJWT, AuthClientSecretJWT,
		AuthTLSClientAuth, AuthSelfSignedTLSClientAuth:
		return c.AuthMethod
	}
	if c.Secret != "" {
		return AuthClientSecretBasic
	}
	return AuthNone
}

// assertion signs a client assertion (RFC 7523 2.2, OIDC Core 9): iss and
// sub the client_id, aud the Audience (else endpoint), a random jti, iat
// now and exp AssertionLifetime later. ok is false when there is no signer
// or signing fails; the request then goes without one and the provider's
// invalid_client answer fails it as any rejected credential.
func (c Client) assertion(endpoint string) (string, bool) {
	if c.Signer == nil || c.Rand == nil {
		return "", false
	}
	var id [16]byte
	if _, err := io.ReadFull(c.Rand, id[:]); err != nil {
		return "", false
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now().Unix()
	aud := c.Audience
	if aud == "" {
		aud = endpoint
	}
	b := []byte(`{"iss":`)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"aud":`...)
	b = appendJSONString(b, aud)
	b = append(b, `,"jti":"`...)
	b = hex.AppendEncode(b, id[:])
	b = append(b, `","iat":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, t+int64(AssertionLifetime/time.Second), 10)
	b = append(b, '}')
	// A key bound to its certificate names it (x5t, x5t#S256): Entra ID
	// finds certificate credentials by thumbprint, not kid.
	s, err := c.Signer.Sign(jwt.SignHeader{Certificate: true}, b, c.Rand)
	if err != nil {
		return "", false
	}
	return s, true
}

// basicAuth encodes client credentials per RFC 6749 2.3.1: the id and the
// secret are each application/x-www-form-urlencoded first, then joined by
// ':' and base64-encoded. Skipping the form encoding breaks secrets that
// contain ':', '%', '+' or spaces.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// joinScopes joins the valid scope tokens of scopes with spaces.
func joinScopes(scopes []string) string {
	s, err := scopeString(scopes, false)
	if err != nil {
		var ok []string
		for _, x := range scopes {
			if validScopeToken(x) {
				ok = append(ok, x)
			}
		}
		s, _ = scopeString(ok, false)
	}
	return s
}

// appendJSONString appends s as a JSON string (RFC 8259 7); invalid UTF-8
// becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
