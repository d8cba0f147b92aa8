package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/tidwall/gjson"
)

// SigningKey is a key this relying party signs its own JWTs with: request
// objects (RFC 9101), client assertions (RFC 7523) and DPoP proofs (RFC
// 9449). It is immutable and safe for concurrent use. Build one with
// ParseSigningKey, GenerateSigningKey or NewHMACSigningKey.
type SigningKey struct {
	// ID is the kid written into headers ("" writes none).
	ID string
	// Algorithm is the alg every signature is made with.
	Algorithm Algorithm
	info      *algInfo
	signer    crypto.Signer // nil for HMAC
	secret    []byte        // HMAC only
	jwk       []byte        // the public JWK's RFC 7638 members, in their order
	// x5t and x5tS256 name the certificate the key is bound to
	// (WithCertificate): base64url SHA-1 and SHA-256 of its DER; "" for none.
	x5t, x5tS256 string
}

// ErrSigning: a signature could not be made (the random source failed).
var ErrSigning = errors.New("jwt: signing failed")

// maxKeyMaterial bounds the PEM or JWK text ParseSigningKey reads.
const maxKeyMaterial = 64 << 10

// ParseSigningKey reads a private key given as PEM (PKCS #8 "PRIVATE KEY",
// PKCS #1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"; encrypted PEM is
// refused) or as a private JWK (RSA with d, p and q; EC with d; OKP
// Ed25519 with d). RSA keys need 2048 to 8192 bits. alg "" picks RS256
// for RSA, ES256/ES384/ES512 by curve and EdDSA for Ed25519; otherwise alg
// must fit the key (RS*, PS* for RSA; the curve's ES*; EdDSA or Ed25519).
// kid "" takes the JWK's kid, else the key's RFC 7638 thumbprint.
func ParseSigningKey(material []byte, alg Algorithm, kid string) (*SigningKey, error) {
	if len(material) > maxKeyMaterial {
		return nil, fmt.Errorf("%w: key material over %d bytes", ErrInvalidKey, maxKeyMaterial)
	}
	text := strings.TrimSpace(string(material))
	var (
		signer crypto.Signer
		jwkKid string
		err    error
	)
	switch {
	case strings.HasPrefix(text, "{"):
		signer, jwkKid, err = privateJWK([]byte(text))
	case strings.HasPrefix(text, "-----BEGIN"):
		signer, err = privatePEM([]byte(text))
	default:
		err = fmt.Errorf("%w: neither PEM (-----BEGIN ...) nor a JWK ({...})", ErrInvalidKey)
	}
	if err != nil {
		return nil, err
	}
	if kid == "" {
		kid = jwkKid
	}
	return newSigningKey(signer, alg, kid)
}

