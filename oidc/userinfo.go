package oidc

import (
	"crypto/subtle"

	"github.com/tidwall/gjson"
)

// ParseUserinfoResponse checks a UserInfo response (OIDC Core 5.3.2, 5.3.4)
// and returns its body, a JSON object of claims. The "sub" claim is required
// and must equal expectedSub, the ID token's subject, exactly: otherwise the
// response may be for another user ([ErrUserinfoSubject]). Signed or
// encrypted responses (application/jwt) are not supported ([ErrNotJSON]).
// A non-2xx status is an [*HTTPError] (RFC 6750 puts the error in
// WWW-Authenticate, not the body).
func ParseUserinfoResponse(status int, contentType string, body []byte, maxBytes int, expectedSub string) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseBytes
	}
	if len(body) > maxBytes {
		return nil, errorf(ErrTooLarge, "userinfo response of %d bytes (max %d)", len(body), maxBytes)
	}
	if status < 200 || status > 299 {
		return nil, &HTTPError{Status: status}
	}
	if !jsonContentType(contentType) {
		return nil, errorf(ErrNotJSON, "content type %s", detail(mediaType(contentType)))
	}
	obj, err := jsonObject(body)
	if err != nil {
		return nil, err
	}
	var v [1]gjson.Result
	if err := pick(obj, []string{"sub"}, v[:]); err != nil {
		return nil, err
	}
	sub, err := stringMember(v[0], "sub")
	if err != nil {
		return nil, err
	}
	if sub == "" {
		return nil, errorf(ErrMissingParam, "userinfo sub")
	}
	if expectedSub == "" || subtle.ConstantTimeCompare([]byte(sub), []byte(expectedSub)) != 1 {
		return nil, ErrUserinfoSubject
	}
	return body, nil
}
