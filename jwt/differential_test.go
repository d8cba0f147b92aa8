package jwt

// A differential test against go-jose v4 (a test-only oracle; it is never
// linked into the plugin). Both libraries get the same public JWK and the
// same compact token; they must both accept (with the same payload) or both
// reject. Where this package is deliberately stricter or ignores something
// go-jose validates, the case is tagged with the documented reason and the
// results may differ; any other disagreement fails the test.
//
// Documented divergences (see also the package doc):
//   - non-canonical base64url: go-jose decodes segments leniently (non-zero
//     trailing bits, CR/LF skipped) and verifies the canonical re-encoding;
//     we accept exactly one spelling of each segment, so a token has one form.
//   - PSS salt length: go-jose verifies PS* with PSSSaltLengthAuto; RFC 7518
//     3.5 fixes the salt length to the hash length, and so do we.
//   - crit: go-jose implements the b64 extension (RFC 7797) and accepts an
//     empty or null crit; we implement no extension and reject any crit.
//   - payload: we require a JSON object (a JWT); go-jose verifies any bytes.
//   - header JSON: we reject invalid UTF-8 and nesting deeper than 32, cap
//     kid at 256 bytes, members at 32, and require typ to be a string.
//   - ignored header members: go-jose decodes every member and validates
//     jwk, x5c and nonce; we never read them (keys never come from tokens).
//   - keys: we refuse RSA under 2048 bits and honour a JWK's use and alg;
//     go-jose verifies with any key it can parse.
//   - alg Ed25519: RFC 9864's fully-specified name for EdDSA with Ed25519.
//     go-jose v4.1.8 knows only EdDSA and rejects the name; we accept it
//     as EdDSA. It has no view here, so these cases check that go-jose
//     accepts the same key and payload under EdDSA (see keyCases).

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	reasonBase64   = "non-canonical base64url"
	reasonPSS      = "PSS salt length other than the hash length"
	reasonCrit     = "crit (b64 extension, empty or null list)"
	reasonPayload  = "payload is not a JSON object"
	reasonHeader   = "header JSON stricter (UTF-8, depth, kid/members caps, typ type)"
	reasonIgnored  = "header members we ignore, go-jose validates (jwk, x5c, nonce, undecodable values)"
	reasonKeySize  = "RSA key under 2048 bits"
	reasonKeyUsage = "JWK use/alg restricts the key"
	reasonEd25519  = "alg Ed25519 (RFC 9864), unknown to go-jose v4.1.8"
)

// reasonErr is what our side of a documented divergence must look like:
// the sentinel we fail with, or nil where we accept and go-jose rejects.
var reasonErr = map[string][]error{
	reasonBase64:   {ErrMalformed},
	reasonPSS:      {ErrSignature},
	reasonCrit:     {ErrCrit},
	reasonPayload:  {ErrMalformed},
	reasonHeader:   {ErrMalformed},
	reasonIgnored:  {nil},
	reasonKeySize:  {ErrInvalidKey},
	reasonKeyUsage: {ErrInvalidKey, ErrKeyMismatch, ErrUnknownKey}, // at parse, or at selection
	reasonEd25519:  {nil},
}

// explained reports whether our error is the one the reason predicts.
func explained(reason string, err error) bool {
	for _, want := range reasonErr[reason] {
		if err == want || (want != nil && errors.Is(err, want)) {
			return true
		}
	}
	return false
}

