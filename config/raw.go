package config

// The raw* structs mirror the plugin JSON one to one. Parse fills a rawConfig
// with the defaults, binds the JSON over it, then validates and resolves it
// into a Config. Durations are strings here ("30s") and parsed in validation,
// so that a bad duration is reported with its path like any other problem.

type rawConfig struct {
	Provider              rawProvider       `json:"provider"`
	Client                rawClient         `json:"client"`
	Prefix                string            `json:"prefix"`
	RedirectURL           string            `json:"redirect_url"`
	PostLogoutRedirectURL string            `json:"post_logout_redirect_url"`
	AllowedHosts          []string          `json:"allowed_hosts"`
	Scopes                []string          `json:"scopes"`
	ExtraAuthParams       map[string]string `json:"extra_auth_params"`
	Keys                  []rawKey          `json:"keys"`
	Cookie                rawCookie         `json:"cookie"`
	Session               rawSession        `json:"session"`
	Login                 rawLogin          `json:"login"`
	Forward               rawForward        `json:"forward"`
	PassThrough           []rawPassThrough  `json:"pass_through"`
	API                   rawAPI            `json:"api"`
	Endpoints             rawEndpoints      `json:"endpoints"`
	JWT                   rawJWT            `json:"jwt"`
	BearerIssuers         []rawBearerIssuer `json:"bearer_issuers"`
	Routes                []rawRoute        `json:"routes"`
	Limits                rawLimits         `json:"limits"`
	DPoP                  rawDPoP           `json:"dpop"`
	Store                 rawStore          `json:"store"`
	LogLevel              string            `json:"log_level"`
}

type rawProvider struct {
	Issuer                  string `json:"issuer"`
	InsecureAllowHTTP       bool   `json:"insecure_allow_http"`
	Discovery               bool   `json:"discovery"`
	AuthorizationEndpoint   string `json:"authorization_endpoint"`
	TokenEndpoint           string `json:"token_endpoint"`
	UserinfoEndpoint        string `json:"userinfo_endpoint"`
	JWKSURI                 string `json:"jwks_uri"`
	EndSessionEndpoint      string `json:"end_session_endpoint"`
	RevocationEndpoint      string `json:"revocation_endpoint"`
	IntrospectionEndpoint   string `json:"introspection_endpoint"`
	PAREndpoint             string `json:"pushed_authorization_request_endpoint"`
	Cluster                 string `json:"cluster"`
	JWKSCluster             string `json:"jwks_cluster"`
	MTLSCluster             string `json:"mtls_cluster"`
	Authority               string `json:"authority"`
	Timeout                 string `json:"timeout"`
	MetadataRefreshInterval string `json:"metadata_refresh_interval"`
	JWKSMinRefetchInterval  string `json:"jwks_min_refetch_interval"`
}

type rawClient struct {
	ID         string `json:"id"`
	Secret     string `json:"secret"`
	SecretEnv  string `json:"secret_env"`
	AuthMethod string `json:"auth_method"`
	// The client's private key (private_key_jwt, signed request objects).
	PrivateKey    string `json:"private_key"`
	PrivateKeyEnv string `json:"private_key_env"`
	SigningAlg    string `json:"signing_alg"`
	KeyID         string `json:"key_id"`
	Certificate   string `json:"certificate"`
	// AssertionAudience: issuer or endpoint (private_key_jwt, client_secret_jwt).
	AssertionAudience string `json:"assertion_audience"`
}

type rawKey struct {
	ID        string `json:"id"`
	Secret    string `json:"secret"`
	SecretEnv string `json:"secret_env"`
}

type rawCookie struct {
	Name         string `json:"name"`
	Domain       string `json:"domain"`
	Path         string `json:"path"`
	SameSite     string `json:"same_site"`
	Secure       bool   `json:"secure"`
	MaxChunkSize int    `json:"max_chunk_size"`
	MaxChunks    int    `json:"max_chunks"`
}

