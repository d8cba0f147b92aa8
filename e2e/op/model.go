package op

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is a pending or completed authorization request. It implements
// zitadel's op.AuthRequest.
type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	prompt        []string
	maxAge        *uint
	loginHint     string
	hintSubject   string // sub of a valid id_token_hint, if any
	acr           string // the first acr_values requested: the class this provider says it met

	// set by the login
	done      bool
	userID    string
	sessionID string
	authTime  time.Time
	code      string
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return a.acr }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.userID }
func (a *authRequest) Done() bool                            { return a.done }

func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// refreshRequest is what a refresh token stands for. It implements
// zitadel's op.RefreshTokenRequest and deliberately not op.AuthRequest (the
// library tells the two apart by type).
type refreshRequest struct {
	token     string
	family    string // the login the token descends from
	clientID  string
	userID    string
	sessionID string
	audience  []string
	scopes    []string
	amr       []string
	authTime  time.Time
	expires   time.Time
}

func (r *refreshRequest) GetAMR() []string                 { return r.amr }
func (r *refreshRequest) GetAudience() []string            { return r.audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.userID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// refreshState is the server's record of a refresh token.
type refreshState struct {
	req     refreshRequest
	used    bool // rotated away: presenting it again is a reuse
	revoked bool
}

// accessToken is the server's record of an issued access token (by jti).
type accessToken struct {
	id        string
	kind      string // "login", "refresh", "exchange", "obo"
	clientID  string
	userID    string
	sessionID string
	family    string // refresh family, if any
	audience  []string
	scopes    []string
	issued    time.Time
	expires   time.Time
	revoked   bool
}

// client implements zitadel's op.Client and op.HasRedirectGlobs.
type client struct {
	id, secret      string
	privateKeyJWT   bool
	redirects       []string
	postLogout      []string
	loopbackAllowed bool
	idTokenLifetime time.Duration
}

func (c *client) GetID() string                        { return c.id }
func (c *client) RedirectURIs() []string               { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string     { return c.postLogout }
func (c *client) ApplicationType() zop.ApplicationType { return zop.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.privateKeyJWT {
		return oidc.AuthMethodPrivateKeyJWT
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) LoginURL(id string) string            { return loginPath + "?authRequestID=" + id }
func (c *client) AccessTokenType() zop.AccessTokenType { return zop.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return c.idTokenLifetime }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeTokenExchange}
}

// RedirectURIGlobs accepts any http loopback redirect (doublestar syntax).
func (c *client) RedirectURIGlobs() []string {
	if !c.loopbackAllowed {
		return nil
	}
	var globs []string
	for _, host := range loopbackHosts {
		globs = append(globs, "http://"+host+"/**", "http://"+host+":*/**")
	}
	return globs
}

// PostLogoutRedirectURIGlobs accepts any http loopback URI (path.Match
// syntax, where * stops at a slash, hence one glob per depth).
func (c *client) PostLogoutRedirectURIGlobs() []string {
	if !c.loopbackAllowed {
		return nil
	}
	return loopbackPathGlobs
}

// loopbackHosts are glob-escaped loopback host names.
var loopbackHosts = []string{"127.0.0.1", "localhost", `\[::1\]`}

var loopbackPathGlobs = func() []string {
	var globs []string
	for _, host := range loopbackHosts {
		for _, port := range []string{"", ":*"} {
			p := ""
			globs = append(globs, "http://"+host+port)
			for depth := 0; depth < 8; depth++ {
				p += "/*"
				globs = append(globs, "http://"+host+port+p)
			}
		}
	}
	return globs
}()

// hasScope reports whether scope is among scopes.
func hasScope(scopes []string, scope string) bool { return slices.Contains(scopes, scope) }
