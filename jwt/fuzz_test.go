package jwt

import (
	"crypto"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics, and whatever it accepts has exactly one
// spelling: re-encoding the decoded segments gives back the input.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc7515_a1_hs256.json", "rfc7515_a2_rs256.json", "rfc7515_a3_es256.json", "rfc7515_a4_es512.json", "rfc8037_a4_ed25519.json"} {
		f.Add(readVector(f, name).JWS)
	}
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("e30.e30.e30")
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := Parse(token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrDuplicateHeader) && !errors.Is(err, ErrCrit) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		h, p, s := splitToken(token)
		header, _ := b64.DecodeString(h)
		if b64.EncodeToString(header) != h || b64.EncodeToString(tok.Payload) != p || b64.EncodeToString(tok.signature) != s {
			t.Fatalf("%q accepted in a non-canonical spelling", token)
		}
		if !isJSONObject(header) || !isJSONObject(tok.Payload) || tok.Header.Algorithm == "" && !strings.Contains(string(header), `"alg"`) {
			t.Fatalf("%q: header or payload not checked", token)
		}
		if _, err := tok.Claims(); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Claims: %v", err)
		}
	})
}

// FuzzVerify: Verify never panics, and the only tokens it accepts are the
// ones that were signed: any change to a valid token fails.
func FuzzVerify(f *testing.F) {
	k := newTestKeys(f)
	var keys []*Key
	signed := map[string]bool{}
	for _, alg := range allAlgs {
		priv := k.private(alg)
		keys = append(keys, &Key{ID: string(alg), Public: publicOf(priv)})
		for _, header := range []string{`{"alg":"` + string(alg) + `","kid":"` + string(alg) + `"}`, `{"alg":"` + string(alg) + `"}`} {
			token := signToken(f, alg, priv, header, testPayload)
			signed[token] = true
			f.Add(token)
		}
	}
	v := NewVerifier(NewKeySet(keys...), Options{AllowHMAC: true})
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := v.Verify(token)
		if err != nil {
			if strings.Contains(err.Error(), token) && len(token) > 8 {
				t.Fatalf("error %q contains the token", err)
			}
			return
		}
		if !signed[token] {
			t.Fatalf("accepted a token that was never signed: %q", token)
		}
		if _, err := tok.Claims(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzJWKS: ParseJWKS never panics; every key it returns is usable for
// some alg and survives a round trip through its JWK form unchanged.
func FuzzJWKS(f *testing.F) {
	for _, name := range []string{"rfc7517_a1_public.json", "rfc7517_a3_symmetric.json", "private_keys.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, name := range []string{"rfc7515_a2_rs256.json", "rfc7515_a3_es256.json", "rfc7515_a4_es512.json", "rfc8037_a4_ed25519.json"} {
		f.Add([]byte(`{"keys":[` + string(readVector(f, name).JWK) + `]}`))
	}
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseJWKS(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		for _, e := range ks.Skipped() {
			if !errors.Is(e, ErrInvalidKey) {
				t.Fatalf("skipped error without ErrInvalidKey: %v", e)
			}
		}
		for _, key := range ks.keys {
			usable := false
			for i := range algTable {
				usable = usable || key.usable(&algTable[i])
			}
			if !usable {
				t.Fatalf("key %+v is usable for no alg", key)
			}
			extra := map[string]any{"kid": key.ID}
			if key.Algorithm != "" {
				extra["alg"] = key.Algorithm
			}
			again, err := ParseJWK(jwkOf(t, key.Public, extra))
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			eq, ok := key.Public.(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !eq.Equal(again.Public) || again.ID != key.ID || again.Algorithm != key.Algorithm {
				t.Fatalf("round trip changed the key: %+v -> %+v", key, again)
			}
		}
	})
}

// FuzzClaims: Claims never panics, agrees with encoding/json on the
// registered claims it returns, and Validate never panics on them.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(testPayload))
	f.Add([]byte(rfcPayload))
	f.Add([]byte(`{"aud":["a","b"],"azp":"a","nbf":1.5,"auth_time":0,"nonce":"\u00e9"}`))
	f.Add([]byte(`{"exp":1e400,"iat":-1,"sub":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := (&Token{Payload: payload}).Claims()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// Reference: encoding/json on exact member names (its struct
		// matching is case-insensitive, so a map is used).
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(payload, &ref); err != nil {
			t.Fatalf("encoding/json rejects accepted claims %q: %v", payload, err)
		}
		var iss, sub string
		var exp float64
		if ref["iss"] != nil && (json.Unmarshal(ref["iss"], &iss) != nil || iss != c.Issuer) {
			t.Fatalf("%q: iss %q, encoding/json %q", payload, c.Issuer, iss)
		}
		if ref["sub"] != nil && (json.Unmarshal(ref["sub"], &sub) != nil || sub != c.Subject) {
			t.Fatalf("%q: sub %q, encoding/json %q", payload, c.Subject, sub)
		}
		if ref["exp"] != nil {
			if json.Unmarshal(ref["exp"], &exp) != nil || math.Abs(float64(c.Expiry.Unix())+float64(c.Expiry.Nanosecond())/1e9-exp) > 1e-3 {
				t.Fatalf("%q: exp %v, encoding/json %v", payload, c.Expiry, exp)
			}
		} else if !c.Expiry.IsZero() {
			t.Fatalf("%q: exp set without an exp member", payload)
		}
		now := time.Unix(1700000000, 0)
		_ = c.Validate(Expected{Issuer: "i", Audience: "a", AuthorizedParty: "a", Nonce: "n", Now: func() time.Time { return now },
			MaxAge: time.Hour, MaxAuthAge: time.Hour, RequireExpiry: true, RequireIssuedAt: true})
	})
}
