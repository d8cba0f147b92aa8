package jwt

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

const (
	// DefaultMaxTokenSize caps a compact token when Options.MaxTokenSize is
	// zero, and always caps Parse.
	DefaultMaxTokenSize = 16 << 10
	// maxKeyIDLen caps a kid in a token header or a JWK.
	maxKeyIDLen = 256
	// maxHeaderMembers caps the members of a JOSE header.
	maxHeaderMembers = 32
	// maxCritNames caps the crit list.
	maxCritNames = 8
)

// b64 is unpadded base64url that also rejects non-zero trailing bits, so
// each segment has exactly one accepted spelling.
var b64 = base64.RawURLEncoding.Strict()

// Header is the part of the JOSE header this package reads. Everything
// else, including jku, x5u, jwk and x5c, is ignored: keys come only from
// the configured KeySet, never from the token.
type Header struct {
	Algorithm Algorithm
	KeyID     string // "" if absent; an empty kid counts as absent
	Type      string // typ, "" if absent
	Critical  []string
}

// Token is a compact JWS split into its parts. A Token from Verify has a
// verified signature; one from Parse has not and must not be trusted.
type Token struct {
	Header  Header
	Payload []byte // raw JSON, a valid object
	Raw     string // the compact serialization as received

	// input (a copy of Raw up to the second dot, kept only while Verify
	// runs) and signature share one scratch buffer, dropped after Verify.
	input     []byte
	signature []byte
	checked   bool // Payload passed isJSONObject
}

// Parse splits and decodes a compact JWS without verifying it, for example
// to read the kid before deciding to refetch a JWKS. It applies the same
// structural rules as Verify: three base64url segments, header and payload
// JSON objects, no duplicate header members, a string alg, bounded kid.
// It does not check alg, crit or the signature.
func Parse(token string) (*Token, error) {
	return parse(token, DefaultMaxTokenSize, false)
}

// parse splits and decodes token; withInput also copies the signing input
// so that hashing and Ed25519 need no further allocation.
func parse(token string, maxSize int, withInput bool) (*Token, error) {
	if len(token) > maxSize {
		return nil, fmt.Errorf("%w: token is %d bytes, limit %d", ErrTooLarge, len(token), maxSize)
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return nil, fmt.Errorf("%w: compact JWS needs exactly three segments", ErrMalformed)
	}
	// The payload, which the Token keeps, gets its own buffer; the rest
	// shares a scratch buffer.
	payload, _, err := decodeSegment(make([]byte, b64.DecodedLen(len(p))), p, "payload")
	if err != nil {
		return nil, err
	}
	inputLen := 0
	if withInput {
		inputLen = len(h) + 1 + len(p)
	}
	scratch := make([]byte, inputLen+b64.DecodedLen(len(h))+b64.DecodedLen(len(s)))
	input := scratch[:copy(scratch[:inputLen], token):inputLen]
	header, scratch, err := decodeSegment(scratch[inputLen:], h, "header")
	if err != nil {
		return nil, err
	}
	sig, _, err := decodeSegment(scratch, s, "signature")
	if err != nil {
		return nil, err
	}
	t := &Token{Payload: payload, Raw: token, signature: sig}
	if withInput {
		t.input = input
	}
	if err := parseHeader(header, &t.Header); err != nil {
		return nil, err
	}
	if !isJSONObject(payload) {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	t.checked = true
	return t, nil
}

// decodeSegment decodes seg into the front of buf and returns the decoded
// bytes (capacity-limited) and the rest of buf.
func decodeSegment(buf []byte, seg, what string) (out, rest []byte, err error) {
	n, err := b64.Decode(buf, []byte(seg))
	// The decoder skips CR and LF even in strict mode. Every skipped
	// character shortens the output, so a full-length result proves there
	// were none.
	if err != nil || n != b64.DecodedLen(len(seg)) {
		return nil, nil, fmt.Errorf("%w: %s is not base64url", ErrMalformed, what)
	}
	return buf[:n:n], buf[n:], nil
}

// parseHeader reads the JOSE header. Member names are compared after JSON
// unescaping, so "\u0061lg" is a duplicate of "alg".
func parseHeader(raw []byte, h *Header) error {
	if !isJSONObject(raw) {
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	hasAlg := false
	err := eachMember(gjson.ParseBytes(raw), maxHeaderMembers, func(name string, v gjson.Result) error {
		switch name {
		case "alg":
			if v.Type != gjson.String {
				return fmt.Errorf("%w: header alg is not a string", ErrMalformed)
			}
			h.Algorithm, hasAlg = Algorithm(v.Str), true
		case "kid":
			if v.Type != gjson.String {
				return fmt.Errorf("%w: header kid is not a string", ErrMalformed)
			}
			if len(v.Str) > maxKeyIDLen {
				return fmt.Errorf("%w: header kid longer than %d bytes", ErrMalformed, maxKeyIDLen)
			}
			h.KeyID = v.Str
		case "typ":
			if v.Type != gjson.String {
				return fmt.Errorf("%w: header typ is not a string", ErrMalformed)
			}
			h.Type = v.Str
		case "crit":
			crit, err := parseCrit(v)
			if err != nil {
				return err
			}
			h.Critical = crit
		}
		return nil
	})
	switch {
	case err == errTooManyMembers:
		return memberError(err, ErrMalformed, "header member", maxHeaderMembers)
	case err != nil:
		return memberError(err, ErrDuplicateHeader, "header member", maxHeaderMembers)
	case !hasAlg:
		return fmt.Errorf("%w: header has no alg", ErrMalformed)
	}
	return nil
}

// parseCrit reads crit: a non-empty array of distinct strings. Whether the
// names are acceptable is the verifier's decision (see checkCrit).
func parseCrit(v gjson.Result) ([]string, error) {
	if !v.IsArray() {
		return nil, fmt.Errorf("%w: crit is not an array", ErrCrit)
	}
	var names []string
	var err error
	v.ForEach(func(_, e gjson.Result) bool {
		if e.Type != gjson.String || len(names) == maxCritNames {
			err = fmt.Errorf("%w: crit must hold at most %d strings", ErrCrit, maxCritNames)
			return false
		}
		names = append(names, e.Str)
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: crit is empty", ErrCrit)
	}
	return names, nil
}
