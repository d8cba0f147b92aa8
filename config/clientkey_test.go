package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestClientSigningKey(t *testing.T) {
	keyPEM := testKeyPEM(t)
	q, _ := json.Marshal(keyPEM)
	inline := with(t, `{"client":{"private_key":`+string(q)+`,"key_id":"rp-1"}}`)
	c := mustParse(t, inline)
	if k := c.Client.SigningKey; k == nil || k.Algorithm != "ES256" || k.ID != "rp-1" || c.Client.SigningKeyEnv != "" {
		t.Fatalf("inline key: %+v", c.Client.SigningKey)
	}
	fromEnv := with(t, `{"client":{"private_key_env":"RP_KEY","signing_alg":"ES256"}}`)
	c, err := ParseWithEnv(fromEnv, envOf(map[string]string{"RP_KEY": keyPEM}))
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Client.SigningKey; k == nil || k.ID != k.Thumbprint() || c.Client.SigningKeyEnv != "RP_KEY" {
		t.Fatalf("env key: %+v", k)
	}
	if c := mustParse(t, with(t, `{}`)); c.Client.SigningKey != nil {
		t.Error("a key without configuration")
	}
	secretBits := strings.Split(keyPEM, "\n")[1][:20]
	for _, tc := range []struct{ config, env, want string }{
		{`{"client":{"private_key":` + string(q) + `,"private_key_env":"RP_KEY"}}`, keyPEM, "client.private_key_env: set at most one of private_key and private_key_env"},
		{`{"client":{"private_key_env":"RP_KEY"}}`, "", "client.private_key_env: environment variable RP_KEY is not set or empty"},
		{`{"client":{"private_key_env":"1X"}}`, "", "client.private_key_env: must be an environment variable name"},
		{`{"client":{"private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}`, "", "client.private_key: PEM PRIVATE KEY:"},
		{`{"client":{"private_key":"not a key"}}`, "", "client.private_key: neither PEM"},
		{`{"client":{"private_key_env":"RP_KEY","signing_alg":"RS256"}}`, keyPEM, "client.private_key_env: environment variable RP_KEY: alg RS256 does not fit this EC key"},
		{`{"client":{"private_key":` + string(q) + `,"signing_alg":"HS256"}}`, "", "client.signing_alg: must be one of RS256"},
		{`{"client":{"signing_alg":"ES256"}}`, "", "client.signing_alg: needs client.private_key or client.private_key_env"},
		{`{"client":{"key_id":"k"}}`, "", "client.key_id: needs client.private_key or client.private_key_env"},
	} {
		env := map[string]string{}
		if tc.env != "" {
			env["RP_KEY"] = tc.env
		}
		_, err := ParseWithEnv(with(t, tc.config), envOf(env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.config, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secretBits) {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

func certPEMFor(t *testing.T, keyPEM string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(keyPEM))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := k.(*ecdsa.PrivateKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestClientCertificateAndAudience: client.certificate binds the key to its certificate
// (thumbprints for the assertions' x5t); client.assertion_audience picks the aud; each
// mistake is named by its path.
func TestClientCertificateAndAudience(t *testing.T) {
	keyPEM := testKeyPEM(t)
	q, _ := json.Marshal(keyPEM)
	cert, _ := json.Marshal(certPEMFor(t, keyPEM))
	otherCert, _ := json.Marshal(certPEMFor(t, testKeyPEM(t)))
	c := mustParse(t, with(t, `{"client":{"auth_method":"private_key_jwt","secret":"","private_key":`+string(q)+`,"certificate":`+string(cert)+`,"assertion_audience":"endpoint"}}`))
	if x5t, s256 := c.Client.SigningKey.CertificateThumbprints(); x5t == "" || s256 == "" || c.Client.AssertionAudience != AudienceEndpoint {
		t.Fatalf("certificate not bound or audience %q", c.Client.AssertionAudience)
	}
	c = mustParse(t, with(t, `{"client":{"auth_method":"private_key_jwt","secret":"","private_key":`+string(q)+`}}`))
	if c.Client.AssertionAudience != AudienceIssuer {
		t.Errorf("default audience %q", c.Client.AssertionAudience)
	}
	chain := strings.Trim(string(cert), `"`) + strings.Trim(string(cert), `"`)
	for _, tc := range []struct{ config, want string }{
		{`{"client":{"auth_method":"private_key_jwt","secret":"","private_key":` + string(q) + `,"certificate":` + string(otherCert) + `}}`, "client.certificate: the certificate holds another public key than the private key"},
		{`{"client":{"auth_method":"private_key_jwt","secret":"","private_key":` + string(q) + `,"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}}`, "client.certificate: not an X.509 certificate"},
		{`{"client":{"auth_method":"private_key_jwt","secret":"","private_key":` + string(q) + `,"certificate":` + string(q) + `}}`, "client.certificate: must be one PEM CERTIFICATE block"},
		{`{"client":{"auth_method":"private_key_jwt","secret":"","private_key":` + string(q) + `,"certificate":"` + chain + `"}}`, "client.certificate: must be one PEM CERTIFICATE block: give the client's certificate only"},
		{`{"client":{"certificate":` + string(cert) + `}}`, "client.certificate: needs client.private_key"},
		{`{"client":{"auth_method":"private_key_jwt","secret":"","private_key":` + string(q) + `,"assertion_audience":"token"}}`, `client.assertion_audience: must be one of issuer, endpoint (not "token")`},
		{`{"client":{"assertion_audience":"endpoint"}}`, "client.assertion_audience: only for auth_method private_key_jwt or client_secret_jwt"},
	} {
		_, err := Parse(with(t, tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}
