package config

import (
	"encoding/pem"
	"errors"
	"strings"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/jwt"
)

// clientKey reads the client's private signing key: PEM or a private JWK,
// inline in client.private_key or from the environment variable named by
// client.private_key_env (at most one of them; neither means no key), with
// client.signing_alg (default: from the key) and client.key_id (default: the
// JWK's kid, else the key's RFC 7638 thumbprint). Messages never quote the
// key.
func (v *validator) clientKey() (*jwt.SigningKey, string) {
	r := &v.r.Client
	material, at, from, ok := v.privateKey("client", r.PrivateKey, r.PrivateKeyEnv)
	if !ok {
		return nil, ""
	}
	if material == "" {
		for _, k := range []struct{ path, val string }{{"client.signing_alg", r.SigningAlg}, {"client.key_id", r.KeyID}} {
			if k.val != "" {
				v.add(k.path, "needs client.private_key or client.private_key_env")
			}
		}
		return nil, ""
	}
	if r.SigningAlg != "" {
		if _, ok := v.enum("client.signing_alg", r.SigningAlg, false, signingAlgs...); !ok {
			return nil, ""
		}
	}
	if r.KeyID != "" {
		if msg := checkText(r.KeyID, 256); msg != "" {
			v.add("client.key_id", "%s", msg)
			return nil, ""
		}
	}
	k, err := jwt.ParseSigningKey([]byte(material), jwt.Algorithm(r.SigningAlg), r.KeyID)
	if err != nil {
		v.add(at, "%s%s", from, keyMessage(err))
		return nil, ""
	}
	return k, r.PrivateKeyEnv
}

// signingAlgs are the algs a client key may sign with.
var signingAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

// clientCertificate binds the client key to client.certificate (PEM), the
// X.509 certificate the provider has registered for it: client assertions
// then name it by x5t and x5t#S256, as Entra ID's certificate credentials
// need. The certificate must hold the private key's public key.
func (v *validator) clientCertificate() {
	text := strings.TrimSpace(v.r.Client.Certificate)
	if text == "" {
		return
	}
	const at = "client.certificate"
	k := v.c.Client.SigningKey
	if k == nil {
		if v.r.Client.PrivateKey == "" && v.r.Client.PrivateKeyEnv == "" {
			v.add(at, "needs client.private_key or client.private_key_env (the certificate's private key)")
		}
		return
	}
	block, rest := pem.Decode([]byte(text))
	switch {
	case block == nil || block.Type != "CERTIFICATE":
		v.add(at, "must be one PEM CERTIFICATE block (-----BEGIN CERTIFICATE-----; newlines as \\n in JSON)")
		return
	case strings.TrimSpace(string(rest)) != "":
		v.add(at, "must be one PEM CERTIFICATE block: give the client's certificate only, not a chain")
		return
	}
	bound, err := k.WithCertificate(block.Bytes)
	if err != nil {
		v.add(at, "%s", keyMessage(err))
		return
	}
	v.c.Client.SigningKey = bound
}

// privateKey reads the key material of section's private_key or, by name,
// private_key_env (at most one; neither gives "" and ok). at is the path the
// material came from, from says so for messages about an environment
// variable's content. PEM's newlines are fine in a variable, so unlike
// secret it does not refuse control characters. Messages never quote the key.
func (v *validator) privateKey(section, inline, envName string) (material, at, from string, ok bool) {
	switch {
	case inline != "" && envName != "":
		v.add(section+".private_key_env", "set at most one of private_key and private_key_env")
		return "", "", "", false
	case inline != "":
		return inline, section + ".private_key", "", true
	case envName == "":
		return "", "", "", true
	}
	at = section + ".private_key_env"
	if !isEnvName(envName) {
		v.add(at, "must be an environment variable name: a C identifier ([A-Za-z_][A-Za-z0-9_]*) of at most %d bytes", maxEnvName)
		return "", "", "", false
	}
	var set bool
	if v.env != nil {
		material, set = v.env(envName)
	}
	if !set || material == "" {
		v.add(at, "environment variable %s is not set or empty in the plugin's VM (Envoy: vm_config.environment_variables; Istio: vmConfig.env)", envName)
		return "", "", "", false
	}
	return material, at, "environment variable " + envName + ": ", true
}

// keyMessage is jwt's description of a refused key without its sentinel's
// prefix. jwt's messages describe the key's shape, never its bytes.
func keyMessage(err error) string {
	msg := err.Error()
	for _, s := range []error{jwt.ErrInvalidKey, jwt.ErrAlgNotAllowed} {
		if p := s.Error() + ": "; errors.Is(err, s) && strings.HasPrefix(msg, p) {
			msg = msg[len(p):]
		}
	}
	return msg
}
