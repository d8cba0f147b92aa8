package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	extv1alpha1 "istio.io/api/extensions/v1alpha1"
	netv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// istioKinds are the resources deploy/istio/ may hold, with Istio's API type for their
// spec. networking.istio.io/v1 is the same API as v1alpha3.
var istioKinds = map[string]func() proto.Message{
	"extensions.istio.io/v1alpha1/WasmPlugin":  func() proto.Message { return &extv1alpha1.WasmPlugin{} },
	"networking.istio.io/v1/ServiceEntry":      func() proto.Message { return &netv1alpha3.ServiceEntry{} },
	"networking.istio.io/v1/DestinationRule":   func() proto.Message { return &netv1alpha3.DestinationRule{} },
	"networking.istio.io/v1beta1/ServiceEntry": func() proto.Message { return &netv1alpha3.ServiceEntry{} },
}

// k8sObject is a Kubernetes object as written in a manifest.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec json.RawMessage `json:"spec"`
}

type istioObject struct {
	k8sObject
	spec proto.Message
	file string
}

// istioSetup is what loadIstio found in a set of manifests.
type istioSetup struct {
	objects    []istioObject
	plugin     *extv1alpha1.WasmPlugin
	pluginJSON []byte
	env        vmEnv
	cfg        *config.Config
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// loadIstio reads manifests (file name -> YAML) the way the API server and Istio would:
// known kinds only, strict fields in camelCase, Istio's API definitions for each spec; then
// it parses the WasmPlugin's pluginConfig as Istio hands it to the plugin (JSON), and checks
// that the clusters the plugin calls exist and open TLS to the right host.
func loadIstio(files map[string][]byte) (*istioSetup, error) {
	s := &istioSetup{}
	var errs []error
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		for i, doc := range splitYAML(files[name]) {
			o, err := readIstioObject(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", name, i+1, err))
				continue
			}
			o.file = name
			s.objects = append(s.objects, o)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, o := range s.objects {
		if wp, ok := o.spec.(*extv1alpha1.WasmPlugin); ok {
			if s.plugin != nil {
				return nil, errors.New("more than one WasmPlugin")
			}
			s.plugin = wp
		}
	}
	if s.plugin == nil {
		return nil, errors.New("no WasmPlugin")
	}
	if err := checkWasmPlugin(s.plugin); err != nil {
		return nil, err
	}
	var err error
	// Istio passes pluginConfig to Envoy as the JSON encoding of the Struct.
	if s.pluginJSON, err = protojson.Marshal(s.plugin.GetPluginConfig()); err != nil {
		return nil, err
	}
	s.env = vmEnv{literal: map[string]string{}}
	for _, e := range s.plugin.GetVmConfig().GetEnv() {
		if e.GetValueFrom() == extv1alpha1.EnvValueSource_HOST {
			s.env.host = append(s.env.host, e.GetName())
		} else {
			s.env.literal[e.GetName()] = e.GetValue()
		}
	}
	if s.cfg, err = parsePlugin(s.pluginJSON, s.env); err != nil {
		return nil, err
	}
	return s, checkIstioClusters(s)
}

func readIstioObject(doc []byte) (istioObject, error) {
	var o istioObject
	js, err := yamlToJSON(doc)
	if err != nil {
		return o, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o.k8sObject); err != nil {
		return o, err
	}
	key := o.APIVersion + "/" + o.Kind
	newSpec, ok := istioKinds[key]
	if !ok {
		return o, fmt.Errorf("unknown kind %s", key)
	}
	if !dns1123.MatchString(o.Metadata.Name) || len(o.Metadata.Name) > 63 {
		return o, fmt.Errorf("%s: metadata.name %q is not a DNS-1123 label", o.Kind, o.Metadata.Name)
	}
	if !dns1123.MatchString(o.Metadata.Namespace) {
		return o, fmt.Errorf("%s %s: metadata.namespace %q: set a namespace explicitly", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
	}
	if len(o.Spec) == 0 {
		return o, fmt.Errorf("%s %s: no spec", o.Kind, o.Metadata.Name)
	}
	o.spec = newSpec()
	if err := unmarshalStrict(o.Spec, o.spec); err != nil {
		return o, fmt.Errorf("%s %s: spec: %w", o.Kind, o.Metadata.Name, err)
	}
	// The API server only knows the camelCase names; protojson also took snake_case.
	var raw any
	if err := json.Unmarshal(o.Spec, &raw); err != nil {
		return o, err
	}
	if p := snakeKey(raw, "spec"); p != "" {
		return o, fmt.Errorf("%s %s: %s: Kubernetes field names are camelCase", o.Kind, o.Metadata.Name, p)
	}
	return o, nil
}

// snakeKey returns the path of the first key holding "_" outside pluginConfig (whose keys
// are the plugin's own, in snake_case), or "".
func snakeKey(v any, path string) string {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k == "pluginConfig" && path == "spec" {
				continue
			}
			if strings.Contains(k, "_") {
				return path + "." + k
			}
			if p := snakeKey(v[k], path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range v {
			if p := snakeKey(e, path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

func checkWasmPlugin(wp *extv1alpha1.WasmPlugin) error {
	var errs []error
	if !strings.HasPrefix(wp.GetUrl(), "oci://") {
		errs = append(errs, fmt.Errorf("url %q: want an oci:// image (make image)", wp.GetUrl()))
	}
	if wp.GetPhase() != extv1alpha1.PluginPhase_AUTHN {
		errs = append(errs, fmt.Errorf("phase is %v, want AUTHN: authentication must run before Istio's authorization", wp.GetPhase()))
	}
	if wp.GetFailStrategy() != extv1alpha1.FailStrategy_FAIL_CLOSE {
		errs = append(errs, fmt.Errorf("failStrategy is %v: an authentication filter must fail closed", wp.GetFailStrategy()))
	}
	if len(wp.GetSelector().GetMatchLabels()) == 0 && len(wp.GetTargetRefs()) == 0 && wp.GetTargetRef() == nil {
		errs = append(errs, errors.New("no selector or targetRefs: the plugin would apply to every workload in the namespace"))
	}
	if wp.GetPluginConfig() == nil {
		errs = append(errs, errors.New("no pluginConfig"))
	}
	if wp.GetType() != extv1alpha1.PluginType_HTTP {
		errs = append(errs, fmt.Errorf("type is %v, want HTTP", wp.GetType()))
	}
	return errors.Join(errs...)
}

// istioCluster matches Istio's outbound cluster names: outbound|port|subset|host.
var istioCluster = regexp.MustCompile(`^outbound\|([0-9]+)\|([^|]*)\|([^|]+)$`)

// checkIstioClusters checks that each cluster the plugin calls comes from a ServiceEntry
// port declared as HTTP, that a DestinationRule makes that port open TLS with the host's
// name checked, and that discovery goes to the cluster's host.
func checkIstioClusters(s *istioSetup) error {
	var errs []error
	for _, c := range pluginClusters(s.cfg) {
		m := istioCluster.FindStringSubmatch(c)
		if m == nil {
			errs = append(errs, fmt.Errorf("cluster %q is not an Istio outbound cluster (outbound|port||host)", c))
			continue
		}
		port, _ := strconv.Atoi(m[1])
		if err := checkIstioHost(s, m[3], uint32(port)); err != nil {
			errs = append(errs, fmt.Errorf("cluster %q: %w", c, err))
		}
	}
	if p := s.cfg.Provider; p.Discovery {
		host := p.Authority
		if host == "" {
			host = hostOf(p.Issuer)
		}
		if m := istioCluster.FindStringSubmatch(p.Cluster); m != nil && m[3] != host {
			errs = append(errs, fmt.Errorf("cluster %q goes to %q, but discovery calls %q", p.Cluster, m[3], host))
		}
	}
	return errors.Join(errs...)
}

func checkIstioHost(s *istioSetup, host string, port uint32) error {
	var se *netv1alpha3.ServiceEntry
	var dr *netv1alpha3.DestinationRule
	for _, o := range s.objects {
		switch spec := o.spec.(type) {
		case *netv1alpha3.ServiceEntry:
			if slices.Contains(spec.GetHosts(), host) {
				se = spec
			}
		case *netv1alpha3.DestinationRule:
			if spec.GetHost() == host {
				dr = spec
			}
		}
	}
	if se == nil {
		return fmt.Errorf("no ServiceEntry for %s", host)
	}
	var sp *netv1alpha3.ServicePort
	for _, p := range se.GetPorts() {
		if p.GetNumber() == port {
			sp = p
		}
	}
	switch {
	case sp == nil:
		return fmt.Errorf("the ServiceEntry for %s has no port %d", host, port)
	case sp.GetProtocol() != "HTTP":
		return fmt.Errorf("port %d of %s is %q: the plugin's callouts are HTTP, the cluster adds the TLS", port, host, sp.GetProtocol())
	case se.GetResolution() != netv1alpha3.ServiceEntry_DNS:
		return fmt.Errorf("the ServiceEntry for %s resolves by %v, want DNS", host, se.GetResolution())
	case dr == nil:
		return fmt.Errorf("no DestinationRule for %s: the callouts would go out unencrypted", host)
	}
	var tls *netv1alpha3.ClientTLSSettings
	for _, pl := range dr.GetTrafficPolicy().GetPortLevelSettings() {
		if pl.GetPort().GetNumber() == port {
			tls = pl.GetTls()
		}
	}
	var errs []error
	if tls.GetMode() != netv1alpha3.ClientTLSSettings_SIMPLE {
		errs = append(errs, fmt.Errorf("the DestinationRule for %s does not open TLS (mode SIMPLE) on port %d", host, port))
	}
	if tls.GetSni() != host {
		errs = append(errs, fmt.Errorf("the DestinationRule's sni for port %d is %q, want %q", port, tls.GetSni(), host))
	}
	if !slices.Contains(tls.GetSubjectAltNames(), host) {
		errs = append(errs, fmt.Errorf("the DestinationRule does not check the certificate for %q", host))
	}
	if tls.GetInsecureSkipVerify().GetValue() {
		errs = append(errs, errors.New("the DestinationRule skips certificate verification"))
	}
	return errors.Join(errs...)
}

func istioFiles(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("istio", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in deploy/istio: %v", err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

func TestIstioManifests(t *testing.T) {
	s, err := loadIstio(istioFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	placeholderSecrets(t, "deploy/istio/wasmplugin.yaml", s.pluginJSON, s.env)
	// The secrets come from the gateway's environment, not from the WasmPlugin.
	if s.cfg.Client.SecretEnv == "" || !slices.Contains(s.env.host, s.cfg.Client.SecretEnv) {
		t.Errorf("client secret: want client.secret_env naming a vmConfig.env variable with valueFrom: HOST (%q)", s.env.host)
	}
	for _, k := range s.cfg.Keys {
		if k.SecretEnv == "" || !slices.Contains(s.env.host, k.SecretEnv) {
			t.Errorf("key %s: want keys[].secret_env naming a vmConfig.env variable with valueFrom: HOST (%q)", k.ID, s.env.host)
		}
	}
	if s.cfg.Provider.InsecureAllowHTTP || !s.cfg.Cookie.Secure {
		t.Error("the example must not use insecure_allow_http or cookies without Secure")
	}
	kinds := map[string]int{}
	for _, o := range s.objects {
		kinds[o.Kind]++
	}
	for _, k := range []string{"WasmPlugin", "ServiceEntry", "DestinationRule"} {
		if kinds[k] == 0 {
			t.Errorf("deploy/istio has no %s", k)
		}
	}
}

// TestIstioAndEnvoyAgree keeps the two examples one configuration: the same plugin settings,
// apart from the cluster names, which Istio chooses, and endpoints.allow_on_headers_stop_iteration,
// which pairs with an Envoy field that Istio's WasmPlugin cannot set (envoy.yaml sets both; the
// Istio example neither); and the same environment variables.
func TestIstioAndEnvoyAgree(t *testing.T) {
	is, err := loadIstio(istioFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	es, err := loadEnvoy(repoFile(t, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := withoutCluster(t, is.pluginJSON), withoutCluster(t, es.pluginJSON)
	if held := endpointsHold(a); held {
		t.Error("the Istio example sets endpoints.allow_on_headers_stop_iteration, but a WasmPlugin cannot set Envoy's allow_on_headers_stop_iteration")
	}
	if held := endpointsHold(b); !held {
		t.Error("envoy.yaml lacks endpoints.allow_on_headers_stop_iteration, which pairs with its Wasm filter's allow_on_headers_stop_iteration")
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the plugin configurations differ:\nistio: %v\nenvoy: %v", a, b)
	}
	if a, b := slices.Sorted(slices.Values(is.env.host)), slices.Sorted(slices.Values(es.env.host)); !slices.Equal(a, b) {
		t.Errorf("the VMs get different environment variables from their proxy:\nistio: %q\nenvoy: %q", a, b)
	}
}

// withoutCluster decodes a plugin configuration and drops provider.cluster.
func withoutCluster(t *testing.T, pluginJSON []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(pluginJSON, &m); err != nil {
		t.Fatal(err)
	}
	if p, ok := m["provider"].(map[string]any); ok {
		delete(p, "cluster")
	}
	return m
}

// endpointsHold takes endpoints.allow_on_headers_stop_iteration out of a decoded plugin
// configuration (and endpoints, when that was all of it) and reports whether it was true.
func endpointsHold(m map[string]any) bool {
	e, ok := m["endpoints"].(map[string]any)
	if !ok {
		return false
	}
	held, _ := e["allow_on_headers_stop_iteration"].(bool)
	delete(e, "allow_on_headers_stop_iteration")
	if len(e) == 0 {
		delete(m, "endpoints")
	}
	return held
}

// TestIstioManifestsRejectMistakes proves that TestIstioManifests can fail.
func TestIstioManifestsRejectMistakes(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"misspelled field", "wasmplugin.yaml", "pluginConfig:", "pluginconfig:", `unknown field "pluginconfig"`},
		{"misspelled nested field", "wasmplugin.yaml", "imagePullPolicy:", "imagePullpolicy:", `unknown field "imagePullpolicy"`},
		{"snake_case field", "provider.yaml", "targetPort:", "target_port:", "camelCase"},
		{"Envoy's enum name", "wasmplugin.yaml", "failStrategy: FAIL_CLOSE", "failStrategy: FAIL_CLOSED", "FAIL_CLOSED"},
		{"wrong phase", "wasmplugin.yaml", "phase: AUTHN", "phase: STATS", "phase is STATS"},
		{"unknown kind", "wasmplugin.yaml", "kind: WasmPlugin", "kind: WasmPlugins", "unknown kind"},
		{"unknown metadata field", "wasmplugin.yaml", "  namespace: istio-ingress\nspec:", "  namespace: istio-ingress\n  labelz: {}\nspec:", `unknown field "labelz"`},
		{"not an image", "wasmplugin.yaml", "url: oci://", "url: https://", "oci://"},
		{"misspelled plugin key", "wasmplugin.yaml", "refresh_margin:", "refresh_margn:", "session.refresh_margn"},
		{"bad plugin value", "wasmplugin.yaml", "lifetime: 12h", "lifetime: 12 hours", "session.lifetime"},
		{"cluster on the TLS port", "wasmplugin.yaml", "cluster: outbound|80||", "cluster: outbound|443||", `is "HTTPS"`},
		{"plain-text callouts", "provider.yaml", "mode: SIMPLE", "mode: DISABLE", "does not open TLS"},
		{"no ServiceEntry", "provider.yaml", "  - login.example.com # CHANGE\n  location", "  - auth.example.com\n  location", "no ServiceEntry"},
		{"secret not passed to the VM", "wasmplugin.yaml", "    - name: OIDC_SESSION_KEY_K1\n      valueFrom: HOST\n", "", "keys[0].secret_env: environment variable OIDC_SESSION_KEY_K1 is not set"},
		{"Envoy's env field name", "wasmplugin.yaml", "valueFrom: HOST\n    - name: OIDC_SESSION", "value_from: HOST\n    - name: OIDC_SESSION", "camelCase"},
		{"no namespace", "provider.yaml", "  name: oidc-provider\n  namespace: istio-ingress\nspec:\n  hosts", "  name: oidc-provider\nspec:\n  hosts", "namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := istioFiles(t)
			files[tt.file] = mutate(t, files[tt.file], tt.old, tt.new)
			_, err := loadIstio(files)
			if err == nil {
				t.Fatalf("accepted %s with %q changed to %q", tt.file, tt.old, tt.new)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("refused, but not for the mistake: want %q in\n%v", tt.want, err)
			}
			t.Logf("refused: %v", err)
		})
	}
}
