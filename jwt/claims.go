package jwt

import (
	"fmt"
	"math"
	"time"

	"github.com/tidwall/gjson"
)

const (
	// maxClaims caps the top-level members of a payload.
	maxClaims = 256
	// maxNumericDate is 9999-12-31T23:59:59Z. Larger dates are refused as
	// malformed: they are usually milliseconds sent as seconds.
	maxNumericDate = 253402300799
)

// Claims are the registered claims OIDC relies on, read strictly from the
// payload. Any other claim can be read from Raw with gjson.
type Claims struct {
	Issuer          string    // iss
	Subject         string    // sub
	AuthorizedParty string    // azp
	Nonce           string    // nonce
	AtHash          string    // at_hash
	Audience        []string  // aud, a string or an array of strings
	Expiry          time.Time // exp; zero if absent
	NotBefore       time.Time // nbf; zero if absent
	IssuedAt        time.Time // iat; zero if absent
	AuthTime        time.Time // auth_time; zero if absent
	Raw             []byte    // the payload JSON
}

// Claims reads the registered claims. It fails with ErrMalformed if a
// top-level claim name repeats (JSON parsers disagree on which copy wins,
// so a repeat is an ambiguity an attacker could exploit), if a registered
// claim has the wrong type, or if a date is not a NumericDate in range.
func (t *Token) Claims() (*Claims, error) {
	if !t.checked && !isJSONObject(t.Payload) {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	return parseClaims(t.Payload)
}

func parseClaims(payload []byte) (*Claims, error) {
	c := &Claims{Raw: payload}
	if err := eachMember(gjson.ParseBytes(payload), maxClaims, c.read); err != nil {
		return nil, memberError(err, ErrMalformed, "claim", maxClaims)
	}
	return c, nil
}

func (c *Claims) read(name string, v gjson.Result) error {
	var err error
	switch name {
	case "iss":
		c.Issuer, err = claimString(name, v)
	case "sub":
		c.Subject, err = claimString(name, v)
	case "azp":
		c.AuthorizedParty, err = claimString(name, v)
	case "nonce":
		c.Nonce, err = claimString(name, v)
	case "at_hash":
		c.AtHash, err = claimString(name, v)
	case "aud":
		c.Audience, err = claimAudience(v)
	case "exp":
		c.Expiry, err = claimDate(name, v)
	case "nbf":
		c.NotBefore, err = claimDate(name, v)
	case "iat":
		c.IssuedAt, err = claimDate(name, v)
	case "auth_time":
		c.AuthTime, err = claimDate(name, v)
	}
	return err
}

func claimString(name string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", fmt.Errorf("%w: claim %s is not a string", ErrMalformed, name)
	}
	return v.Str, nil
}

func claimAudience(v gjson.Result) ([]string, error) {
	if v.Type == gjson.String {
		return []string{v.Str}, nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%w: claim aud is neither a string nor an array", ErrMalformed)
	}
	var aud []string
	var err error
	v.ForEach(func(_, e gjson.Result) bool {
		if e.Type != gjson.String {
			err = fmt.Errorf("%w: claim aud holds a non-string", ErrMalformed)
			return false
		}
		aud = append(aud, e.Str)
		return true
	})
	return aud, err
}

// claimDate reads a NumericDate: seconds since the epoch, possibly with a
// fraction (RFC 7519 section 2).
func claimDate(name string, v gjson.Result) (time.Time, error) {
	if v.Type != gjson.Number || !(v.Num >= 0 && v.Num <= maxNumericDate) {
		return time.Time{}, fmt.Errorf("%w: claim %s is not a NumericDate from 1970 to 9999", ErrMalformed, name)
	}
	sec, frac := math.Modf(v.Num)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
