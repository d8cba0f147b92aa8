package config

import (
	"slices"
	"strings"
	"testing"
)

// envOf is a lookup over a fixed environment.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

const (
	envClientSecret = "client-secret-from-the-environment"
	envKey          = "ZqIPG8Yl743hWnpJnBfsq3MsEw0l-tYY9LIU0mVIA2Z36j7BPcjsJEvyai5oV5nS" // 48 bytes
)

// TestParseWithEnvSecrets: secrets named by secret_env are read from the environment and
// land in the Config exactly as inline ones would.
func TestParseWithEnvSecrets(t *testing.T) {
	data := with(t, `{"client":{"secret":null,"secret_env":"OIDC_CLIENT_SECRET"},
		"keys":[{"id":"new","secret_env":"OIDC_KEY_NEW"},{"id":"old","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="}]}`)
	c, err := ParseWithEnv(data, envOf(map[string]string{"OIDC_CLIENT_SECRET": envClientSecret, "OIDC_KEY_NEW": envKey}))
	if err != nil {
		t.Fatalf("ParseWithEnv: %v", err)
	}
	if c.Client.Secret != envClientSecret || c.Client.SecretEnv != "OIDC_CLIENT_SECRET" {
		t.Errorf("client secret %q from %q", c.Client.Secret, c.Client.SecretEnv)
	}
	want, _ := decodeSecret(envKey)
	if len(c.Keys) != 2 || !slices.Equal(c.Keys[0].Secret, want) || c.Keys[0].SecretEnv != "OIDC_KEY_NEW" || c.Keys[1].SecretEnv != "" || len(c.Keys[1].Secret) != 32 {
		t.Errorf("keys %v", c.Keys)
	}
	// The secret from the environment counts for HMAC like an inline one.
	hmac := with(t, `{"client":{"secret":null,"secret_env":"S"},"jwt":{"allow_hmac":true}}`)
	if _, err := ParseWithEnv(hmac, envOf(map[string]string{"S": strings.Repeat("x", 31)})); err == nil || !strings.Contains(err.Error(), "jwt.allow_hmac: HS256 needs a client.secret of at least 32 bytes") {
		t.Errorf("short HMAC secret from the environment: %v", err)
	}
	if _, err := ParseWithEnv(hmac, envOf(map[string]string{"S": strings.Repeat("x", 32)})); err != nil {
		t.Errorf("long HMAC secret from the environment: %v", err)
	}
}

// TestParseWithEnvProblems: every way a secret_env can be wrong is a problem at its path that
// names the variable and never holds the value.
func TestParseWithEnvProblems(t *testing.T) {
	const leaked = "s3cr3t-value-must-not-appear"
	env := map[string]string{
		"EMPTY":     "",
		"SHORT_KEY": "MDEyMzQ1Njc4OWFiY2RlZg==", // 16 bytes
		"NOT_B64":   leaked + "!",
		"NEWLINE":   leaked + "\n",
		"HUGE":      strings.Repeat("a", 4097),
		"GOOD_KEY":  envKey,
	}
	tests := []struct {
		name, config, expectErr string
	}{
		{"both secret and secret_env", `{"client":{"secret_env":"GOOD_KEY"}}`, "client.secret_env: set exactly one of secret and secret_env"},
		{"neither", `{"client":{"secret":null}}`, "client.secret: required (for client_secret_basic, client_secret_post and client_secret_jwt); or name an environment variable holding it in secret_env"},
		{"client variable not set", `{"client":{"secret":null,"secret_env":"OIDC_CLIENT_SECRET"}}`, "client.secret_env: environment variable OIDC_CLIENT_SECRET is not set in the plugin's VM"},
		{"client variable empty", `{"client":{"secret":null,"secret_env":"EMPTY"}}`, "client.secret_env: environment variable EMPTY is empty"},
		{"client variable with a trailing newline", `{"client":{"secret":null,"secret_env":"NEWLINE"}}`, "client.secret_env: environment variable NEWLINE contains control characters (a trailing newline?)"},
		{"client variable too long", `{"client":{"secret":null,"secret_env":"HUGE"}}`, "client.secret_env: environment variable HUGE: too long (more than 4096 bytes)"},
		{"bad variable name", `{"client":{"secret":null,"secret_env":"OIDC-SECRET"}}`, "client.secret_env: must be an environment variable name: a C identifier"},
		{"name starting with a digit", `{"client":{"secret":null,"secret_env":"1SECRET"}}`, "client.secret_env: must be an environment variable name"},
		{"key with both", `{"keys":[{"id":"k1","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE=","secret_env":"GOOD_KEY"}]}`, "keys[0].secret_env: set exactly one of secret and secret_env"},
		{"key variable missing", `{"keys":[{"id":"k1","secret_env":"OIDC_KEY"}]}`, "keys[0].secret_env: environment variable OIDC_KEY is not set"},
		{"key too short", `{"keys":[{"id":"k1","secret_env":"SHORT_KEY"}]}`, "keys[0].secret_env: environment variable SHORT_KEY: decodes to 16 bytes, need at least 32"},
		{"key not base64", `{"keys":[{"id":"k1","secret_env":"NOT_B64"}]}`, "keys[0].secret_env: environment variable NOT_B64: must be base64"},
		{"key neither", `{"keys":[{"id":"k1"}]}`, "keys[0].secret: required; or name an environment variable holding it in secret_env"},
		{"second key", `{"keys":[{"id":"k1","secret":"VTqEc3pcA6FUq55WFYkShsvBJXsvJHBWmdHCJ41C1lE="},{"id":"k2","secret_env":"EMPTY"}]}`, "keys[1].secret_env: environment variable EMPTY is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWithEnv(with(t, tt.config), envOf(env))
			if err == nil {
				t.Fatalf("accepted; want %q", tt.expectErr)
			}
			found := false
			for _, line := range errLines(err) {
				found = found || strings.HasPrefix(line, tt.expectErr)
				if strings.Contains(line, leaked) || strings.Contains(line, envKey) {
					t.Errorf("a secret value is in the error: %s", line)
				}
			}
			if !found {
				t.Errorf("want %q among\n%v", tt.expectErr, err)
			}
		})
	}
}

// TestParseHasNoEnvironment: Parse is ParseWithEnv without an environment, whatever the
// process's environment holds.
func TestParseHasNoEnvironment(t *testing.T) {
	t.Setenv("OIDC_CLIENT_SECRET", envClientSecret)
	data := with(t, `{"client":{"secret":null,"secret_env":"OIDC_CLIENT_SECRET"}}`)
	for name, parse := range map[string]func([]byte) (*Config, error){
		"Parse":              Parse,
		"ParseWithEnv(nil)":  func(b []byte) (*Config, error) { return ParseWithEnv(b, nil) },
		"ParseWithEnv(none)": func(b []byte) (*Config, error) { return ParseWithEnv(b, envOf(nil)) },
	} {
		if _, err := parse(data); err == nil || !strings.Contains(err.Error(), "client.secret_env: environment variable OIDC_CLIENT_SECRET is not set") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
