package oidc

import (
	"github.com/tidwall/gjson"
)

// maxRequestURILen bounds a request_uri from a PAR response: it goes into the
// browser's redirect, and real ones are under 100 bytes.
const maxRequestURILen = 1024

// PushedAuthorization is a successful pushed authorization response
// (RFC 9126 2.2): the reference the browser carries to the authorization
// endpoint instead of the request itself.
type PushedAuthorization struct {
	RequestURI string
	ExpiresIn  int64 // seconds, positive
}

// PushAuthorization builds a pushed authorization request (RFC 9126 2.1):
// the parameters [AuthorizeURL] would put in the browser's URL, posted to
// the PAR endpoint instead and authenticated as c authenticates at the token
// endpoint. Redirect the browser with [PushedAuthorizeURL].
func PushAuthorization(endpoint string, c Client, p AuthParams) (Request, error) {
	if _, err := parseEndpoint(endpoint, true); err != nil {
		return Request{}, err
	}
	params, err := p.params()
	if err != nil {
		return Request{}, err
	}
	return c.post(endpoint, params), nil
}

// PushRequestObject builds a pushed authorization request whose parameters
// are all in a signed request object (RFC 9126 3, RFC 9101): the body holds
// client_id and request (plus client authentication).
func PushRequestObject(endpoint string, c Client, requestObject string) (Request, error) {
	if _, err := parseEndpoint(endpoint, true); err != nil {
		return Request{}, err
	}
	if requestObject == "" {
		return Request{}, errorf(ErrMissingParam, "request")
	}
	return c.post(endpoint, []queryParam{{"client_id", c.ID}, {"request", requestObject}}), nil
}

// PushedAuthorizeURL is the authorization endpoint URL for a pushed request
// (RFC 9126 4): only client_id and request_uri.
func PushedAuthorizeURL(endpoint, clientID, requestURI string) (string, error) {
	if _, err := parseEndpoint(endpoint, true); err != nil {
		return "", err
	}
	switch {
	case clientID == "":
		return "", errorf(ErrMissingParam, "client_id")
	case requestURI == "":
		return "", errorf(ErrMissingParam, "request_uri")
	}
	return appendQuery(endpoint, []queryParam{{"client_id", clientID}, {"request_uri", requestURI}}), nil
}

var parResponseNames = []string{"request_uri", "expires_in", "error", "error_description", "error_uri"}

// ParsePushResponse parses the PAR endpoint's answer (RFC 9126 2.2, 2.3)
// given the callout's status, Content-Type and body.
//
// Success is HTTP 201 (200 is accepted too) with one JSON object holding a
// request_uri (printable ASCII, at most 1024 bytes) and a positive integer
// expires_in. Errors: [ErrTooLarge] over maxBytes ([DefaultMaxResponseBytes]
// when <= 0), [ErrNotJSON], [*TokenEndpointError] for an RFC 6749 error body
// (any status), [*HTTPError] for another status, [ErrMissingParam] and
// [ErrMalformed] for a success without a usable request_uri or expires_in.
func ParsePushResponse(status int, contentType string, body []byte, maxBytes int) (*PushedAuthorization, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	if len(body) > maxBytes {
		return nil, errorf(ErrTooLarge, "pushed authorization response of %d bytes (max %d)", len(body), maxBytes)
	}
	obj, jsonErr := jsonObject(body)
	if jsonErr == nil && !jsonContentType(contentType) {
		jsonErr = ErrNotJSON
	}
	ok := status == 201 || status == 200
	if jsonErr != nil {
		if !ok {
			return nil, &HTTPError{Status: status}
		}
		return nil, errorf(ErrNotJSON, "HTTP %d, content type %s", status, detail(mediaType(contentType)))
	}
	var v [5]gjson.Result
	if err := pick(obj, parResponseNames, v[:]); err != nil {
		return nil, err
	}
	if e := endpointError(status, v[2], v[3], v[4]); e != nil {
		return nil, e
	}
	if !ok {
		return nil, &HTTPError{Status: status}
	}
	uri, err := stringMember(v[0], "request_uri")
	if err != nil {
		return nil, err
	}
	switch {
	case uri == "":
		return nil, errorf(ErrMissingParam, "request_uri")
	case len(uri) > maxRequestURILen || !isVSCHAR(uri):
		return nil, errorf(ErrMalformed, "request_uri is not printable ASCII of at most %d bytes", maxRequestURILen)
	}
	exp, has, err := expiresIn(v[1])
	switch {
	case err != nil:
		return nil, err
	case !has:
		return nil, errorf(ErrMissingParam, "expires_in")
	case exp <= 0:
		return nil, errorf(ErrMalformed, "expires_in is not positive")
	}
	return &PushedAuthorization{RequestURI: uri, ExpiresIn: exp}, nil
}