type rawSession struct {
	Lifetime       string `json:"lifetime"`
	RefreshMargin  string `json:"refresh_margin"`
	DefaultAccess  string `json:"default_access_token_lifetime"`
	Refresh        bool   `json:"refresh"`
	IDTokenExpired string `json:"id_token_expired"`
	CacheSize      int    `json:"cache_size"`
	MaxAge         string `json:"max_age"`
}

type rawLogin struct {
	StateLifetime string        `json:"state_lifetime"`
	Userinfo      bool          `json:"userinfo"`
	LoopGuard     rawLoopGuard  `json:"loop_guard"`
	Claims        []string      `json:"claims"`
	Introspect    rawIntrospect `json:"introspect"`
	PAR           string        `json:"par"`
	RequestObject string        `json:"request_object"`
	ResponseMode  string        `json:"response_mode"`
	ACRValues     []string      `json:"acr_values"`
}

type rawIntrospect struct {
	Enabled         bool     `json:"enabled"`
	RequireSub      bool     `json:"require_sub"`
	RequireClientID bool     `json:"require_client_id"`
	RequireScopes   []string `json:"require_scopes"`
}

type rawLoopGuard struct {
	MaxAttempts int    `json:"max_attempts"`
	Window      string `json:"window"`
}

type rawForward struct {
	AccessTokenHeader   string            `json:"access_token_header"`
	IDTokenHeader       string            `json:"id_token_header"`
	AuthorizationBearer bool              `json:"authorization_bearer"`
	Claims              map[string]string `json:"claims"`
	Strip               []string          `json:"strip"`
}

type rawPassThrough struct {
	Path    string   `json:"path"`
	Prefix  string   `json:"prefix"`
	Methods []string `json:"methods"`
}

type rawAPI struct {
	Prefixes []string `json:"prefixes"`
	Detect   bool     `json:"detect"`
}

type rawEndpoints struct {
	Userinfo                 bool `json:"userinfo"`
	Token                    bool `json:"token"`
	TokenIncludeRefreshToken bool `json:"token_include_refresh_token"`
	TokenRefreshOfflineOnly  bool `json:"token_refresh_token_offline_only"`
	BackchannelLogout        bool `json:"backchannel_logout"`
	HoldHeadersForBody       bool `json:"allow_on_headers_stop_iteration"`
}

type rawJWT struct {
	Leeway     string   `json:"leeway"`
	Algorithms []string `json:"algorithms"` // nil: the default for allow_hmac
	AllowHMAC  bool     `json:"allow_hmac"`
}

type rawBearerIssuer struct {
	Name              string   `json:"name"`
	Issuer            string   `json:"issuer"`
	InsecureAllowHTTP bool     `json:"insecure_allow_http"`
	Discovery         bool     `json:"discovery"`
	JWKSURI           string   `json:"jwks_uri"`
	Cluster           string   `json:"cluster"`
	Authority         string   `json:"authority"`
	Audiences         []string `json:"audiences"`
	Algorithms        []string `json:"algorithms"` // nil: jwt.algorithms without HMAC
}

func (b *rawBearerIssuer) setDefaults() { b.Discovery = true }

type rawRoute struct {
	Name           string            `json:"name"`
	Match          rawMatch          `json:"match"`
	Auth           string            `json:"auth"`
	BearerIssuers  []string          `json:"bearer_issuers"`
	Exchange       *rawExchange      `json:"exchange"`
	Authorization  *rawAuthorization `json:"authorization"`
	RequireTyp     string            `json:"require_typ"`
	AcceptIDTokens bool              `json:"accept_id_tokens"`
	UpstreamDPoP   bool              `json:"upstream_dpop"`
	UpstreamURL    string            `json:"upstream_url"`
}

func (r *rawRoute) setDefaults() { r.Auth = AuthSession }

type rawMatch struct {
	Prefix  string   `json:"prefix"`
	Host    string   `json:"host"`
	Methods []string `json:"methods"`
}

