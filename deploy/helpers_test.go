package deploy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// repoFile reads a file given by its path from the repository root.
func repoFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlToJSON converts one YAML document to JSON. Duplicate keys are errors, as they are for
// Envoy's and Kubernetes' own YAML readers.
func yamlToJSON(doc []byte) ([]byte, error) {
	return yaml.YAMLToJSONStrict(doc)
}

// splitYAML splits a multi-document YAML stream at its "---" lines, dropping empty documents.
func splitYAML(b []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if bytes.Equal(bytes.TrimRight(line, " \r\n"), []byte("---")) {
			flush()
			continue
		}
		cur.Write(line)
	}
	flush()
	return docs
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
		}
	}
	return out.Bytes()
}

// unmarshalStrict reads JSON into m the way a control plane would: protojson rejects
// unknown fields, wrong types and "@type" URLs of messages it does not know.
func unmarshalStrict(js []byte, m proto.Message) error {
	return protojson.UnmarshalOptions{}.Unmarshal(js, m)
}

// validatorAll is implemented by messages generated with protoc-gen-validate.
type validatorAll interface{ ValidateAll() error }

// validateDeep runs ValidateAll on m and, since that stops at google.protobuf.Any, on every
// message packed in an Any anywhere below it (typed_config and friends).
func validateDeep(m proto.Message) error {
	var errs []error
	if v, ok := m.(validatorAll); ok {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, err)
		}
	}
	walkAnys(m.ProtoReflect(), func(a *anypb.Any) {
		inner, err := a.UnmarshalNew()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.GetTypeUrl(), err))
			return
		}
		if err := validateDeep(inner); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.GetTypeUrl(), err))
		}
	})
	return errors.Join(errs...)
}

// walkAnys calls f for each Any set in m's fields, at any depth, without descending into
// the Anys themselves.
func walkAnys(m protoreflect.Message, f func(*anypb.Any)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		visit := func(v protoreflect.Value) {
			msg := v.Message()
			if a, ok := msg.Interface().(*anypb.Any); ok {
				f(a)
				return
			}
			walkAnys(msg, f)
		}
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visit(l.Get(i))
			}
		case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				visit(mv)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Kind() == protoreflect.MessageKind:
			visit(v)
		}
		return true
	})
}

// vmEnv is the environment a proxy gives the plugin's VM: variables copied from the proxy's
// own environment (Envoy's host_env_keys, Istio's valueFrom: HOST) and literal ones
// (key_values, value).
type vmEnv struct {
	host    []string
	literal map[string]string
}

// hostEnvValue stands in for a variable the proxy copies from its own environment, set only
// at deploy time: 35 bytes, so it is a valid client secret and, as base64, a valid key.
var hostEnvValue = base64.StdEncoding.EncodeToString([]byte("placeholder for a host env variable"))

// lookup is the VM's os.LookupEnv.
func (e vmEnv) lookup(name string) (string, bool) {
	if v, ok := e.literal[name]; ok {
		return v, true
	}
	if slices.Contains(e.host, name) {
		return hostEnvValue, true
	}
	return "", false
}

// parsePlugin parses a plugin configuration in the VM environment env and reports every
// problem on its own line.
func parsePlugin(data []byte, env vmEnv) (*config.Config, error) {
	cfg, err := config.ParseWithEnv(data, env.lookup)
	if err != nil {
		var lines []string
		for _, fe := range config.FieldErrors(err) {
			lines = append(lines, fe.Error())
		}
		if len(lines) == 0 {
			lines = append(lines, err.Error())
		}
		return nil, fmt.Errorf("plugin configuration:\n  %s", strings.Join(lines, "\n  "))
	}
	return cfg, nil
}

// pluginClusters lists every Envoy cluster a plugin configuration makes callouts to.
func pluginClusters(cfg *config.Config) []string {
	seen := map[string]bool{}
	var out []string
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	add(cfg.Provider.Cluster)
	add(cfg.Provider.JWKSCluster)
	add(cfg.Provider.MTLSCluster)
	for _, b := range cfg.BearerIssuers {
		add(b.Cluster)
	}
	for _, r := range cfg.Routes {
		if r.Exchange != nil {
			add(r.Exchange.Cluster)
		}
	}
	return out
}

// placeholderSecrets fails the test when a committed plugin configuration holds something
// other than an obvious placeholder where a secret goes: real secrets never belong in the
// repository, and a reader must see at once what to replace. A secret named by secret_env
// must come from the proxy's environment, or be a placeholder where the file sets it.
func placeholderSecrets(t *testing.T, where string, pluginJSON []byte, env vmEnv) {
	t.Helper()
	var raw struct {
		Client struct {
			Secret     string
			SecretEnv  string `json:"secret_env"`
			AuthMethod string `json:"auth_method"`
		}
		Keys []struct {
			ID, Secret string
			SecretEnv  string `json:"secret_env"`
		}
	}
	if err := json.Unmarshal(pluginJSON, &raw); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	check := func(path, secret, secretEnv string) {
		switch v, literal := env.literal[secretEnv]; {
		case secretEnv == "" && !strings.Contains(secret, "REPLACE"):
			t.Errorf("%s: %s.secret is not a REPLACE placeholder", where, path)
		case secretEnv != "" && literal && !strings.Contains(v, "REPLACE"):
			t.Errorf("%s: %s.secret_env %s is set in the file to something other than a REPLACE placeholder", where, path, secretEnv)
		}
	}
	// The mutual-TLS methods need no client secret (the certificate is the credential).
	if m := raw.Client.AuthMethod; m != config.TLSClientAuth && m != config.SelfSignedTLSClientAuth || raw.Client.Secret != "" || raw.Client.SecretEnv != "" {
		check("client", raw.Client.Secret, raw.Client.SecretEnv)
	}
	if len(raw.Keys) == 0 {
		t.Errorf("%s: no keys", where)
	}
	for _, k := range raw.Keys {
		check("keys[id="+k.ID+"]", k.Secret, k.SecretEnv)
	}
}

// mutate returns src with old replaced by new exactly once; it fails the test if old does
// not occur exactly once, so a mutation can never silently be a no-op.
func mutate(t *testing.T, src []byte, old, new string) []byte {
	t.Helper()
	if n := bytes.Count(src, []byte(old)); n != 1 {
		t.Fatalf("mutation %q -> %q: %q occurs %d times, want 1", old, new, old, n)
	}
	return bytes.Replace(src, []byte(old), []byte(new), 1)
}
