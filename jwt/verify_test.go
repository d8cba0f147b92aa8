//lint:file-ignore SA1019 tests build invalid EC keys from raw coordinates.

package jwt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"testing"
)

const testPayload = `{"iss":"https://op.example","sub":"alice","aud":"client","exp":4102444800,"iat":1700000000}`

func TestVerifyEveryAlgorithm(t *testing.T) {
	k := newTestKeys(t)
	for _, alg := range allAlgs {
		t.Run(string(alg), func(t *testing.T) {
			priv := k.private(alg)
			keys := NewKeySet(&Key{ID: "k1", Public: publicOf(priv)})
			raw := signToken(t, alg, priv, `{"alg":"`+string(alg)+`","kid":"k1","typ":"JWT"}`, testPayload)
			tok, err := NewVerifier(keys, Options{AllowHMAC: true}).Verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			h := tok.Header
			if h.Algorithm != alg || h.KeyID != "k1" || h.Type != "JWT" || string(tok.Payload) != testPayload || tok.Raw != raw {
				t.Fatalf("got %+v %q", h, tok.Payload)
			}
			// The default allowlist is asymmetric only.
			_, err = NewVerifier(keys, Options{}).Verify(raw)
			if hmacAlg := lookupAlg(alg).family == famHMAC; hmacAlg != errors.Is(err, ErrAlgNotAllowed) {
				t.Fatalf("default options: %v", err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	k := newTestKeys(t)
	other := newRSA(t, 2048)
	small := newRSA(t, 1024)
	rs := func(header, payload string) string { return signToken(t, RS256, k.rsa, header, payload) }
	good := rs(`{"alg":"RS256","kid":"rsa"}`, testPayload)
	h, p, s := splitToken(good)
	enc := func(v string) string { return b64.EncodeToString([]byte(v)) }
	keys := NewKeySet(
		&Key{ID: "rsa", Public: &k.rsa.PublicKey},
		&Key{ID: "ec", Public: &k.ec256.PublicKey},
		&Key{ID: "rs384-only", Algorithm: RS384, Public: &k.rsa.PublicKey},
		&Key{ID: "enc", Use: "enc", Public: &k.rsa.PublicKey},
		&Key{ID: "small", Public: &small.PublicKey},
		&Key{ID: "other", Public: &other.PublicKey},
		&Key{ID: "hmac-32", Public: make([]byte, 32)},
	)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)

	tests := []struct {
		name  string
		token string
		opts  Options
		want  error
	}{
		{"too large", good, Options{MaxTokenSize: len(good) - 1}, ErrTooLarge},
		{"two segments", h + "." + p, Options{}, ErrMalformed},
		{"four segments", good + ".", Options{}, ErrMalformed},
		{"empty", "", Options{}, ErrMalformed},
		{"padding", h + "." + p + "." + s + "==", Options{}, ErrMalformed},
		{"padded header", enc(`{"alg":"RS256"}`) + "=." + p + "." + s, Options{}, ErrMalformed},
		{"standard alphabet", h + "." + p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(s) + "+", Options{}, ErrMalformed},
		{"newline", h + "." + p[:5] + "\n" + p[5:] + "." + s, Options{}, ErrMalformed},
		{"space", " " + good, Options{}, ErrMalformed},
		{"non-zero trailing bits", h + "." + p + "." + flipTrailingBits(s), Options{}, ErrMalformed},
		{"header not JSON", enc(`{alg:RS256}`) + "." + p + "." + s, Options{}, ErrMalformed},
		{"header array", enc(`["alg","RS256"]`) + "." + p + "." + s, Options{}, ErrMalformed},
		{"header invalid UTF-8", enc("{\"alg\":\"RS256\",\"x\":\"\xff\"}") + "." + p + "." + s, Options{}, ErrMalformed},
		{"header trailing data", enc(`{"alg":"RS256"} {}`) + "." + p + "." + s, Options{}, ErrMalformed},
		{"header too deep", enc(`{"alg":"RS256","x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`) + "." + p + "." + s, Options{}, ErrMalformed},
		{"payload not object", rs(`{"alg":"RS256","kid":"rsa"}`, `"hello"`), Options{}, ErrMalformed},
		{"payload not JSON", rs(`{"alg":"RS256","kid":"rsa"}`, `{"iss":}`), Options{}, ErrMalformed},
		{"no alg", rs(`{"kid":"rsa"}`, testPayload), Options{}, ErrMalformed},
		{"alg not a string", rs(`{"alg":["RS256"],"kid":"rsa"}`, testPayload), Options{}, ErrMalformed},
		{"kid not a string", rs(`{"alg":"RS256","kid":1}`, testPayload), Options{}, ErrMalformed},
		{"kid too long", rs(`{"alg":"RS256","kid":"`+strings.Repeat("k", maxKeyIDLen+1)+`"}`, testPayload), Options{}, ErrMalformed},
		{"typ not a string", rs(`{"alg":"RS256","kid":"rsa","typ":null}`, testPayload), Options{}, ErrMalformed},
		{"alg none", enc(`{"alg":"none"}`) + "." + p + ".", Options{}, ErrAlgNone},
		{"alg NoNe", enc(`{"alg":"NoNe","kid":"rsa"}`) + "." + p + "." + s, Options{}, ErrAlgNone},
		{"alg lower case", rs(`{"alg":"rs256","kid":"rsa"}`, testPayload), Options{}, ErrAlgNotAllowed},
		{"alg unknown", rs(`{"alg":"RS1","kid":"rsa"}`, testPayload), Options{}, ErrAlgNotAllowed},
		{"alg not on allowlist", good, Options{Algorithms: []Algorithm{ES256, PS256}}, ErrAlgNotAllowed},
		{"HS256 listed without AllowHMAC", signToken(t, HS256, k.hmac, `{"alg":"HS256"}`, testPayload), Options{Algorithms: []Algorithm{HS256}}, ErrAlgNotAllowed},
		{"duplicate alg", rs(`{"alg":"RS256","kid":"rsa","alg":"RS256"}`, testPayload), Options{}, ErrDuplicateHeader},
		{"duplicate alg, escaped", rs(`{"alg":"RS256","kid":"rsa","\u0061lg":"HS256"}`, testPayload), Options{}, ErrDuplicateHeader},
		{"duplicate ignored member", rs(`{"alg":"RS256","kid":"rsa","x5u":"a","x5u":"b"}`, testPayload), Options{}, ErrDuplicateHeader},
		{"crit unknown", rs(`{"alg":"RS256","kid":"rsa","crit":["exp"],"exp":1}`, testPayload), Options{}, ErrCrit},
		{"crit b64", rs(`{"alg":"RS256","kid":"rsa","crit":["b64"],"b64":false}`, testPayload), Options{}, ErrCrit},
		{"crit empty", rs(`{"alg":"RS256","kid":"rsa","crit":[]}`, testPayload), Options{}, ErrCrit},
		{"crit not an array", rs(`{"alg":"RS256","kid":"rsa","crit":"exp"}`, testPayload), Options{}, ErrCrit},
		{"crit null", rs(`{"alg":"RS256","kid":"rsa","crit":null}`, testPayload), Options{}, ErrCrit},
		{"unknown kid", rs(`{"alg":"RS256","kid":"nope"}`, testPayload), Options{}, ErrUnknownKey},
		{"no kid, no key for alg", signToken(t, EdDSA, k.ed, `{"alg":"EdDSA"}`, testPayload), Options{}, ErrUnknownKey},
		{"kid names an EC key", rs(`{"alg":"RS256","kid":"ec"}`, testPayload), Options{}, ErrKeyMismatch},
		{"key restricted to RS384", rs(`{"alg":"RS256","kid":"rs384-only"}`, testPayload), Options{}, ErrKeyMismatch},
		{"key use enc, left out of the set", rs(`{"alg":"RS256","kid":"enc"}`, testPayload), Options{}, ErrUnknownKey},
		{"RSA key under 2048 bits, left out of the set", signToken(t, RS256, small, `{"alg":"RS256","kid":"small"}`, testPayload), Options{}, ErrUnknownKey},
		{"ES384 with a P-256 key", signToken(t, ES384, k.ec384, `{"alg":"ES384","kid":"ec"}`, testPayload), Options{}, ErrKeyMismatch},
		{"HMAC key shorter than the hash", signToken(t, HS512, make([]byte, 32), `{"alg":"HS512","kid":"hmac-32"}`, testPayload), Options{AllowHMAC: true}, ErrKeyMismatch},
		{"alg confusion: HS256 keyed with the RSA public key", signToken(t, HS256, rsaDER, `{"alg":"HS256","kid":"rsa"}`, testPayload), Options{AllowHMAC: true}, ErrKeyMismatch},
		{"signed by another key", signToken(t, RS256, other, `{"alg":"RS256","kid":"rsa"}`, testPayload), Options{}, ErrSignature},
		{"payload altered", h + "." + enc(strings.Replace(testPayload, "alice", "admin", 1)) + "." + s, Options{}, ErrSignature},
		{"header altered", enc(`{"alg":"RS256","kid":"rsa","typ":"JWT"}`) + "." + p + "." + s, Options{}, ErrSignature},
		{"signature truncated", h + "." + p + "." + enc(string(mustDecode(t, s)[1:])), Options{}, ErrSignature},
		{"signature extended", h + "." + p + "." + enc(string(append(mustDecode(t, s), 0))), Options{}, ErrSignature},
		{"signature empty", h + "." + p + ".", Options{}, ErrSignature},
		{"ES256 signature with a leading zero", ecSig(t, k.ec256, func(sig []byte) []byte { return append([]byte{0}, sig...) }), Options{}, ErrSignature},
		{"ES256 signature in ASN.1 DER", ecSig(t, k.ec256, func(sig []byte) []byte { return derSig(sig) }), Options{}, ErrSignature},
		{"ES256 signature of zeros", ecSig(t, k.ec256, func(sig []byte) []byte { return make([]byte, 64) }), Options{}, ErrSignature},
		{"PSS salt length 0", signPSS(t, k.rsa, 0), Options{}, ErrSignature},
		{"PSS salt length 20", signPSS(t, k.rsa, 20), Options{}, ErrSignature},
		{"embedded jwk is ignored", embeddedJWK(t), Options{}, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(keys, tt.opts).Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			checkNoSecrets(t, err, tt.token)
		})
	}
}

// checkNoSecrets fails if an error message repeats any token segment.
func checkNoSecrets(t *testing.T, err error, token string) {
	t.Helper()
	for _, seg := range strings.Split(token, ".") {
		if len(seg) >= 8 && strings.Contains(err.Error(), seg) {
			t.Fatalf("error %q contains a token segment", err)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func splitToken(s string) (h, p, sig string) {
	parts := strings.SplitN(s, ".", 3)
	return parts[0], parts[1], parts[2]
}

// flipTrailingBits changes the unused low bits of the last character, so
// the segment decodes (non-strictly) to the same bytes.
func flipTrailingBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}

// ecSig signs an ES256 token for kid "ec" and rewrites its signature.
func ecSig(t *testing.T, priv *ecdsa.PrivateKey, rewrite func([]byte) []byte) string {
	si := b64.EncodeToString([]byte(`{"alg":"ES256","kid":"ec"}`)) + "." + b64.EncodeToString([]byte(testPayload))
	return si + "." + b64.EncodeToString(rewrite(signBytes(t, ES256, priv, []byte(si), -1)))
}

// derSig re-encodes a raw r||s signature as an ASN.1 SEQUENCE of INTEGERs.
func derSig(sig []byte) []byte {
	integer := func(b []byte) []byte {
		b = bytes.TrimLeft(b, "\x00")
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{2, byte(len(b))}, b...)
	}
	body := append(integer(sig[:len(sig)/2]), integer(sig[len(sig)/2:])...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func signPSS(t *testing.T, priv *rsa.PrivateKey, salt int) string {
	si := b64.EncodeToString([]byte(`{"alg":"PS256","kid":"rsa"}`)) + "." + b64.EncodeToString([]byte(testPayload))
	return si + "." + b64.EncodeToString(signBytes(t, PS256, priv, []byte(si), salt))
}

// embeddedJWK is a token signed by an attacker who puts the matching
// public key in the header: it must not be used.
func embeddedJWK(t *testing.T) string {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	header := `{"alg":"EdDSA","jwk":` + string(jwkOf(t, pub, nil)) + `,"jku":"https://evil.example/jwks","x5u":"https://evil.example/cert"}`
	return signToken(t, EdDSA, priv, header, testPayload)
}

func TestVerifyKeySelection(t *testing.T) {
	var privs []*ecdsa.PrivateKey
	var keys []*Key
	for range 6 {
		priv := newEC(t, elliptic.P256())
		privs = append(privs, priv)
		keys = append(keys, &Key{Public: &priv.PublicKey})
	}
	v := NewVerifier(NewKeySet(keys...), Options{})
	sign := func(i int, header string) string { return signToken(t, ES256, privs[i], header, testPayload) }

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"no kid, first key", sign(0, `{"alg":"ES256"}`), nil},
		{"no kid, fourth key", sign(3, `{"alg":"ES256"}`), nil},
		{"no kid, fifth key is past the cap", sign(4, `{"alg":"ES256"}`), ErrSignature},
		{"kid given, keys have none", sign(0, `{"alg":"ES256","kid":"a"}`), ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify(tt.token); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("same kid on several keys", func(t *testing.T) {
		ks := NewKeySet(&Key{ID: "x", Public: &privs[0].PublicKey}, &Key{ID: "x", Public: &privs[1].PublicKey})
		if _, err := NewVerifier(ks, Options{}).Verify(sign(1, `{"alg":"ES256","kid":"x"}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("key set is a copy", func(t *testing.T) {
		secret := bytes.Repeat([]byte{1}, 32)
		key := &Key{ID: "h", Public: secret}
		ks := NewKeySet(key)
		token := signToken(t, HS256, secret, `{"alg":"HS256","kid":"h"}`, testPayload)
		key.ID, secret[0] = "changed", 2
		if _, err := NewVerifier(ks, Options{AllowHMAC: true}).Verify(token); err != nil {
			t.Fatalf("mutating the caller's key changed the set: %v", err)
		}
		got := ks.Lookup("h", HS256)
		got[0].ID = "mutated"
		got[0].Public.([]byte)[0] = 3
		if _, err := NewVerifier(ks, Options{AllowHMAC: true}).Verify(token); err != nil {
			t.Fatal("Lookup result aliases the set")
		}
	})
	t.Run("invalid keys are skipped", func(t *testing.T) {
		small := newRSA(t, 1024)
		ks := NewKeySet(nil,
			&Key{Public: &ecdsa.PublicKey{Curve: elliptic.P256()}},
			&Key{Public: &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}},
			&Key{Public: &ecdsa.PublicKey{Curve: elliptic.P224(), X: elliptic.P224().Params().Gx, Y: elliptic.P224().Params().Gy}},
			&Key{Public: &small.PublicKey},
			&Key{Public: &rsa.PublicKey{N: big.NewInt(3233), E: 0}},
			&Key{Public: ed25519.PublicKey(edSmallOrderY[3][:])},
			&Key{Public: make([]byte, 16)},
			&Key{Public: "secret"},
			&Key{Use: "enc", Public: &privs[0].PublicKey},
			&Key{Algorithm: RS256, Public: &privs[0].PublicKey},
			&Key{Public: &privs[0].PublicKey},
		)
		if ks.Len() != 1 || len(ks.Skipped()) != 11 {
			t.Fatalf("got %d keys, skipped %v", ks.Len(), ks.Skipped())
		}
		for _, err := range ks.Skipped() {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatal(err)
			}
		}
	})
	t.Run("nil key set", func(t *testing.T) {
		if _, err := NewVerifier(nil, Options{}).Verify(sign(0, `{"alg":"ES256"}`)); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestParse(t *testing.T) {
	k := newTestKeys(t)
	raw := signToken(t, ES256, k.ec256, `{"alg":"ES256","kid":"next-key","crit":["exp"],"exp":1}`, testPayload)
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header.KeyID != "next-key" || tok.Header.Algorithm != ES256 || len(tok.Header.Critical) != 1 {
		t.Fatalf("header %+v", tok.Header)
	}
	if _, err := Parse(raw + "x"); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("Parse of a bad signature segment: %v", err)
	}
	if _, err := Parse(strings.Repeat("a", DefaultMaxTokenSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
}
