package oidc

import "github.com/tidwall/gjson"

// ParseRevokeResponse checks an RFC 7009 revocation response: any 2xx is
// success (the body is ignored; revoking an unknown or already revoked
// token also succeeds). Otherwise the result is a [*TokenEndpointError]
// (e.g. "unsupported_token_type") or a [*HTTPError]; a 503 is
// [IsTransient].
func ParseRevokeResponse(status int, contentType string, body []byte) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	if len(body) <= DefaultMaxResponseBytes && jsonContentType(contentType) {
		if obj, err := jsonObject(body); err == nil {
			var v [3]gjson.Result
			if pick(obj, []string{"error", "error_description", "error_uri"}, v[:]) == nil {
				if e := endpointError(status, v[0], v[1], v[2]); e != nil {
					return e
				}
			}
		}
	}
	return &HTTPError{Status: status}
}
