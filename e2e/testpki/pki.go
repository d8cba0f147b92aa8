// Package testpki is a throw-away certificate authority for end-to-end tests of mutual TLS:
// a CA and the server and client certificates it issues, written as PEM files (NAME.crt,
// NAME.key, PKCS #8) into a test's temporary directory, where Envoy and Keycloak read them.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// PKI is a CA whose files live in Dir; CAFile is its certificate.
type PKI struct {
	Dir    string
	CAFile string
	CA     *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

var serial atomic.Int64

// New makes a CA valid for a day, its files in dir (an existing directory).
func New(dir string) (*PKI, error) {
	p := &PKI{Dir: dir}
	var err error
	p.CA, p.caKey, err = p.issue("ca", &x509.Certificate{Subject: pkix.Name{CommonName: "e2e test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, true)
	p.CAFile = p.Path("ca.crt")
	return p, err
}

// Path is a file of the PKI's directory.
func (p *PKI) Path(name string) string { return filepath.Join(p.Dir, name) }

// Server issues NAME.crt for a TLS server at the loopback address.
func (p *PKI) Server(name string) (*x509.Certificate, error) {
	c, _, err := p.issue(name, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, false)
	return c, err
}

// Client issues NAME.crt, a TLS client certificate with subject CN=commonName.
func (p *PKI) Client(name, commonName string) (*x509.Certificate, error) {
	c, _, err := p.issue(name, &x509.Certificate{Subject: pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, false)
	return c, err
}

// Thumbprint is RFC 8705's x5t#S256 of a certificate: base64url of the SHA-256 of its DER.
func Thumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// issue makes a certificate from tmpl, signed by the CA (by its own key when self), valid
// from an hour ago for a day, and writes NAME.crt and NAME.key.
func (p *PKI) issue(name string, tmpl *x509.Certificate, self bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano() + serial.Add(1))
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	parent, parentKey := p.CA, p.caKey
	if self {
		parent, parentKey = tmpl, k
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(p.Path(name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(p.Path(name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, k, err
}
