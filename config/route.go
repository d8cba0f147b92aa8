package config

import (
	"strings"
	"time"
)

// Route is the policy for requests under one path prefix.
type Route struct {
	// Name is unique among routes; "" only for the default route.
	Name  string
	Match RouteMatch
	// Auth is AuthSession, AuthBearer, AuthSessionOrBearer or AuthNone.
	Auth string
	// BearerIssuers are the issuers accepted on bearer and session_or_bearer
	// routes, pointing into Config.BearerIssuers; empty otherwise.
	BearerIssuers []*BearerIssuer
	// Exchange, if not nil, swaps the user's token for one for the upstream.
	Exchange *Exchange
	// Authorization, if not nil, restricts which users may pass.
	Authorization *Authorization
	// RequireTyp, if not "", is the JOSE typ every bearer token must carry
	// (e.g. "at+jwt", RFC 9068), compared as a media type: case-insensitive,
	// "application/" optional (jwt.TypeIs). "" accepts a token without typ
	// or with typ JWT or at+jwt, and refuses any other typ.
	RequireTyp string
	// AcceptIDTokens lets ID tokens through as bearer tokens on this route.
	// Without it a bearer token that is recognisably an ID token is refused
	// (see the bearer route rule in config/README.md).
	AcceptIDTokens bool
	// UpstreamDPoP: forward the session's DPoP-bound access token as
	// "Authorization: DPoP" with a fresh DPoP proof for the upstream request
	// (routes[].upstream_dpop; needs DPoP.Enabled).
	UpstreamDPoP bool
	// UpstreamURL is the app's origin as it sees its own requests (scheme://host[:port],
	// routes[].upstream_url): the htu of UpstreamDPoP proofs is it plus the request's path,
	// never the client's :authority. Set exactly when UpstreamDPoP is.
	UpstreamURL string
}

// RouteMatch selects requests. Prefix is a string prefix of the normalized
// path (see NormalizePath). Host, if set, is a lower-case host name or
// "*.domain" wildcard, compared with the request's :authority without its
// port. Methods (upper case), if set, restrict the match.
type RouteMatch struct {
	Prefix  string
	Host    string
	Methods []string
}

// Route.Auth values: how a route authenticates requests.
const (
	// AuthSession requires a login session (browser login on demand).
	AuthSession = "session"
	// AuthBearer requires "Authorization: Bearer <JWT>" from one of the
	// route's bearer issuers.
	AuthBearer = "bearer"
	// AuthSessionOrBearer accepts either; a bearer token, if present, wins.
	AuthSessionOrBearer = "session_or_bearer"
	// AuthNone forwards without authentication (identity headers are still
	// stripped).
	AuthNone = "none"
)

// Exchange is an on-behalf-of token exchange at the provider's token
// endpoint (or the route's own TokenEndpoint), done before forwarding; the result is cached until it expires
// within Margin.
type Exchange struct {
	// Type is RFC8693 or EntraOBO.
	Type string
	// Audience, Resource and Scope are the exchange parameters; for
	// EntraOBO only Scope is used.
	Audience string
	Resource string
	Scope    string
	// SubjectTokenType and RequestedTokenType are RFC 8693 token type URIs
	// (RFC8693 only; RequestedTokenType may be "").
	SubjectTokenType   string
	RequestedTokenType string
	// Header receives the new token, lower case. "authorization" means
	// "Authorization: Bearer <token>"; any other header gets the bare token.
	Header string
	Margin time.Duration
	// Cluster for the exchange callout (defaults to provider.cluster).
	Cluster string
	// TokenEndpoint is the absolute URL the exchange is sent to, or "" for
	// the provider's token endpoint (configured or discovered). When set,
	// the callout's :authority is its host.
	TokenEndpoint string
}

// Exchange.Type values.
const (
	// RFC8693 is the token-exchange grant.
	RFC8693 = "rfc8693"
	// EntraOBO is Microsoft Entra ID's on-behalf-of flow (jwt-bearer grant,
	// requested_token_use=on_behalf_of).
	EntraOBO = "entra_obo"
)

// HeaderValue returns the value for e.Header carrying token.
func (e *Exchange) HeaderValue(token string) string {
	if e.Header == "authorization" {
		return "Bearer " + token
	}
	return token
}

// Authorization restricts a route to users with all of Scopes and whose
// claims satisfy Claims, combined by Combine.
type Authorization struct {
	// Scopes that must all be granted: for bearer tokens the "scope" claim
	// (space-separated) or "scp" claim (string or array); for sessions the
	// scope granted at login or refresh.
	Scopes []string
	Claims []ClaimRule
	// Combine is CombineAll or CombineAny.
	Combine string
}

// Authorization.Combine values.
const (
	CombineAll = "all" // every rule must match
	CombineAny = "any" // at least one rule must match
)

// ClaimRule tests one claim.
type ClaimRule struct {
	// Claim is a top-level claim name.
	Claim string
	// Op is ClaimContains or ClaimEquals.
	Op string
	// Value is a string, a bool or a float64 (JSON numbers); for
	// ClaimContains always a string.
	Value any
}

// ClaimRule.Op values.
const (
	// ClaimContains: the claim is an array with an element equal to Value,
	// or a string with a space-separated word equal to Value.
	ClaimContains = "contains"
	// ClaimEquals: the claim equals Value (same JSON type and value).
	ClaimEquals = "equals"
)

// Match reports whether claim, a decoded JSON value (string, bool, float64,
// []any, map[string]any or nil, as encoding/json or gjson's Value produce),
// satisfies r.
func (r *ClaimRule) Match(claim any) bool {
	switch r.Op {
	case ClaimEquals:
		switch c := claim.(type) {
		case string, bool, float64:
			return c == r.Value
		}
	case ClaimContains:
		want, _ := r.Value.(string)
		switch c := claim.(type) {
		case []any:
			for _, e := range c {
				if s, ok := e.(string); ok && s == want {
					return true
				}
			}
		case []string:
			for _, s := range c {
				if s == want {
					return true
				}
			}
		case string:
			for _, w := range strings.Fields(c) {
				if w == want {
					return true
				}
			}
		}
	}
	return false
}

// Allows reports whether a user passes a: every scope in a.Scopes is in
// granted, and the claim rules hold (claim returns a claim's decoded value
// and whether it is present). A nil Authorization allows everyone.
func (a *Authorization) Allows(granted []string, claim func(name string) (any, bool)) bool {
	if a == nil {
		return true
	}
	for _, s := range a.Scopes {
		if !contains(granted, s) {
			return false
		}
	}
	if len(a.Claims) == 0 {
		return true
	}
	for i := range a.Claims {
		r := &a.Claims[i]
		v, ok := claim(r.Claim)
		matched := ok && r.Match(v)
		if matched && a.Combine == CombineAny {
			return true
		}
		if !matched && a.Combine == CombineAll {
			return false
		}
	}
	return a.Combine == CombineAll
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
