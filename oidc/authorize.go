package oidc

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// AuthParams are the inputs of an authorization request (OIDC Core 3.1.2.1)
// for the code flow with PKCE S256.
type AuthParams struct {
	ClientID      string
	RedirectURI   string
	Scopes        []string // "openid" is added first when missing
	State         string
	Nonce         string // optional, but the caller should always send one
	CodeChallenge string // S256 challenge; required
	// Extra are additional parameters from configuration (login_hint,
	// domain_hint, acr_values, prompt, ...), already validated. Names the
	// protocol owns (see [IsReservedAuthParam]) are ignored.
	Extra map[string]string
	// Prompt, when set (e.g. "none" for silent re-authentication), overrides
	// any "prompt" in Extra.
	Prompt string
	// ResponseMode, when set and not "query" (the code flow's default, so
	// not sent), is sent as response_mode.
	ResponseMode ResponseMode
	// MaxAge, when positive, is sent as max_age in whole seconds (OIDC Core
	// 3.1.2.1; the ID token must then carry auth_time) and overrides any
	// "max_age" in Extra.
	MaxAge time.Duration
	// ACRValues, when not empty, are sent as acr_values, space-separated in
	// order of preference (OIDC Core 3.1.2.1). The ID token's acr must then be
	// checked (IDTokenValidator.ACRValues): the user can edit the URL.
	ACRValues []string
	// DPoPJKT, when set, is sent as dpop_jkt: the RFC 7638 thumbprint of the
	// client's DPoP key, to which the provider binds the authorization code
	// (RFC 9449 10).
	DPoPJKT string
}

// reservedAuthParams are set by AuthorizeURL itself and cannot come from
// configuration: overriding them would break the flow or its protections.
var reservedAuthParams = []string{
	"response_type", "response_mode", "client_id", "redirect_uri", "scope",
	"state", "nonce", "code_challenge", "code_challenge_method",
	"request", "request_uri", "dpop_jkt",
}

// IsReservedAuthParam reports whether name is an authorization request
// parameter that configuration must not set (AuthorizeURL ignores it in
// [AuthParams.Extra]).
func IsReservedAuthParam(name string) bool {
	for _, r := range reservedAuthParams {
		if r == name {
			return true
		}
	}
	return false
}

// AuthorizeURL returns the URL to redirect the browser to. A query already
// on endpoint is kept (RFC 6749 3.1) unless this request sets the same
// parameter. Parameter order is deterministic: the endpoint's own, then
// response_type, response_mode, client_id, redirect_uri, scope, state,
// nonce, code_challenge, code_challenge_method, prompt, max_age, acr_values, dpop_jkt, then
// Extra sorted by name.
func AuthorizeURL(endpoint string, p AuthParams) (string, error) {
	if _, err := parseEndpoint(endpoint, true); err != nil {
		return "", err
	}
	params, err := p.params()
	if err != nil {
		return "", err
	}
	return appendQuery(endpoint, params), nil
}

// params checks p and returns the authorization request's parameters in the
// order AuthorizeURL documents. Empty values are left in (the encoders skip
// them).
func (p AuthParams) params() ([]queryParam, error) {
	switch {
	case p.ClientID == "":
		return nil, errorf(ErrMissingParam, "client_id")
	case p.RedirectURI == "":
		return nil, errorf(ErrMissingParam, "redirect_uri")
	case p.State == "":
		return nil, errorf(ErrMissingParam, "state")
	case p.CodeChallenge == "":
		return nil, errorf(ErrMissingParam, "code_challenge")
	}
	scope, err := scopeString(p.Scopes, true)
	if err != nil {
		return nil, err
	}
	maxAge := ""
	if p.MaxAge > 0 {
		maxAge = strconv.FormatInt(int64(p.MaxAge/time.Second), 10)
	}
	params := make([]queryParam, 0, 13+len(p.Extra))
	params = append(params,
		queryParam{"response_type", "code"},
		queryParam{"response_mode", responseModeParam(p.ResponseMode)},
		queryParam{"client_id", p.ClientID},
		queryParam{"redirect_uri", p.RedirectURI},
		queryParam{"scope", scope},
		queryParam{"state", p.State},
		queryParam{"nonce", p.Nonce},
		queryParam{"code_challenge", p.CodeChallenge},
		queryParam{"code_challenge_method", "S256"},
		queryParam{"prompt", p.Prompt},
		queryParam{"max_age", maxAge},
		queryParam{"acr_values", strings.Join(p.ACRValues, " ")},
		queryParam{"dpop_jkt", p.DPoPJKT},
	)
	names := make([]string, 0, len(p.Extra))
	for k := range p.Extra {
		if k == "" || IsReservedAuthParam(k) || (k == "prompt" && p.Prompt != "") || (k == "max_age" && maxAge != "") ||
			(k == "acr_values" && len(p.ACRValues) > 0) {
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		params = append(params, queryParam{k, p.Extra[k]})
	}
	return params, nil
}

func responseModeParam(m ResponseMode) string {
	if m == ModeQuery {
		return ""
	}
	return string(m)
}

// scopeString joins scopes with spaces, dropping duplicates and empty
// entries and, when withOpenID, putting "openid" first. Each scope must be
// an RFC 6749 3.3 scope-token.
func scopeString(scopes []string, withOpenID bool) (string, error) {
	out := make([]byte, 0, 64)
	seen := make([]string, 0, len(scopes)+1)
	add := func(s string) {
		for _, x := range seen {
			if x == s {
				return
			}
		}
		seen = append(seen, s)
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, s...)
	}
	if withOpenID {
		add("openid")
	}
	for _, s := range scopes {
		if s == "" {
			continue
		}
		if !validScopeToken(s) {
			return "", errorf(ErrMalformed, "scope %s is not a valid scope token", detail(s))
		}
		add(s)
	}
	return string(out), nil
}
