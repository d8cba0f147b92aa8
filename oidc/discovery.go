package oidc

import (
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
)

// MaxDiscoveryBytes caps a discovery document. Real ones are 1-10 KB.
const MaxDiscoveryBytes = 128 << 10

// Metadata is the subset of an OpenID Provider's metadata (OIDC Discovery
// 1.0 section 3, RFC 8414, RFC 9207) that a relying party uses. All
// endpoint fields are validated absolute URLs or empty.
type Metadata struct {
	Issuer                string
	AuthorizationEndpoint string
	TokenEndpoint         string
	UserinfoEndpoint      string
	JWKSURI               string
	EndSessionEndpoint    string
	RevocationEndpoint    string
	IntrospectionEndpoint string
	// PushedAuthorizationRequestEndpoint (RFC 9126 5), and whether the
	// provider accepts authorization requests only through it.
	PushedAuthorizationRequestEndpoint string
	RequirePushedAuthorizationRequests bool

	// AuthorizationResponseIssParameterSupported (RFC 9207): when true, the
	// callback must carry an "iss" parameter equal to Issuer.
	AuthorizationResponseIssParameterSupported bool

	ResponseTypesSupported            []string
	SubjectTypesSupported             []string
	IDTokenSigningAlgValuesSupported  []string
	ScopesSupported                   []string
	GrantTypesSupported               []string
	TokenEndpointAuthMethodsSupported []string
	CodeChallengeMethodsSupported     []string
	// ResponseModesSupported is nil when the provider did not say
	// (Discovery 3 then implies ["query", "fragment"]).
	ResponseModesSupported []string

	// MTLSEndpointAliases are the endpoints a client authenticating with
	// a TLS client certificate uses instead (RFC 8705 section 5,
	// "mtls_endpoint_aliases"); empty members mean the plain endpoint.
	MTLSEndpointAliases MTLSEndpoints
}

// MTLSEndpoints are the members of "mtls_endpoint_aliases" (RFC 8705
// section 5) that a relying party calls. Each is a validated absolute URL
// or empty.
type MTLSEndpoints struct {
	TokenEndpoint                      string
	RevocationEndpoint                 string
	IntrospectionEndpoint              string
	PushedAuthorizationRequestEndpoint string
	UserinfoEndpoint                   string
}

// mtlsNames are the members of mtls_endpoint_aliases read, in the order of
// the MTLSEndpoints fields.
var mtlsNames = []string{"token_endpoint", "revocation_endpoint", "introspection_endpoint",
	"pushed_authorization_request_endpoint", "userinfo_endpoint"}

// UseMTLSAliases replaces each endpoint that has an mTLS alias by the alias
// (RFC 8705 section 5: a client using mutual TLS uses the aliases; the
// endpoints without one stay as they are).
func (md *Metadata) UseMTLSAliases() {
	a := md.MTLSEndpointAliases
	for _, e := range []struct{ dst, alias *string }{
		{&md.TokenEndpoint, &a.TokenEndpoint}, {&md.RevocationEndpoint, &a.RevocationEndpoint},
		{&md.IntrospectionEndpoint, &a.IntrospectionEndpoint},
		{&md.PushedAuthorizationRequestEndpoint, &a.PushedAuthorizationRequestEndpoint},
		{&md.UserinfoEndpoint, &a.UserinfoEndpoint},
	} {
		if *e.alias != "" {
			*e.dst = *e.alias
		}
	}
}

// discovery member names, indexed by the d* constants below.
var discoveryNames = []string{
	"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
	"jwks_uri", "end_session_endpoint", "revocation_endpoint", "introspection_endpoint",
	"authorization_response_iss_parameter_supported",
	"response_types_supported", "subject_types_supported",
	"id_token_signing_alg_values_supported", "scopes_supported",
	"grant_types_supported", "token_endpoint_auth_methods_supported",
	"code_challenge_methods_supported",
	"response_modes_supported",
	"pushed_authorization_request_endpoint", "require_pushed_authorization_requests",
	"mtls_endpoint_aliases",
}

const (
	dIssuer = iota
	dAuthorization
	dToken
	dUserinfo
	dJWKS
	dEndSession
	dRevocation
	dIntrospection
	dIssParam
	dResponseTypes
	dSubjectTypes
	dIDTokenAlgs
	dScopes
	dGrantTypes
	dTokenAuthMethods
	dCodeChallenge
	dResponseModes
	dPAR
	dRequirePAR
	dMTLSAliases
	dCount
)