type rawExchange struct {
	Type               string `json:"type"`
	Audience           string `json:"audience"`
	Resource           string `json:"resource"`
	Scope              string `json:"scope"`
	SubjectTokenType   string `json:"subject_token_type"`
	RequestedTokenType string `json:"requested_token_type"`
	Header             string `json:"header"`
	Margin             string `json:"margin"`
	Cluster            string `json:"cluster"`
	TokenEndpoint      string `json:"token_endpoint"`
}

func (e *rawExchange) setDefaults() {
	e.Header = "Authorization"
	e.Margin = "60s"
}

type rawAuthorization struct {
	Scopes  []string       `json:"scopes"`
	Claims  []rawClaimRule `json:"claims"`
	Combine string         `json:"combine"`
}

func (a *rawAuthorization) setDefaults() { a.Combine = CombineAll }

type rawClaimRule struct {
	Claim    string `json:"claim"`
	Contains any    `json:"contains"`
	Equals   any    `json:"equals"`
}

type rawLimits struct {
	MaxQueryBytes         int `json:"max_query_bytes"`
	MaxStateBytes         int `json:"max_state_bytes"`
	MaxCookieBytes        int `json:"max_cookie_bytes"`
	MaxTokenResponseBytes int `json:"max_token_response_bytes"`
	MaxJWKSBytes          int `json:"max_jwks_bytes"`
	MaxHeaderValueBytes   int `json:"max_header_value_bytes"`
}

// defaultRaw returns the configuration an empty JSON object would mean.
// README.md's reference table lists the same values; a test keeps them equal.
func defaultRaw() rawConfig {
	return rawConfig{
		Provider: rawProvider{
			Discovery:               true,
			Timeout:                 "5s",
			MetadataRefreshInterval: "1h",
			JWKSMinRefetchInterval:  "30s",
		},
		Client: rawClient{AuthMethod: ClientSecretBasic, AssertionAudience: AudienceIssuer},
		Prefix: "/oauth2",
		Store:  defaultStore(),
		Scopes: []string{"openid", "profile", "email"},
		Cookie: rawCookie{
			Name:         "_oidc_session",
			Path:         "/",
			SameSite:     SameSiteLax,
			Secure:       true,
			MaxChunkSize: 3800,
			MaxChunks:    8,
		},
		Session: rawSession{
			Lifetime:       "24h",
			RefreshMargin:  "60s",
			DefaultAccess:  "5m",
			Refresh:        true,
			IDTokenExpired: IDTokenOmit,
			CacheSize:      10000,
			MaxAge:         "0",
		},
		Login: rawLogin{
			StateLifetime: "10m",
			ResponseMode:  "query",
			LoopGuard:     rawLoopGuard{MaxAttempts: 5, Window: "5m"},
			Claims:        []string{"sub", "email", "name", "preferred_username", "groups"},
			PAR:           PARAuto,
			RequestObject: RequestObjectNone,
			Introspect:    rawIntrospect{RequireSub: true, RequireClientID: true},
		},
		Forward: rawForward{
			AccessTokenHeader: "X-Forwarded-Access-Token",
			Claims: map[string]string{
				"X-Auth-Request-User":               "sub",
				"X-Auth-Request-Email":              "email",
				"X-Auth-Request-Groups":             "groups",
				"X-Auth-Request-Preferred-Username": "preferred_username",
			},
		},
		API:       rawAPI{Detect: true},
		Endpoints: rawEndpoints{Userinfo: true},
		JWT:       rawJWT{Leeway: "30s"},
		Limits: rawLimits{
			MaxQueryBytes:         8192,
			MaxStateBytes:         4096,
			MaxCookieBytes:        32768,
			MaxTokenResponseBytes: 1 << 20,
			MaxJWKSBytes:          256 << 10,
			MaxHeaderValueBytes:   8192,
		},
		LogLevel: LogInfo,
	}
}
