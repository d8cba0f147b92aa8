package config

import (
	"fmt"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// Config is the validated, resolved plugin configuration. Only Parse makes
// one. It is immutable: callers read its fields freely, from any number of
// HTTP contexts, and never modify them or the slices they hold. Every
// default is already applied and every cross reference resolved, so no field
// needs checking again at request time.
type Config struct {
	Provider Provider
	Client   Client

	// Prefix is where the filter's endpoints live ("/oauth2"): it starts
	// with "/" and has no trailing "/". See CallbackPath and friends.
	Prefix string
	// RedirectURL is the absolute redirect_uri, or "" to build it from each
	// request as scheme://authority{Prefix}/callback (see CallbackURL).
	RedirectURL string
	// PostLogoutRedirectURL is where the provider sends the browser after
	// logout: an absolute URL, a path starting with a single "/", or "".
	PostLogoutRedirectURL string
	// AllowedHosts, when not empty, are the only :authority values (lower case, host or
	// host:port; a host without a port matches it on any port) the filter builds absolute
	// URLs from (see HostAllowed).
	AllowedHosts []string
	// Scopes requested at login; always includes "openid".
	Scopes []string
	// ExtraAuthParams are added to every authorization request (name to
	// value). Names the filter sets itself are rejected by Parse.
	ExtraAuthParams map[string]string
	// Keys is the key ring: Keys[0] seals new state and sessions, every key
	// opens. At least one.
	Keys []Key

	Cookie    Cookie
	Session   Session
	Login     Login
	Forward   Forward
	API       API
	Endpoints Endpoints
	JWT       JWT
	Limits    Limits
	DPoP      DPoP
	Store     Store
	// LogLevel is one of the Log* constants.
	LogLevel string

	// PassThrough lists requests forwarded without authentication. Use
	// IsPassThrough rather than matching these yourself.
	PassThrough []PassThrough
	// BearerIssuers are the issuers whose JWTs bearer routes accept.
	BearerIssuers []BearerIssuer
	// Routes in configuration order. Use Route to find a request's route.
	Routes []Route

	scope      string
	bindCookie string
	// redirectOrigin is RedirectURL's scheme://host[:port], "" without one.
	redirectOrigin string
	loopCookie     string
	paths          endpointPaths
	routeOrder     []*Route
	defaultRoute   Route
}

// Provider is the OpenID Provider and how to reach it.
type Provider struct {
	// Issuer is the issuer identifier exactly as configured; ID tokens'
	// "iss" must equal it byte for byte.
	Issuer string
	// InsecureAllowHTTP permits http:// provider URLs. It MUST NOT be set in
	// production: it exists for loopback test providers.
	InsecureAllowHTTP bool
	// Discovery fetches {Issuer}/.well-known/openid-configuration. When
	// false, AuthorizationEndpoint, TokenEndpoint and JWKSURI are set.
	Discovery bool
	// Endpoint URLs: absolute, validated; "" means "use the discovered one".
	// When set they override discovery.
	AuthorizationEndpoint string
	TokenEndpoint         string
	UserinfoEndpoint      string
	JWKSURI               string
	EndSessionEndpoint    string
	RevocationEndpoint    string
	IntrospectionEndpoint string
	// PAREndpoint is the pushed authorization request endpoint (RFC 9126).
	PAREndpoint string
	// Cluster is the Envoy cluster for callouts to the provider; JWKSCluster
	// the one for JWKS fetches (defaults to Cluster).
	Cluster     string
	JWKSCluster string
	// MTLSCluster is the cluster for the back-channel calls of the mutual-TLS
	// client authentication methods (token, revocation, introspection, PAR,
	// userinfo), the one whose upstream TLS presents the client certificate;
	// it defaults to Cluster, and is "" unless Client.AuthMethod is one of them.
	MTLSCluster string
	// Authority is the :authority for callouts, or "" for the host (and
	// port) of each callout's URL.
	Authority string
	// Timeout bounds each callout.
	Timeout time.Duration
	// MetadataRefreshInterval is how often discovery is re-fetched.
	MetadataRefreshInterval time.Duration
	// JWKSMinRefetchInterval is the least time between two JWKS fetches
	// triggered by unknown key ids.
	JWKSMinRefetchInterval time.Duration
}

// Client is the relying party's registration at the provider.
type Client struct {
	ID     string
	Secret string
	// SecretEnv is the environment variable Secret was read from
	// (client.secret_env), or "" when it was in the configuration.
	SecretEnv string
	// AuthMethod is ClientSecretBasic, ClientSecretPost, PrivateKeyJWT,
	// ClientSecretJWT, TLSClientAuth or SelfSignedTLSClientAuth.
	AuthMethod string
	// SigningKey is the client's private signing key (client.private_key or
	// client.private_key_env), nil when none is configured.
	SigningKey *jwt.SigningKey
	// SigningKeyEnv is the environment variable SigningKey was read from, or "".
	SigningKeyEnv string
	// AssertionAudience is the aud of client assertions: AudienceIssuer or
	// AudienceEndpoint.
	AssertionAudience string
}

// Client.AssertionAudience values.
const (
	AudienceIssuer   = "issuer"   // provider.issuer at every endpoint (RFC 7523bis, FAPI 2.0, Keycloak)
	AudienceEndpoint = "endpoint" // the URL of the endpoint called (RFC 7523 3; Entra ID, Okta)
)

// String describes c without its secret.
func (c Client) String() string {
	return fmt.Sprintf("{ID:%s Secret:[redacted] AuthMethod:%s}", c.ID, c.AuthMethod)
}

// GoString describes c without its secret.
func (c Client) GoString() string { return "config.Client" + c.String() }

// Client.AuthMethod values: how the client authenticates at the token
// endpoint.
const (
	ClientSecretBasic = "client_secret_basic" // HTTP Basic (RFC 6749 section 2.3.1)
	ClientSecretPost  = "client_secret_post"  // client_id and client_secret in the form body
	PrivateKeyJWT     = "private_key_jwt"     // RFC 7523 2.2 assertion signed with SigningKey
	ClientSecretJWT   = "client_secret_jwt"   // RFC 7523 2.2 assertion, HS256 with Secret
	// RFC 8705 2: the TLS client certificate of Provider.MTLSCluster
	// authenticates the client; the body carries client_id only.
	TLSClientAuth           = "tls_client_auth"             // PKI-issued certificate (subject DN or SAN registered)
	SelfSignedTLSClientAuth = "self_signed_tls_client_auth" // self-signed certificate (its key registered)
)

// Key is one key of the sealing key ring.
type Key struct {
	// ID names the key inside sealed values: [A-Za-z0-9_-]{1,16}.
	ID string
	// Secret is the decoded key material, at least 32 bytes.
	Secret []byte
	// SecretEnv is the environment variable Secret was read from
	// (keys[].secret_env), or "" when it was in the configuration.
	SecretEnv string
}

// String describes k without its secret.
func (k Key) String() string {
	return fmt.Sprintf("{ID:%s Secret:[redacted %d bytes]}", k.ID, len(k.Secret))
}

// GoString describes k without its secret.
func (k Key) GoString() string { return "config.Key" + k.String() }

// Cookie holds the session cookie's attributes. The cookie is always
// HttpOnly.
type Cookie struct {
	// Name of the session cookie ([A-Za-z0-9_-]+); chunks and the
	// browser-binding cookie derive their names from it.
	Name string
	// Domain attribute, or "" for a host-only cookie.
	Domain string
	Path   string
	// SameSite is SameSiteLax, SameSiteStrict or SameSiteNone, spelled as
	// sent in Set-Cookie.
	SameSite string
	Secure   bool
	// MaxChunkSize bounds one Set-Cookie name=value (1024..4093 bytes);
	// MaxChunks bounds how many chunks one session may use.
	MaxChunkSize int
	MaxChunks    int
}

// Cookie.SameSite values.
const (
	SameSiteLax    = "Lax"
	SameSiteStrict = "Strict"
	SameSiteNone   = "None"
)

// Session is the lifetime and refresh policy of logged-in sessions.
type Session struct {
	// Lifetime is the longest a session lives after login, refreshes
	// included.
	Lifetime time.Duration
	// RefreshMargin: tokens expiring within it are refreshed before the
	// request is forwarded. Shorter than Lifetime.
	RefreshMargin time.Duration
	// DefaultAccessTokenLifetime is how long an access token is taken to live when the
	// provider says neither expires_in nor (for a JWT) exp.
	DefaultAccessTokenLifetime time.Duration
	// Refresh enables the refresh_token grant.
	Refresh bool
	// IDTokenExpired is what happens when the ID token has expired and
	// refresh did not renew it: IDTokenOmit or IDTokenReauthenticate.
	IDTokenExpired string
	// CacheSize is the number of opened sessions cached per VM (0 = none).
	CacheSize int
	// MaxAge, when positive, is the longest a session lives after the user
	// authenticated at the provider (auth_time), whatever the refreshes:
	// max_age is sent in the authorization request and the ID token must
	// carry auth_time. 0 is off.
	MaxAge time.Duration
}

// Session.IDTokenExpired values.
const (
	IDTokenOmit           = "omit"           // forward the request without it
	IDTokenReauthenticate = "reauthenticate" // silent re-login with prompt=none
)

// Login configures the authorization code flow.
type Login struct {
	// StateLifetime is how long a login may take, redirect to callback.
	StateLifetime time.Duration
	// Userinfo fetches the userinfo endpoint at login and merges its claims.
	Userinfo  bool
	LoopGuard LoopGuard
	// Claims are the ID token (and userinfo) claims kept in the session.
	// "sub" is always kept, listed or not.
	Claims []string
	// ResponseMode is how the provider returns the authorization response:
	// "query" (the default), "form_post", or a JARM mode ("query.jwt",
	// "form_post.jwt", "jwt"). Form post modes set the login binding cookie
	// SameSite=None; Secure (see BindingCookieCrossSite).
	ResponseMode string
	// PAR is PARAuto, PARAlways or PARNever: whether the authorization
	// request is pushed to the provider (RFC 9126) and the browser carries
	// only its request_uri.
	PAR string
	// RequestObject is RequestObjectNone or RequestObjectSigned: whether the
	// authorization request is a request object (RFC 9101) signed with
	// Client.SigningKey, sent by value (inside the push under PAR).
	RequestObject string
	// Introspect checks the login's access token at the provider's introspection endpoint
	// (RFC 7662) before the session is established.
	Introspect Introspect
	// ACRValues, when not empty, are sent as acr_values (space-separated, in order of
	// preference) and the login's ID token must carry an acr that is one of them (OIDC Core
	// 3.1.2.1, 3.1.3.7 item 12).
	ACRValues []string
}

// BindingCookieCrossSite reports whether the login binding cookie must be
// sent on a cross-site POST (form_post and form_post.jwt): it is then set
// SameSite=None; Secure whatever the cookie settings say.
func (l Login) BindingCookieCrossSite() bool {
	return l.ResponseMode == "form_post" || l.ResponseMode == "form_post.jwt"
}

// Introspect is login.introspect: when Enabled, a login whose access token the provider's
// introspection endpoint calls inactive, or whose answer does not match, ends on an error
// page instead of a session.
type Introspect struct {
	Enabled bool
	// RequireSub: the answer's sub must equal the ID token's.
	RequireSub bool
	// RequireClientID: the answer's client_id must equal client.id.
	RequireClientID bool
	// RequireScopes must all be in the answer's scope.
	RequireScopes []string
}

// Login.RequestObject values.
const (
	RequestObjectNone   = "none"
	RequestObjectSigned = "signed"
)

// Login.PAR values.
const (
	PARAuto   = "auto"   // when the provider requires it or advertises the endpoint
	PARAlways = "always" // always; the endpoint must be configured or discovered
	PARNever  = "never"  // never; the browser carries the request
)

// LoopGuard stops redirect loops: more than MaxAttempts logins started by
// one browser within Window get an error page instead of another redirect.
// MaxAttempts 0 turns the guard off.
type LoopGuard struct {
	MaxAttempts int
	Window      time.Duration
}

// Forward says what the upstream app receives. Header names are lower case
// (HTTP/2 form, as Envoy presents them); "" means "not sent".
type Forward struct {
	AccessTokenHeader string
	IDTokenHeader     string
	// AuthorizationBearer also sends "Authorization: Bearer <access token>".
	AuthorizationBearer bool
	// Claims maps lower-case header names to the session claims they carry.
	Claims map[string]string
	// Strip lists extra client headers to remove (lower case).
	Strip []string
	// Remove is every header the filter removes from client requests before
	// adding its own: the identity headers above, the claim headers, Strip,
	// and the headers routes put exchanged tokens in; sorted, unique, lower
	// case. The one list of identity headers: a client can never send one.
	// (Authorization is not in it: on bearer routes it is the input, and
	// exchange routes that use it overwrite it.)
	Remove []string
}

// PassThrough is one rule for requests forwarded without authentication:
// Path matches exactly, Prefix as a string prefix; Methods (upper case)
// restricts the rule, empty means any method. Exactly one of Path, Prefix is
// set.
type PassThrough struct {
	Path    string
	Prefix  string
	Methods []string
}

// API identifies API requests, which get 401 instead of a login redirect.
type API struct {
	// Prefixes: paths under any of them are API paths (see IsAPIPath).
	Prefixes []string
	// Detect also treats as API requests those that ask for JSON (Accept),
	// are not navigations (Sec-Fetch-Mode present and not "navigate"), or
	// carry X-Requested-With.
	Detect bool
}

// Endpoints enables the optional endpoints under Prefix.
type Endpoints struct {
	Userinfo bool
	Token    bool
	// TokenIncludeRefreshToken adds the refresh token to the token
	// endpoint's response. Only with Token.
	TokenIncludeRefreshToken bool
	// TokenRefreshOfflineOnly narrows TokenIncludeRefreshToken to sessions
	// granted the offline_access scope, as the access token's "scope" claim
	// says (RFC 9068); an opaque access token never qualifies.
	TokenRefreshOfflineOnly bool
	// BackchannelLogout serves {prefix}/backchannel_logout (OpenID Connect Back-Channel
	// Logout 1.0): the provider posts a logout token there and the sessions it names are
	// refused from then on.
	BackchannelLogout bool
	// HoldHeadersForBody says that this Envoy's Wasm filter sets allow_on_headers_stop_iteration
	// (PluginConfig, Envoy >= 1.35): a pause in the request headers is then a plain
	// StopIteration, so the body callbacks still come while the headers are held. The
	// endpoints that read a body (the back-channel logout and a form post callback) then hold
	// the headers and answer from the body, so nothing of such a request reaches the upstream.
	// Without it (Envoy's default, and Istio's WasmPlugin, which cannot set it) they must let
	// the headers continue for the body to come: the upstream may see the headers of the
	// request (never its body) before the plugin's answer resets it.
	HoldHeadersForBody bool
}

// JWT configures JWT verification for ID tokens and bearer tokens.
type JWT struct {
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// Algorithms accepted for ID tokens (JWS "alg" names). Never "none";
	// HS256/384/512 only with AllowHMAC. The default is every asymmetric
	// algorithm (RS*, PS*, ES*, EdDSA, Ed25519), plus HS256 with AllowHMAC.
	// EdDSA and Ed25519 (RFC 9864) name one algorithm: either allows both.
	Algorithms []string
	// AllowHMAC permits HMAC-signed ID tokens (keyed with the client
	// secret).
	AllowHMAC bool
}

// BearerIssuer is an issuer whose access tokens bearer routes accept.
type BearerIssuer struct {
	Name string
	// Issuer is compared byte for byte with the token's "iss".
	Issuer string
	// InsecureAllowHTTP permits http:// URLs. It MUST NOT be set in
	// production.
	InsecureAllowHTTP bool
	// Discovery finds the JWKS through {Issuer}/.well-known/openid-configuration.
	// When false JWKSURI is set.
	Discovery bool
	JWKSURI   string
	Cluster   string
	Authority string
	// Audiences: a token is accepted if its "aud" holds any of them.
	Audiences []string
	// Algorithms accepted; asymmetric only.
	Algorithms []string
}

// Limits bound the size of untrusted input, in bytes.
type Limits struct {
	MaxQueryBytes         int
	MaxStateBytes         int
	MaxCookieBytes        int
	MaxTokenResponseBytes int
	MaxJWKSBytes          int
	MaxHeaderValueBytes   int
}

// Config.LogLevel values.
const (
	LogTrace    = "trace"
	LogDebug    = "debug"
	LogInfo     = "info"
	LogWarn     = "warn"
	LogError    = "error"
	LogCritical = "critical"
)