// ParseDiscovery parses and validates the body of
// {issuer}/.well-known/openid-configuration.
//
// The "issuer" member must equal expectedIssuer exactly (Discovery 4.3: no
// normalisation, so a mix-up or a mis-typed tenant is caught here). The
// REQUIRED members must be present; every endpoint must be an absolute
// https URL (http too when allowHTTP, for local development only);
// response_types_supported must include "code"; code_challenge_methods_
// supported, when present, must include "S256". A member given twice is
// rejected.
func ParseDiscovery(body []byte, expectedIssuer string, allowHTTP bool) (*Metadata, error) {
	if len(body) > MaxDiscoveryBytes {
		return nil, errorf(ErrTooLarge, "discovery document of %d bytes (max %d)", len(body), MaxDiscoveryBytes)
	}
	obj, err := jsonObject(body)
	if err != nil {
		return nil, err
	}
	var v [dCount]gjson.Result
	if err := pick(obj, discoveryNames, v[:]); err != nil {
		return nil, err
	}
	md := &Metadata{}
	strs := []struct {
		dst *string
		i   int
	}{
		{&md.Issuer, dIssuer}, {&md.AuthorizationEndpoint, dAuthorization},
		{&md.TokenEndpoint, dToken}, {&md.UserinfoEndpoint, dUserinfo},
		{&md.JWKSURI, dJWKS}, {&md.EndSessionEndpoint, dEndSession},
		{&md.RevocationEndpoint, dRevocation}, {&md.IntrospectionEndpoint, dIntrospection},
		{&md.PushedAuthorizationRequestEndpoint, dPAR},
	}
	for _, s := range strs {
		if *s.dst, err = stringMember(v[s.i], discoveryNames[s.i]); err != nil {
			return nil, err
		}
	}
	lists := []struct {
		dst *[]string
		i   int
	}{
		{&md.ResponseTypesSupported, dResponseTypes}, {&md.SubjectTypesSupported, dSubjectTypes},
		{&md.IDTokenSigningAlgValuesSupported, dIDTokenAlgs}, {&md.ScopesSupported, dScopes},
		{&md.GrantTypesSupported, dGrantTypes}, {&md.TokenEndpointAuthMethodsSupported, dTokenAuthMethods},
		{&md.CodeChallengeMethodsSupported, dCodeChallenge},
		{&md.ResponseModesSupported, dResponseModes},
	}
	for _, l := range lists {
		if *l.dst, err = stringsMember(v[l.i], discoveryNames[l.i]); err != nil {
			return nil, err
		}
	}
	if md.AuthorizationResponseIssParameterSupported, err = boolMember(v[dIssParam], discoveryNames[dIssParam]); err != nil {
		return nil, err
	}
	if md.RequirePushedAuthorizationRequests, err = boolMember(v[dRequirePAR], discoveryNames[dRequirePAR]); err != nil {
		return nil, err
	}
	if err := md.validate(expectedIssuer, allowHTTP, v[:]); err != nil {
		return nil, err
	}
	if md.MTLSEndpointAliases, err = parseMTLSAliases(v[dMTLSAliases], allowHTTP); err != nil {
		return nil, err
	}
	return md, nil
}

// parseMTLSAliases parses the optional mtls_endpoint_aliases object (RFC
// 8705 section 5): a JSON object whose members used here must be valid
// endpoint URLs; members not used are ignored, a member given twice is
// rejected.
func parseMTLSAliases(v gjson.Result, allowHTTP bool) (MTLSEndpoints, error) {
	var a MTLSEndpoints
	if !present(v) {
		return a, nil
	}
	if !v.IsObject() {
		return a, errorf(ErrMalformed, "member %s is not an object", detail("mtls_endpoint_aliases"))
	}
	var m [5]gjson.Result
	if err := pick(v, mtlsNames, m[:]); err != nil {
		return a, fmt.Errorf("%w (in mtls_endpoint_aliases)", err)
	}
	dst := []*string{&a.TokenEndpoint, &a.RevocationEndpoint, &a.IntrospectionEndpoint,
		&a.PushedAuthorizationRequestEndpoint, &a.UserinfoEndpoint}
	for i, d := range dst {
		name := "mtls_endpoint_aliases." + mtlsNames[i]
		s, err := stringMember(m[i], name)
		if err != nil {
			return MTLSEndpoints{}, err
		}
		if s == "" && !present(m[i]) {
			continue
		}
		if _, err := parseEndpoint(s, allowHTTP); err != nil {
			return MTLSEndpoints{}, fmt.Errorf("%w (discovery member %s)", err, name)
		}
		*d = s
	}
	return a, nil
}

func (md *Metadata) validate(expectedIssuer string, allowHTTP bool, v []gjson.Result) error {
	if md.Issuer == "" {
		return errorf(ErrMissingParam, "discovery member \"issuer\"")
	}
	if md.Issuer != expectedIssuer {
		return errorf(ErrIssuerMismatch, "discovery issuer %s, configured %s", detail(md.Issuer), detail(expectedIssuer))
	}
	if u, err := parseEndpoint(md.Issuer, allowHTTP); err != nil {
		return err
	} else if u.RawQuery != "" || u.ForceQuery {
		return errorf(ErrInvalidURL, "issuer %s has a query", detail(md.Issuer))
	}
	for _, i := range []int{dAuthorization, dToken, dJWKS, dResponseTypes, dSubjectTypes, dIDTokenAlgs} {
		if !present(v[i]) {
			return errorf(ErrMissingParam, "discovery member %s", detail(discoveryNames[i]))
		}
	}
	endpoints := []struct {
		url string
		i   int
	}{
		{md.AuthorizationEndpoint, dAuthorization}, {md.TokenEndpoint, dToken},
		{md.UserinfoEndpoint, dUserinfo}, {md.JWKSURI, dJWKS},
		{md.EndSessionEndpoint, dEndSession}, {md.RevocationEndpoint, dRevocation},
		{md.IntrospectionEndpoint, dIntrospection}, {md.PushedAuthorizationRequestEndpoint, dPAR},
	}
	for _, e := range endpoints {
		if e.url == "" && !present(v[e.i]) {
			continue
		}
		if _, err := parseEndpoint(e.url, allowHTTP); err != nil {
			return fmt.Errorf("%w (discovery member %s)", err, discoveryNames[e.i])
		}
	}
	if !slices.Contains(md.ResponseTypesSupported, "code") {
		return errorf(ErrUnsupported, "response_types_supported lacks \"code\"")
	}
	if present(v[dCodeChallenge]) && !slices.Contains(md.CodeChallengeMethodsSupported, "S256") {
		return errorf(ErrUnsupported, "code_challenge_methods_supported lacks \"S256\"")
	}
	return nil
}
