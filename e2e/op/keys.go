package op

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// keyRing holds the signing keys: the newest signs, all are published until
// removed.
type keyRing struct {
	alg jose.SignatureAlgorithm

	mu   sync.Mutex
	keys []*signingKey // oldest first; the last one signs
}

// signingKey implements zitadel's op.SigningKey (private half) and, through
// publicKey, op.Key (public half).
type signingKey struct {
	kid     string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
}

func (k *signingKey) ID() string                                  { return k.kid }
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.private }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.kid }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.private.Public() }

func newKeyRing(alg jose.SignatureAlgorithm) (*keyRing, error) {
	r := &keyRing{alg: alg}
	if _, err := r.rotate(); err != nil {
		return nil, err
	}
	return r, nil
}

// rotate adds a new key with a new kid and makes it the signing key.
func (r *keyRing) rotate() (string, error) {
	priv, err := generateKey(r.alg)
	if err != nil {
		return "", err
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	k := &signingKey{kid: base64.RawURLEncoding.EncodeToString(id[:]), alg: r.alg, private: priv}
	r.mu.Lock()
	r.keys = append(r.keys, k)
	r.mu.Unlock()
	return k.kid, nil
}

// removeOld keeps only the signing key.
func (r *keyRing) removeOld() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = r.keys[len(r.keys)-1:]
}

func (r *keyRing) current() *signingKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[len(r.keys)-1]
}

func (r *keyRing) published() []zop.Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]zop.Key, len(r.keys))
	for i, k := range r.keys {
		out[i] = publicKey{k}
	}
	return out
}

// jwks returns the published keys as a JSON Web Key Set.
func (r *keyRing) jwks() jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for _, k := range r.published() {
		set.Keys = append(set.Keys, jose.JSONWebKey{KeyID: k.ID(), Algorithm: string(k.Algorithm()), Use: k.Use(), Key: k.Key()})
	}
	return set
}

func generateKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.RS256, jose.PS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("%w: no key type for %s", ErrConfig, alg)
}
