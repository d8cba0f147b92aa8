package oidc

import (
	"encoding/base64"
	"net/url"
)

// Client authentication methods (RFC 6749 2.3.1, OIDC Core 9).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none" // public client: client_id in the body only
)

// Client is the relying party's registration at the provider.
type Client struct {
	ID     string
	Secret string
	// AuthMethod is one of the Auth* constants. Empty means
	// client_secret_basic when Secret is set, else none.
	AuthMethod string
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
	case AuthClientSecretBasic, AuthClientSecretPost, AuthNone:
		return c.AuthMethod
	}
	if c.Secret != "" {
		return AuthClientSecretBasic
	}
	return AuthNone
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
