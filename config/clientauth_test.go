package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClientAuthMethods(t *testing.T) {
	q, _ := json.Marshal(testKeyPEM(t))
	// private_key_jwt: the key, no secret.
	c := mustParse(t, with(t, `{"client":{"auth_method":"private_key_jwt","secret":"","private_key":`+string(q)+`}}`))
	if c.Client.AuthMethod != PrivateKeyJWT || c.Client.SigningKey == nil || c.Client.Secret != "" {
		t.Fatalf("private_key_jwt: %+v", c.Client)
	}
	// client_secret_jwt with a 32-byte secret.
	c = mustParse(t, with(t, `{"client":{"auth_method":"client_secret_jwt","secret":"0123456789abcdef0123456789abcdef"}}`))
	if c.Client.AuthMethod != ClientSecretJWT {
		t.Fatalf("client_secret_jwt: %+v", c.Client)
	}
	for _, tc := range []struct{ config, want string }{
		{`{"client":{"auth_method":"private_key_jwt","secret":""}}`, "client.private_key: required for auth_method private_key_jwt"},
		{`{"client":{"auth_method":"client_secret_jwt","secret":"short"}}`, "client.secret: client_secret_jwt (HS256) needs a secret of at least 32 bytes"},
		{`{"client":{"auth_method":"client_secret_jwt","secret":""}}`, "client.secret: required"},
		{`{"client":{"auth_method":"client_secret_basic","secret":"","private_key":` + string(q) + `}}`, "client.secret: required"},
	} {
		_, err := Parse(with(t, tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q, got %v", tc.config, tc.want, err)
		}
	}
}
