package oidc

import (
	"github.com/tidwall/gjson"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// jsonObject checks that body is exactly one valid JSON object and returns
// it parsed. Anything else (HTML, a bare string, trailing garbage, invalid
// UTF-8, nesting deeper than [jwt.MaxJSONDepth]) is [ErrNotJSON]. Every
// provider body (token, exchange, discovery, userinfo, revocation) passes
// here; JWKS documents pass the same scanner in jwt.ParseJWKS. Validation
// never recurses deeper than the limit, whatever the body.
func jsonObject(body []byte) (gjson.Result, error) {
	if !jwt.ValidObject(body) {
		return gjson.Result{}, ErrNotJSON
	}
	return gjson.ParseBytes(body), nil
}

// pick walks the members of obj once and stores the value of each member
// named in names at the same index of out (len(out) == len(names)). A
// member named twice is ambiguous (parsers disagree on which one wins) and
// is rejected; unknown members are ignored.
func pick(obj gjson.Result, names []string, out []gjson.Result) error {
	var err error
	obj.ForEach(func(k, v gjson.Result) bool {
		for i, n := range names {
			if k.Str != n {
				continue
			}
			if out[i].Exists() {
				err = errorf(ErrDuplicateParam, "member %s", detail(n))
				return false
			}
			out[i] = v
			break
		}
		return true
	})
	return err
}

// present reports whether a member exists and is not JSON null. Optional
// members set to null are treated as absent.
func present(v gjson.Result) bool {
	return v.Exists() && v.Type != gjson.Null
}

// stringMember returns an optional string member; a present member of
// another type is malformed.
func stringMember(v gjson.Result, name string) (string, error) {
	if !present(v) {
		return "", nil
	}
	if v.Type != gjson.String {
		return "", errorf(ErrMalformed, "member %s is not a string", detail(name))
	}
	return v.Str, nil
}

// stringsMember returns an optional array-of-strings member.
func stringsMember(v gjson.Result, name string) ([]string, error) {
	if !present(v) {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, errorf(ErrMalformed, "member %s is not an array", detail(name))
	}
	var out []string
	var err error
	v.ForEach(func(_, e gjson.Result) bool {
		if e.Type != gjson.String {
			err = errorf(ErrMalformed, "member %s has a non-string element", detail(name))
			return false
		}
		out = append(out, e.Str)
		return true
	})
	return out, err
}

// boolMember returns an optional boolean member.
func boolMember(v gjson.Result, name string) (bool, error) {
	if !present(v) {
		return false, nil
	}
	if v.Type != gjson.True && v.Type != gjson.False {
		return false, errorf(ErrMalformed, "member %s is not a boolean", detail(name))
	}
	return v.Type == gjson.True, nil
}
