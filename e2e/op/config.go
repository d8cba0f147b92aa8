package op

import (
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults used when a Config field is left zero.
const (
	DefaultAddr                 = "127.0.0.1:0"
	DefaultClientID             = "oidc-proxy"
	DefaultClientSecret         = "oidc-proxy-secret"
	DefaultAccessTokenLifetime  = 5 * time.Minute
	DefaultIDTokenLifetime      = 5 * time.Minute
	DefaultRefreshTokenLifetime = 24 * time.Hour

	// DemoUsername and DemoPassword log in the default user.
	DemoUsername = "demo"
	DemoPassword = "demo"
)

// Config configures a Server. The zero value is usable: it listens on a free
// loopback port, registers DefaultClientID with DefaultClientSecret, accepts
// any loopback redirect URI and knows the demo user.
type Config struct {
	// Addr is the listen address, "127.0.0.1:0" by default. It must be a
	// loopback address.
	Addr string

	// ClientID and ClientSecret register the confidential client used by the
	// plugin. It authenticates with client_secret_basic or client_secret_post.
	ClientID, ClientSecret string
	// ClientJWKS, when set, is the main client's public JWK Set: the client
	// then authenticates with private_key_jwt (RFC 7523 2.2) only, its
	// assertions' aud holding the issuer.
	ClientJWKS []byte
	// RedirectURIs are the client's registered redirect URIs. Unless
	// StrictRedirectURIs is set, any http loopback URI (127.0.0.1, [::1],
	// localhost, any port and path) is accepted as well.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the client's registered
	// post_logout_redirect_uri values; loopback URIs are accepted as above.
	PostLogoutRedirectURIs []string
	// StrictRedirectURIs turns off the "any loopback URI" allowance.
	StrictRedirectURIs bool
	// Clients registers further confidential clients (for example an API
	// that introspects or exchanges tokens). They share the rules above.
	Clients []Client

	// Token lifetimes; zero means the Default*Lifetime. Change them while
	// running with Server.SetLifetimes.
	AccessTokenLifetime, IDTokenLifetime, RefreshTokenLifetime time.Duration

	// Users who can log in; the demo user (DemoUser) when empty.
	Users []User

	// SigningAlgorithm of the ID and access tokens: RS256 (default), PS256,
	// ES256 or EdDSA.
	SigningAlgorithm jose.SignatureAlgorithm

	// RequireOfflineAccess issues refresh tokens only when the scope
	// offline_access was requested (like Entra ID). By default every code
	// flow login gets a refresh token (like Keycloak).
	RequireOfflineAccess bool
	// AllowNoPKCE accepts authorization requests without a code_challenge.
	// By default PKCE with S256 is required.
	AllowNoPKCE bool
	// NoIDTokenOnRefresh omits id_token from refresh_token grant responses,
	// as some providers do (OIDC Core 12.2 makes it optional).
	NoIDTokenOnRefresh bool
	// RevokeFamilyOnRefreshReuse makes the reuse of a rotated refresh token
	// revoke every refresh token descended from the same login, as the
	// OAuth 2.0 Security BCP recommends. Off by default: reuse then fails on
	// its own and the current refresh token keeps working.
	RevokeFamilyOnRefreshReuse bool
	// PAR serves a pushed authorization request endpoint (RFC 9126) at /par and
	// advertises it in discovery; RequirePAR also refuses authorization
	// requests that were not pushed (require_pushed_authorization_requests).
	PAR, RequirePAR bool
	// RequestObjectKeys are the public keys of ClientID's signed request objects
	// (RFC 9101), by value or pushed; a request object is refused unless one of
	// them verifies it. Empty: request objects are refused.
	RequestObjectKeys []jose.JSONWebKey
	// DPoP checks DPoP proofs (RFC 9449) at the token and PAR endpoints and binds
	// the tokens of a request with one to its key (dpop.go); DPoPNonce also
	// requires the provider's nonce in every proof (Server.SetDPoPNonceRequired).
	DPoP, DPoPNonce bool
}

// Client is a confidential client registered at the provider.
type Client struct {
	ID, Secret             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// JWKS, when set, makes the client authenticate with private_key_jwt
	// under these public keys.
	JWKS []byte
}

// User is an account that can log in at the form.
type User struct {
	ID            string // the sub claim
	Username      string // the login name and preferred_username
	Password      string
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Groups        []string
	// Claims are added to ID tokens, access tokens and userinfo as they are.
	Claims map[string]any
}

// DemoUser returns the default user: demo / demo, demo@example.com,
// "Demo User", groups users and admins.
func DemoUser() User {
	return User{
		ID:            "demo-user-0001",
		Username:      DemoUsername,
		Password:      DemoPassword,
		Email:         "demo@example.com",
		EmailVerified: true,
		Name:          "Demo User",
		GivenName:     "Demo",
		FamilyName:    "User",
		Groups:        []string{"users", "admins"},
	}
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("op: invalid config")

// withDefaults returns a copy of c with zero fields defaulted, or an error
// naming every problem.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if c.AccessTokenLifetime == 0 {
		c.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if c.IDTokenLifetime == 0 {
		c.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if c.RefreshTokenLifetime == 0 {
		c.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if len(c.Users) == 0 {
		c.Users = []User{DemoUser()}
	}
	if c.SigningAlgorithm == "" {
		c.SigningAlgorithm = jose.RS256
	}
	var errs []error
	switch c.SigningAlgorithm {
	case jose.RS256, jose.PS256, jose.ES256, jose.EdDSA:
	default:
		errs = append(errs, fmt.Errorf("%w: SigningAlgorithm %q is not one of RS256, PS256, ES256, EdDSA", ErrConfig, c.SigningAlgorithm))
	}
	if c.AccessTokenLifetime < 0 || c.IDTokenLifetime < 0 || c.RefreshTokenLifetime < 0 {
		errs = append(errs, fmt.Errorf("%w: token lifetimes must not be negative", ErrConfig))
	}
	seen := map[string]bool{c.ClientID: true}
	for i, cl := range c.Clients {
		switch {
		case cl.ID == "" || cl.Secret == "":
			errs = append(errs, fmt.Errorf("%w: Clients[%d] needs an ID and a Secret", ErrConfig, i))
		case seen[cl.ID]:
			errs = append(errs, fmt.Errorf("%w: Clients[%d]: client %q registered twice", ErrConfig, i, cl.ID))
		}
		seen[cl.ID] = true
	}
	users := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.ID == "" || u.Username == "":
			errs = append(errs, fmt.Errorf("%w: Users[%d] needs an ID and a Username", ErrConfig, i))
		case users[u.Username] || users["id:"+u.ID]:
			errs = append(errs, fmt.Errorf("%w: Users[%d]: username or ID used twice", ErrConfig, i))
		}
		users[u.Username], users["id:"+u.ID] = true, true
	}
	return c, errors.Join(errs...)
}