var joseAlgs = func() (out []jose.SignatureAlgorithm) {
	for _, a := range allAlgs {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}()

type diffCase struct {
	name   string
	jwk    []byte
	token  string
	reason string // a documented reason results may differ; "" = must agree
	ours   *bool  // when set, whether we must accept
}

func accept(b bool) *bool { return &b }

func oursVerify(jwk []byte, token string) ([]byte, error) {
	key, err := ParseJWK(jwk)
	if err != nil {
		return nil, err
	}
	// Key selection by kid is tested elsewhere; here the key answers to
	// whatever kid the token names, as go-jose's single-key Verify does.
	key.ID = ""
	if t, err := parse(token, len(token), false); err == nil {
		key.ID = t.Header.KeyID
	}
	t, err := NewVerifier(NewKeySet(key), Options{AllowHMAC: true}).Verify(token)
	if err != nil {
		return nil, err
	}
	return t.Payload, nil
}

func joseVerify(jwk []byte, token string) ([]byte, error) {
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(jwk); err != nil {
		return nil, err
	}
	obj, err := jose.ParseSignedCompact(token, joseAlgs)
	if err != nil {
		return nil, err
	}
	return obj.Verify(&key)
}

// inferReason tags a token whose features we knowingly treat differently.
func inferReason(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	var dec [3][]byte
	strict := true
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p) // lenient, as go-jose
		if err != nil {
			return ""
		}
		dec[i] = b
		if _, err := b64.DecodeString(p); err != nil || strings.ContainsAny(p, "\r\n") {
			strict = false
		}
	}
	var hm map[string]json.RawMessage
	headerOK := json.Unmarshal(dec[0], &hm) == nil
	switch {
	case !strict:
		return reasonBase64
	case headerOK && hm["crit"] != nil:
		return reasonCrit
	case headerOK && ignoredMemberInvalid(hm):
		return reasonIgnored
	case headerOK && (!isJSONObject(dec[0]) || len(hm) > maxHeaderMembers || kidTooLong(hm) || typNotString(hm)):
		return reasonHeader
	case !isJSONObject(dec[1]):
		return reasonPayload
	case headerOK && string(hm["alg"]) == `"Ed25519"`:
		return reasonEd25519
	}
	return ""
}

func ignoredMemberInvalid(hm map[string]json.RawMessage) bool {
	for name, raw := range hm {
		var v any
		if name == "jwk" || name == "x5c" || name == "nonce" || json.Unmarshal(raw, &v) != nil {
			return true
		}
	}
	return false
}

func kidTooLong(hm map[string]json.RawMessage) bool {
	var kid string
	return json.Unmarshal(hm["kid"], &kid) == nil && len(kid) > maxKeyIDLen
}

func typNotString(hm map[string]json.RawMessage) bool {
	var typ string
	return hm["typ"] != nil && json.Unmarshal(hm["typ"], &typ) != nil
}

func TestDifferentialGoJose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7515, 8037))
	k := newTestKeys(t)
	other := newTestKeys(t)
	var cases []diffCase
	add := func(c diffCase) {
		if c.reason == "" {
			c.reason = inferReason(c.token)
		}
		cases = append(cases, c)
	}
	for _, alg := range allAlgs {
		cases = append(cases, algCases(t, rng, alg, k, other, add)...)
	}
	for _, c := range keyCases(t, k) {
		add(c)
	}

	agree, diverged := 0, map[string]int{}
	for _, c := range cases {
		ours, errOurs := oursVerify(c.jwk, c.token)
		theirs, errJose := joseVerify(c.jwk, c.token)
		okOurs, okJose := errOurs == nil, errJose == nil
		if c.ours != nil && okOurs != *c.ours {
			t.Errorf("%s: we accept = %v, want %v (err %v)", c.name, okOurs, *c.ours, errOurs)
		}
		switch {
		case okOurs == okJose && (!okOurs || bytes.Equal(ours, theirs)):
			agree++
		case c.reason != "" && explained(c.reason, errOurs):
			diverged[c.reason]++
		default:
			t.Errorf("%s: undocumented disagreement: ours %v, go-jose %v\ntoken %q\njwk %s", c.name, errOurs, errJose, c.token, c.jwk)
		}
	}
	reasons := make([]string, 0, len(diverged))
	for r := range diverged {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	t.Logf("%d cases, %d agreements, %d documented divergences", len(cases), agree, len(cases)-agree)
	for _, r := range reasons {
		t.Logf("  %4d  %s", diverged[r], r)
	}
}

