package oidc

import (
	"encoding/json"
	"strconv"
	"time"
)

// RequestObjectType is the typ of a signed authorization request (RFC 9101 10.8).
const RequestObjectType = "oauth-authz-req+jwt"

// RequestObjectClaims returns the JWT claims of a request object (RFC 9101 4): every
// parameter of the authorization request p (as [AuthorizeURL] would send them; max_age as a
// number, OIDC Core 6.1), and iss = the client, aud = the provider's issuer, iat and nbf =
// now, exp = now + lifetime, and jti. The caller signs it (typ [RequestObjectType]) with the
// client's key.
func RequestObjectClaims(p AuthParams, issuer string, now time.Time, lifetime time.Duration, jti string) ([]byte, error) {
	params, err := p.params()
	if err != nil {
		return nil, err
	}
	switch {
	case issuer == "":
		return nil, errorf(ErrMissingParam, "issuer")
	case jti == "":
		return nil, errorf(ErrMissingParam, "jti")
	}
	claims := make(map[string]any, len(params)+6)
	for _, q := range params {
		if q.value == "" {
			continue
		}
		claims[q.name] = q.value
		if q.name == "max_age" {
			n, _ := strconv.ParseInt(q.value, 10, 64)
			claims[q.name] = n
		}
	}
	claims["iss"] = p.ClientID
	claims["aud"] = issuer
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(lifetime).Unix()
	claims["jti"] = jti
	return json.Marshal(claims)
}

// RequestObjectURL is the authorization endpoint URL carrying a signed request object by
// value (RFC 9101 5.1): client_id and request, with response_type and scope repeated as
// OAuth 2.0 and OIDC Core 6.1 require them in the query (their values equal the object's).
func RequestObjectURL(endpoint string, p AuthParams, requestObject string) (string, error) {
	if _, err := parseEndpoint(endpoint, true); err != nil {
		return "", err
	}
	switch {
	case p.ClientID == "":
		return "", errorf(ErrMissingParam, "client_id")
	case requestObject == "":
		return "", errorf(ErrMissingParam, "request")
	}
	scope, err := scopeString(p.Scopes, true)
	if err != nil {
		return "", err
	}
	return appendQuery(endpoint, []queryParam{{"response_type", "code"}, {"client_id", p.ClientID},
		{"scope", scope}, {"request", requestObject}}), nil
}
