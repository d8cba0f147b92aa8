package jwt

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // x5t is SHA-1 by definition (RFC 7515 4.1.7); it names, it does not protect
	"crypto/sha256"
	"fmt"
)

// maxCertificate bounds the DER certificate WithCertificate reads.
const maxCertificate = 16 << 10

// WithCertificate returns a copy of k bound to the X.509 certificate der
// (DER) that carries k's public key, as a provider registers a client's
// key (Microsoft Entra ID's certificate credentials). Signatures made with
// SignHeader.Certificate then name it by x5t and x5t#S256 (RFC 7515 4.1.7,
// 4.1.8). The certificate must hold k's public key; its validity period is
// the provider's business, not checked here. Not for HMAC keys.
func (k *SigningKey) WithCertificate(der []byte) (*SigningKey, error) {
	if k.signer == nil {
		return nil, fmt.Errorf("%w: an HMAC key has no certificate", ErrInvalidKey)
	}
	if len(der) > maxCertificate {
		return nil, fmt.Errorf("%w: certificate over %d bytes", ErrInvalidKey, maxCertificate)
	}
	key, err := certificatePublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not an X.509 certificate (%v)", ErrInvalidKey, err)
	}
	pub, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(k.signer.Public()) {
		return nil, fmt.Errorf("%w: the certificate holds another public key than the private key", ErrInvalidKey)
	}
	s1 := sha1.Sum(der) //nolint:gosec // see the import
	s256 := sha256.Sum256(der)
	c := *k
	c.x5t = b64.EncodeToString(s1[:])
	c.x5tS256 = b64.EncodeToString(s256[:])
	return &c, nil
}

// CertificateThumbprints returns the x5t and x5t#S256 of the certificate k
// is bound to (WithCertificate), or "" and "".
func (k *SigningKey) CertificateThumbprints() (x5t, x5tS256 string) { return k.x5t, k.x5tS256 }