// algCases generates tokens for one alg: valid ones from go-jose and from
// our helper, wrong keys, and mutations of every part.
func algCases(t *testing.T, rng *rand.Rand, alg Algorithm, k, other *testKeys, add func(diffCase)) []diffCase {
	priv := k.private(alg)
	jwk := jwkOf(t, publicOf(priv), map[string]any{"kid": "k1"})
	payload := `{"iss":"https://op.example","sub":"alice","aud":["client"],"exp":4102444800,"nonce":"n"}`

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	fromJose, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	name := func(s string) string { return string(alg) + ": " + s }
	add(diffCase{name: name("signed by go-jose"), jwk: jwk, token: fromJose, ours: accept(true)})

	header := `{"alg":"` + string(alg) + `","kid":"k1","typ":"JWT"}`
	resign := func(h, p string) string { return signToken(t, alg, priv, h, p) }
	valid := resign(header, payload)
	add(diffCase{name: name("signed here"), jwk: jwk, token: valid, ours: accept(true)})

	// Wrong keys: same type, and the next alg's key type.
	add(diffCase{name: name("other key"), jwk: jwkOf(t, publicOf(other.private(alg)), nil), token: valid, ours: accept(false)})
	for _, b := range allAlgs {
		if kty(b) != kty(alg) {
			add(diffCase{name: name("key for " + string(b)), jwk: jwkOf(t, publicOf(k.private(b)), nil), token: valid, ours: accept(false)})
		}
	}

	h, p, s := splitToken(valid)
	sig := mustDecodeT(t, s)
	// Signature bit flips, truncation, extension.
	for range 24 {
		bad := bytes.Clone(sig)
		i := rng.IntN(len(bad) * 8)
		bad[i/8] ^= 1 << (i % 8)
		add(diffCase{name: name("signature bit flipped"), jwk: jwk, token: h + "." + p + "." + b64.EncodeToString(bad), ours: accept(false)})
	}
	add(diffCase{name: name("signature truncated"), jwk: jwk, token: h + "." + p + "." + b64.EncodeToString(sig[:len(sig)-1]), ours: accept(false)})
	add(diffCase{name: name("signature extended"), jwk: jwk, token: h + "." + p + "." + b64.EncodeToString(append(bytes.Clone(sig), 0)), ours: accept(false)})
	add(diffCase{name: name("signature empty"), jwk: jwk, token: h + "." + p + ".", ours: accept(false)})

	// Characters of the compact form replaced, inserted or deleted.
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n\r"
	for range 48 {
		i := rng.IntN(len(valid))
		c := string(chars[rng.IntN(len(chars))])
		var m string
		switch rng.IntN(3) {
		case 0:
			m = valid[:i] + c + valid[i+1:]
		case 1:
			m = valid[:i] + c + valid[i:]
		default:
			m = valid[:i] + valid[i+1:]
		}
		if m != valid {
			add(diffCase{name: name("character mutated"), jwk: jwk, token: m})
		}
	}
	// The last character of each segment changed within its trailing bits.
	for _, seg := range []int{0, 1, 2} {
		parts := []string{h, p, s}
		parts[seg] = flipTrailingBits(parts[seg])
		add(diffCase{name: name("trailing bits"), jwk: jwk, token: strings.Join(parts, "."), ours: accept(false)})
	}

	// Header and payload bytes mutated, with and without re-signing.
	for range 16 {
		mh := mutateBytes(rng, header)
		add(diffCase{name: name("header mutated"), jwk: jwk, token: b64.EncodeToString([]byte(mh)) + "." + p + "." + s})
		add(diffCase{name: name("header mutated, re-signed"), jwk: jwk, token: resign(mh, payload)})
		mp := mutateBytes(rng, payload)
		if mp != payload {
			add(diffCase{name: name("payload mutated"), jwk: jwk, token: h + "." + b64.EncodeToString([]byte(mp)) + "." + s, ours: accept(false)})
		}
		add(diffCase{name: name("payload mutated, re-signed"), jwk: jwk, token: resign(header, mp)})
	}

	// Header rules, re-signed so that only the rule decides.
	a := string(alg)
	for _, hc := range []struct {
		name, header string
		ours         bool
	}{
		{"minimal header", `{"alg":"` + a + `"}`, true},
		{"unknown members", `{"alg":"` + a + `","x":{"y":[1,2,null]},"cty":"JWT","b64":true}`, true},
		{"whitespace", " {\r\n\"alg\" :\t\"" + a + "\" }\n", true},
		{"escaped alg value", `{"alg":"` + escapeAll(a) + `"}`, true},
		{"escaped member name", `{"\u0061lg":"` + a + `"}`, true},
		{"duplicate alg", `{"alg":"` + a + `","alg":"` + a + `"}`, false},
		{"duplicate alg, escaped", `{"alg":"` + a + `","\u0061lg":"` + a + `"}`, false},
		{"duplicate kid", `{"alg":"` + a + `","kid":"k1","kid":"k1"}`, false},
		{"no alg", `{"kid":"k1"}`, false},
		{"alg none", `{"alg":"none"}`, false},
		{"alg lower case", `{"alg":"` + strings.ToLower(a) + `"}`, false},
		{"alg number", `{"alg":256}`, false},
		{"kid number", `{"alg":"` + a + `","kid":1}`, false},
		{"header array", `["alg","` + a + `"]`, false},
		{"header trailing comma", `{"alg":"` + a + `",}`, false},
		{"crit exp", `{"alg":"` + a + `","crit":["exp"],"exp":1}`, false},
		{"crit b64 true", `{"alg":"` + a + `","crit":["b64"],"b64":true}`, false},
		{"crit empty", `{"alg":"` + a + `","crit":[]}`, false},
		{"crit null", `{"alg":"` + a + `","crit":null}`, false},
		{"typ number", `{"alg":"` + a + `","typ":1}`, false},
		{"kid too long", `{"alg":"` + a + `","kid":"` + strings.Repeat("k", maxKeyIDLen+1) + `"}`, false},
		{"invalid UTF-8", "{\"alg\":\"" + a + "\",\"x\":\"\xff\"}", false},
		{"nesting 40 deep", `{"alg":"` + a + `","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, false},
		{"jwk garbage", `{"alg":"` + a + `","jwk":{"kty":"none"}}`, true},
		{"x5c garbage", `{"alg":"` + a + `","x5c":["bm90IGEgY2VydA=="]}`, true},
		{"nonce number", `{"alg":"` + a + `","nonce":1}`, true},
		{"jku and x5u", `{"alg":"` + a + `","jku":"https://evil.example/jwks","x5u":"https://evil.example/x5u"}`, true},
	} {
		add(diffCase{name: name(hc.name), jwk: jwk, token: resign(hc.header, payload), ours: accept(hc.ours)})
	}
	for _, pc := range []struct {
		name, payload string
		ours          bool
	}{
		{"payload string", `"hello"`, false},
		{"payload array", `[1]`, false},
		{"payload empty", ``, false},
		{"payload invalid UTF-8", "{\"sub\":\"\xff\"}", false},
		{"payload duplicate claims", `{"sub":"a","sub":"b"}`, true}, // Claims rejects it, Verify does not
		{"payload empty object", `{}`, true},
	} {
		add(diffCase{name: name(pc.name), jwk: jwk, token: resign(header, pc.payload), ours: accept(pc.ours)})
	}

	switch lookupAlg(alg).family {
	case famPSS:
		for _, salt := range []int{0, 20, rsa.PSSSaltLengthAuto} {
			si := h + "." + p
			bad := signBytes(t, alg, priv, []byte(si), salt)
			add(diffCase{name: name("PSS salt"), jwk: jwk, token: si + "." + b64.EncodeToString(bad), reason: reasonPSS, ours: accept(false)})
		}
	case famECDSA:
		// (r, n-s) is also a valid ECDSA signature: both accept it.
		ec := priv.(*ecdsa.PrivateKey)
		size := lookupAlg(alg).size
		s2 := new(big.Int).Sub(ec.Curve.Params().N, new(big.Int).SetBytes(sig[size:]))
		high := bytes.Clone(sig)
		s2.FillBytes(high[size:])
		add(diffCase{name: name("high S"), jwk: jwk, token: h + "." + p + "." + b64.EncodeToString(high), ours: accept(true)})
		add(diffCase{name: name("ASN.1 signature"), jwk: jwk, token: h + "." + p + "." + b64.EncodeToString(derSigT(sig)), ours: accept(false)})
	}
	return nil
}

// keyCases vary the JWK: size, use, alg, HMAC length, small-order Ed25519.
func keyCases(t *testing.T, k *testKeys) []diffCase {
	small := newRSA(t, 1024)
	tok := func(alg Algorithm, priv any) string {
		return signToken(t, alg, priv, `{"alg":"`+string(alg)+`"}`, `{"sub":"alice"}`)
	}
	ed := k.ed.Public().(ed25519.PublicKey)
	edTok := func(alg string) string { return signToken(t, EdDSA, k.ed, `{"alg":"`+alg+`"}`, `{"sub":"alice"}`) }
	identity := ed25519.PublicKey(edSmallOrderY[1][:])
	forged := b64.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + b64.EncodeToString([]byte(`{"sub":"admin"}`)) + "." +
		b64.EncodeToString(append(bytes.Clone(edSmallOrderY[1][:]), make([]byte, 32)...))
	return []diffCase{
		{name: "RSA 1024", jwk: jwkOf(t, &small.PublicKey, nil), token: tok(RS256, small), reason: reasonKeySize, ours: accept(false)},
		{name: "use enc", jwk: jwkOf(t, &k.rsa.PublicKey, map[string]any{"use": "enc"}), token: tok(RS256, k.rsa), reason: reasonKeyUsage, ours: accept(false)},
		{name: "use sig", jwk: jwkOf(t, &k.rsa.PublicKey, map[string]any{"use": "sig"}), token: tok(RS256, k.rsa), ours: accept(true)},
		{name: "key alg RS256, token PS256", jwk: jwkOf(t, &k.rsa.PublicKey, map[string]any{"alg": "RS256"}), token: tok(PS256, k.rsa), reason: reasonKeyUsage, ours: accept(false)},
		{name: "key alg PS256, token PS256", jwk: jwkOf(t, &k.rsa.PublicKey, map[string]any{"alg": "PS256"}), token: tok(PS256, k.rsa), ours: accept(true)},
		{name: "HS256 key of 16 bytes", jwk: jwkOf(t, k.hmac[:16], nil), token: tok(HS256, k.hmac[:16]), ours: accept(false)},
		{name: "HS384 key of 40 bytes", jwk: jwkOf(t, k.hmac[:40], nil), token: tok(HS384, k.hmac[:40]), ours: accept(false)},
		{name: "HS512 key of 64 bytes", jwk: jwkOf(t, k.hmac, nil), token: tok(HS512, k.hmac), ours: accept(true)},
		{name: "Ed25519", jwk: jwkOf(t, ed, nil), token: tok(EdDSA, k.ed), ours: accept(true)},
		// RFC 9864: go-jose accepts each key below with the EdDSA token, we also with alg Ed25519.
		{name: "alg Ed25519", jwk: jwkOf(t, ed, nil), token: edTok("Ed25519"), ours: accept(true)},
		{name: "alg Ed25519, key alg EdDSA", jwk: jwkOf(t, ed, map[string]any{"alg": "EdDSA"}), token: edTok("Ed25519"), ours: accept(true)},
		{name: "alg EdDSA, key alg EdDSA", jwk: jwkOf(t, ed, map[string]any{"alg": "EdDSA"}), token: tok(EdDSA, k.ed), ours: accept(true)},
		{name: "alg Ed25519, wrong key", jwk: jwkOf(t, small.Public(), nil), token: edTok("Ed25519"), ours: accept(false)},
		{name: "alg Ed448", jwk: jwkOf(t, ed, nil), token: edTok("Ed448"), ours: accept(false)},
		{name: "Ed25519 identity key, forged signature", jwk: jwkOf(t, identity, nil), token: forged, ours: accept(false)},
		{name: "EC off curve", jwk: jwkOf(t, &k.ec256.PublicKey, map[string]any{"y": b64.EncodeToString(make([]byte, 32))}), token: tok(ES256, k.ec256), ours: accept(false)},
	}
}

// kty is the JWK key type an alg needs.
func kty(a Algorithm) string {
	switch lookupAlg(a).family {
	case famPKCS1, famPSS:
		return "RSA"
	case famECDSA:
		return "EC/" + lookupAlg(a).curveName()
	case famEdDSA:
		return "OKP"
	}
	return "oct"
}

// mutateBytes applies one to three random byte edits to s.
func mutateBytes(rng *rand.Rand, s string) string {
	b := []byte(s)
	for range 1 + rng.IntN(3) {
		i := rng.IntN(len(b))
		switch rng.IntN(4) {
		case 0:
			b[i] ^= 1 << rng.IntN(8)
		case 1:
			const pick = `{}[]":,\ aeklu0123456789`
			b[i] = pick[rng.IntN(len(pick))]
		case 2:
			b = append(b[:i], b[i+1:]...)
		default:
			b = append(b[:i], append([]byte{byte(rng.IntN(256))}, b[i:]...)...)
		}
		if len(b) == 0 {
			b = []byte("{")
		}
	}
	return string(b)
}

func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(`\u00`)
		b.WriteString(strings.ToUpper(string("0123456789abcdef"[r>>4]) + string("0123456789abcdef"[r&15])))
	}
	return b.String()
}

func mustDecodeT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func derSigT(sig []byte) []byte { return derSig(sig) }
