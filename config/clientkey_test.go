package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
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