// GenerateSigningKey makes a fresh key for alg (ES256, ES384, ES512,
// EdDSA/Ed25519, or an RS*/PS* alg with a 2048-bit key), such as a DPoP key.
// Its kid is its thumbprint.
func GenerateSigningKey(alg Algorithm, random io.Reader) (*SigningKey, error) {
	a := lookupAlg(alg)
	if a == nil {
		return nil, fmt.Errorf("%w: alg %s is not supported", ErrAlgNotAllowed, quote(string(alg)))
	}
	var (
		signer crypto.Signer
		err    error
	)
	switch a.family {
	case famECDSA:
		signer, err = ecdsa.GenerateKey(a.curve, random)
	case famEdDSA:
		_, signer, err = ed25519.GenerateKey(random)
	case famPKCS1, famPSS:
		signer, err = rsa.GenerateKey(random, minRSABits)
	default:
		return nil, fmt.Errorf("%w: alg %s needs a secret, not a generated key pair", ErrAlgNotAllowed, a.name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: generating a key: %v", ErrSigning, err)
	}
	return newSigningKey(signer, alg, "")
}

// NewHMACSigningKey makes an HS256/HS384/HS512 key from a shared secret
// (client_secret_jwt, RFC 7523 with OIDC Core 9), at least as long as the
// hash. It has no public JWK.
func NewHMACSigningKey(alg Algorithm, secret []byte) (*SigningKey, error) {
	a := lookupAlg(alg)
	if a == nil || a.family != famHMAC {
		return nil, fmt.Errorf("%w: %s is not an HMAC alg", ErrAlgNotAllowed, quote(string(alg)))
	}
	if len(secret) < a.hash.Size() {
		return nil, fmt.Errorf("%w: %s needs a secret of at least %d bytes", ErrInvalidKey, a.name, a.hash.Size())
	}
	return &SigningKey{Algorithm: a.name, info: a, secret: append([]byte(nil), secret...)}, nil
}

// ParsePKCS8 reads back a key written by MarshalPKCS8 (such as a generated
// DPoP key shared between VMs), with the given alg and its thumbprint as kid.
func ParsePKCS8(der []byte, alg Algorithm) (*SigningKey, error) {
	signer, err := parsePKCS8(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS #8: %v", ErrInvalidKey, err)
	}
	return newSigningKey(signer, alg, "")
}

// MarshalPKCS8 returns the private key as PKCS #8 DER. It is a secret.
func (k *SigningKey) MarshalPKCS8() ([]byte, error) {
	if k.signer == nil {
		return nil, fmt.Errorf("%w: an HMAC key has no PKCS #8 form", ErrInvalidKey)
	}
	return marshalPKCS8(k.signer)
}

func newSigningKey(signer crypto.Signer, alg Algorithm, kid string) (*SigningKey, error) {
	f, err := fieldsOf(signer.Public())
	if err != nil {
		return nil, err
	}
	var want family
	switch f.kty {
	case "RSA":
		want = famPKCS1
	case "EC":
		want = famECDSA
	case "OKP":
		want = famEdDSA
	default:
		return nil, fmt.Errorf("%w: unsupported private key type %T", ErrInvalidKey, signer)
	}
	// The public half goes through the JWK rules (sizes, curve, weak keys).
	if _, err := f.publicKey("verify"); err != nil {
		return nil, err
	}
	a, err := signingAlg(alg, want, &f)
	if err != nil {
		return nil, err
	}
	k := &SigningKey{Algorithm: a.name, info: a, signer: signer, jwk: f.thumbprintJSON()}
	if kid == "" {
		kid = k.Thumbprint()
	}
	if len(kid) > maxKeyIDLen || !printable(kid) {
		return nil, fmt.Errorf("%w: kid must be 1 to %d printable ASCII characters", ErrInvalidKey, maxKeyIDLen)
	}
	k.ID = kid
	return k, nil
}

// signingAlg resolves alg for a key of family want (famPKCS1 stands for any
// RSA alg) and, for ECDSA, the curve of f.
func signingAlg(alg Algorithm, want family, f *jwkFields) (*algInfo, error) {
	if alg == "" {
		switch want {
		case famPKCS1:
			alg = RS256
		case famEdDSA:
			alg = EdDSA
		default:
			for i := range algTable {
				if algTable[i].family == famECDSA && algTable[i].curveName() == f.crv {
					alg = algTable[i].name
				}
			}
		}
	}
	a := lookupAlg(alg)
	if a == nil {
		return nil, fmt.Errorf("%w: alg %s is not supported", ErrAlgNotAllowed, quote(string(alg)))
	}
	fits := a.family == want || (want == famPKCS1 && a.family == famPSS)
	if a.family == famECDSA {
		fits = fits && a.curveName() == f.crv
	}
	if !fits {
		return nil, fmt.Errorf("%w: alg %s does not fit this %s key", ErrInvalidKey, a.name, f.kty)
	}
	return a, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}

// thumbprintJSON is the JWK with exactly the members RFC 7638 section 3.2
// hashes, in lexicographic order: also a valid public JWK to embed.
func (f *jwkFields) thumbprintJSON() []byte {
	var s string
	switch f.kty {
	case "RSA":
		s = `{"e":"` + f.e + `","kty":"RSA","n":"` + f.n + `"}`
	case "EC":
		s = `{"crv":"` + f.crv + `","kty":"EC","x":"` + f.x + `","y":"` + f.y + `"}`
	default:
		s = `{"crv":"` + f.crv + `","kty":"OKP","x":"` + f.x + `"}`
	}
	return []byte(s)
}

// PublicJWK returns the public key as a JWK with only its required members
// (what a DPoP proof's jwk header holds); nil for HMAC keys.
func (k *SigningKey) PublicJWK() []byte { return append([]byte(nil), k.jwk...) }

// PublicJWKS returns a JWK Set holding the public key with its kid, alg and
// use "sig", for a provider to register (a client's jwks or jwks_uri).
func (k *SigningKey) PublicJWKS() []byte {
	if k.jwk == nil {
		return []byte(`{"keys":[]}`)
	}
	members := k.jwk[1 : len(k.jwk)-1]
	return []byte(`{"keys":[{"alg":"` + string(k.Algorithm) + `","kid":"` + k.ID + `","use":"sig",` + string(members) + `}]}`)
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key,
// base64url without padding ("" for HMAC keys): DPoP's jkt.
func (k *SigningKey) Thumbprint() string {
	if k.jwk == nil {
		return ""
	}
	sum := sha256.Sum256(k.jwk)
	return b64.EncodeToString(sum[:])
}

// SignHeader is what Sign writes into the JOSE header besides alg.
type SignHeader struct {
	Type     string // typ, such as "dpop+jwt" or "oauth-authz-req+jwt"; "" for none
	NoKeyID  bool   // leave out kid
	EmbedJWK bool   // write the public key as jwk (DPoP); implies NoKeyID
	// Certificate writes x5t and x5t#S256 of the key's certificate, when
	// it has one (WithCertificate): client assertions for Entra ID.
	Certificate bool
}

// Sign returns the compact JWS of payload (a JSON object, written as is)
// under a header of alg and h. random feeds the RSA-PSS salt and ECDSA.
func (k *SigningKey) Sign(h SignHeader, payload []byte, random io.Reader) (string, error) {
	if !printable(h.Type) {
		return "", fmt.Errorf("%w: typ must be printable ASCII", ErrSigning)
	}
	hdr := `{"alg":"` + string(k.Algorithm) + `"`
	if h.Type != "" {
		hdr += `,"typ":"` + h.Type + `"`
	}
	switch {
	case h.EmbedJWK && k.jwk != nil:
		hdr += `,"jwk":` + string(k.jwk)
	case !h.NoKeyID && !h.EmbedJWK && k.ID != "":
		hdr += `,"kid":"` + k.ID + `"`
	}
	if h.Certificate && !h.EmbedJWK && k.x5tS256 != "" {
		hdr += `,"x5t":"` + k.x5t + `","x5t#S256":"` + k.x5tS256 + `"`
	}
	hdr += "}"
	input := make([]byte, 0, b64.EncodedLen(len(hdr))+1+b64.EncodedLen(len(payload)))
	input = b64.AppendEncode(input, []byte(hdr))
	input = append(input, '.')
	input = b64.AppendEncode(input, payload)
	sig, err := k.signature(input, random)
	if err != nil {
		return "", err
	}
	out := append(input, '.')
	return string(b64.AppendEncode(out, sig)), nil
}

func (k *SigningKey) signature(input []byte, random io.Reader) ([]byte, error) {
	a := k.info
	if a.family == famHMAC {
		m := hmac.New(a.hash.New, k.secret)
		m.Write(input)
		return m.Sum(nil), nil
	}
	var digest [sha512.Size]byte
	hashed := hashInput(a, input, &digest)
	var (
		sig []byte
		err error
	)
	switch a.family {
	case famPKCS1:
		sig, err = rsa.SignPKCS1v15(random, k.signer.(*rsa.PrivateKey), a.hash, hashed)
	case famPSS:
		sig, err = rsa.SignPSS(random, k.signer.(*rsa.PrivateKey), a.hash, hashed, pssOptions)
	case famECDSA:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(random, k.signer.(*ecdsa.PrivateKey), hashed)
		if err == nil {
			sig = make([]byte, 2*a.size)
			r.FillBytes(sig[:a.size])
			s.FillBytes(sig[a.size:])
		}
	case famEdDSA:
		sig = ed25519.Sign(k.signer.(ed25519.PrivateKey), input)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigning, err)
	}
	return sig, nil
}

func privatePEM(text []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(text)
	if block == nil {
		return nil, fmt.Errorf("%w: PEM does not decode", ErrInvalidKey)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: more than one PEM block (give only the private key)", ErrInvalidKey)
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%w: encrypted PEM is not supported (give the key unencrypted, from a secret)", ErrInvalidKey)
	}
	var (
		k   crypto.Signer
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		k, err = parsePKCS8(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = parsePKCS1(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = parseSEC1("", block.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %s is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", ErrInvalidKey, quote(block.Type))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: PEM %s: %v", ErrInvalidKey, block.Type, err)
	}
	return k, nil
}

// privateJWK reads a private JWK; its public members must match the private
// ones.
func privateJWK(data []byte) (crypto.Signer, string, error) {
	if !gjson.ValidBytes(data) || !isJSONObject(data) {
		return nil, "", fmt.Errorf("%w: the JWK is not a valid JSON object", ErrInvalidKey)
	}
	var f jwkFields
	if err := eachMember(gjson.ParseBytes(data), maxJWKMembers, f.read); err != nil {
		return nil, "", memberError(err, ErrInvalidKey, "member", maxJWKMembers)
	}
	switch {
	case f.oth:
		return nil, "", fmt.Errorf("%w: multi-prime RSA (oth) is not supported", ErrInvalidKey)
	case f.d == "":
		return nil, "", fmt.Errorf("%w: the JWK has no private part (d)", ErrInvalidKey)
	}
	pub, err := f.publicKey("sign")
	if err != nil {
		return nil, "", err
	}
	d, err := decodeField("d", f.d)
	if err != nil {
		return nil, "", err
	}
	var signer crypto.Signer
	switch p := pub.Public.(type) {
	case *rsa.PublicKey:
		signer, err = rsaPrivate(&f, p, d)
	case *ecdsa.PublicKey:
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.ParseRawPrivateKey(p.Curve, d); err == nil && !k.PublicKey.Equal(p) {
			err = errors.New("d does not match x and y")
		}
		signer = k
	case ed25519.PublicKey:
		if len(d) != ed25519.SeedSize {
			err = fmt.Errorf("Ed25519 d must be %d bytes", ed25519.SeedSize)
			break
		}
		k := ed25519.NewKeyFromSeed(d)
		if !k.Public().(ed25519.PublicKey).Equal(p) {
			err = errors.New("d does not match x")
		}
		signer = k
	default:
		err = errors.New("a symmetric key is not a private key (use the client secret)")
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return signer, f.kid, nil
}

func rsaPrivate(f *jwkFields, pub *rsa.PublicKey, d []byte) (*rsa.PrivateKey, error) {
	if f.p == "" || f.q == "" {
		return nil, errors.New("an RSA JWK needs p and q besides d")
	}
	p, err := decodeField("p", f.p)
	if err != nil {
		return nil, err
	}
	q, err := decodeField("q", f.q)
	if err != nil {
		return nil, err
	}
	k := &rsa.PrivateKey{PublicKey: *pub, D: new(big.Int).SetBytes(d),
		Primes: []*big.Int{new(big.Int).SetBytes(p), new(big.Int).SetBytes(q)}}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("the RSA key does not hold together: %v", err)
	}
	k.Precompute()
	return k, nil
}

// String describes k without its secret parts (for %v and %+v alike).
func (k *SigningKey) String() string {
	return fmt.Sprintf("jwt.SigningKey{ID:%s Algorithm:%s}", k.ID, k.Algorithm)
}

// GoString describes k without its secret parts (for %#v).
func (k *SigningKey) GoString() string { return k.String() }
