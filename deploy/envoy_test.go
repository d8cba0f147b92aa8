package deploy_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
)

// Wasm plugin settings that the documentation and `make release` rely on.
const (
	wasmRuntime  = "envoy.wasm.runtime.v8"
	wasmFilename = "/etc/envoy/plugin.wasm"
	listenPort   = 8080
)

// envoySetup is what loadEnvoy found in a bootstrap.
type envoySetup struct {
	bootstrap  *bootstrapv3.Bootstrap
	hcm        *hcmv3.HttpConnectionManager
	plugin     *wasmv3.PluginConfig
	pluginJSON []byte
	env        vmEnv
	cfg        *config.Config
}

// loadEnvoy reads an Envoy bootstrap in YAML the way Envoy would (unknown fields, unknown
// "@type"s and broken validation rules are errors), finds the listener with our filter,
// checks the filter's settings, parses the plugin configuration it embeds, and checks that
// every cluster the plugin and the routes use exists and is set up as they need.
func loadEnvoy(src []byte) (*envoySetup, error) {
	js, err := yamlToJSON(src)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	s := &envoySetup{bootstrap: &bootstrapv3.Bootstrap{}}
	if err := unmarshalStrict(js, s.bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := validateDeep(s.bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap validation: %w", err)
	}
	if s.hcm, err = findHCM(s.bootstrap); err != nil {
		return nil, err
	}
	if s.plugin, err = findWasm(s.hcm); err != nil {
		return nil, err
	}
	if err := checkWasm(s.plugin); err != nil {
		return nil, err
	}
	sv := &wrapperspb.StringValue{}
	if err := s.plugin.GetConfiguration().UnmarshalTo(sv); err != nil {
		return nil, fmt.Errorf("wasm configuration must be a google.protobuf.StringValue: %w", err)
	}
	s.pluginJSON = []byte(sv.GetValue())
	ev := s.plugin.GetVmConfig().GetEnvironmentVariables()
	s.env = vmEnv{host: ev.GetHostEnvKeys(), literal: ev.GetKeyValues()}
	if s.cfg, err = parsePlugin(s.pluginJSON, s.env); err != nil {
		return nil, err
	}
	return s, checkClusters(s)
}

// findHCM returns the HTTP connection manager of the listener on listenPort.
func findHCM(b *bootstrapv3.Bootstrap) (*hcmv3.HttpConnectionManager, error) {
	for _, l := range b.GetStaticResources().GetListeners() {
		if l.GetAddress().GetSocketAddress().GetPortValue() != listenPort {
			continue
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().MessageIs(hcm) {
					if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
						return nil, err
					}
					return hcm, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no listener on port %d with an http_connection_manager", listenPort)
}

// findWasm returns our filter's plugin configuration, checking that the filter chain is our
// filter followed by the router, which must come last.
func findWasm(hcm *hcmv3.HttpConnectionManager) (*wasmv3.PluginConfig, error) {
	fs := hcm.GetHttpFilters()
	var plugin *wasmv3.PluginConfig
	wasmAt, routerAt := -1, -1
	for i, f := range fs {
		switch tc := f.GetTypedConfig(); {
		case tc.MessageIs(&wasmfilterv3.Wasm{}):
			w := &wasmfilterv3.Wasm{}
			if err := tc.UnmarshalTo(w); err != nil {
				return nil, err
			}
			if plugin != nil {
				return nil, errors.New("more than one wasm filter")
			}
			plugin, wasmAt = w.GetConfig(), i
		case tc.MessageIs(&routerv3.Router{}):
			routerAt = i
		}
	}
	switch {
	case plugin == nil:
		return nil, errors.New("no envoy.filters.http.wasm filter in the http_connection_manager")
	case routerAt != len(fs)-1:
		return nil, errors.New("envoy.filters.http.router must be the last http filter")
	case wasmAt > routerAt:
		return nil, errors.New("the wasm filter must come before the router")
	}
	return plugin, nil
}

func checkWasm(p *wasmv3.PluginConfig) error {
	var errs []error
	vm := p.GetVmConfig()
	if vm.GetRuntime() != wasmRuntime {
		errs = append(errs, fmt.Errorf("vm_config.runtime is %q, want %q", vm.GetRuntime(), wasmRuntime))
	}
	if got := vm.GetCode().GetLocal().GetFilename(); got != wasmFilename {
		errs = append(errs, fmt.Errorf("vm_config.code.local.filename is %q, want %q", got, wasmFilename))
	}
	if !vm.GetAllowPrecompiled() {
		errs = append(errs, errors.New("vm_config.allow_precompiled is not set"))
	}
	if p.GetFailurePolicy() != wasmv3.FailurePolicy_FAIL_CLOSED {
		errs = append(errs, fmt.Errorf("failure_policy is %v: an authentication filter must fail closed", p.GetFailurePolicy()))
	}
	if p.GetRootId() == "" {
		errs = append(errs, errors.New("root_id is empty"))
	}
	return errors.Join(errs...)
}

// checkClusters checks that the clusters the plugin and the routes name exist, and that the
// plugin's clusters speak TLS to the right host with the certificate checked.
func checkClusters(s *envoySetup) error {
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range s.bootstrap.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = c
	}
	var errs []error
	for _, name := range routeClusters(s.hcm.GetRouteConfig()) {
		if clusters[name] == nil {
			errs = append(errs, fmt.Errorf("a route uses cluster %q, which is not defined", name))
		}
	}
	for _, name := range pluginClusters(s.cfg) {
		c := clusters[name]
		if c == nil {
			errs = append(errs, fmt.Errorf("the plugin configuration uses cluster %q, which is not defined", name))
			continue
		}
		if err := checkTLSCluster(c); err != nil {
			errs = append(errs, fmt.Errorf("cluster %q: %w", name, err))
		}
	}
	if m := s.cfg.Provider.MTLSCluster; m != "" && clusters[m] != nil {
		if err := checkClientCertificate(clusters[m]); err != nil {
			errs = append(errs, fmt.Errorf("cluster %q (provider.mtls_cluster): %w", m, err))
		}
	}
	if p := s.cfg.Provider; p.Discovery {
		host := p.Authority
		if host == "" {
			host = hostOf(p.Issuer)
		}
		if c := clusters[p.Cluster]; c != nil && clusterHost(c) != host {
			errs = append(errs, fmt.Errorf("cluster %q goes to %q, but discovery calls %q", p.Cluster, clusterHost(c), host))
		}
	}
	return errors.Join(errs...)
}

func routeClusters(rc *routev3.RouteConfiguration) []string {
	var out []string
	for _, vh := range rc.GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if c := r.GetRoute().GetCluster(); c != "" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// clusterHost is the host of the cluster's first endpoint.
func clusterHost(c *clusterv3.Cluster) string {
	for _, e := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range e.GetLbEndpoints() {
			return lb.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
		}
	}
	return ""
}

func clusterPort(c *clusterv3.Cluster) uint32 {
	for _, e := range c.GetLoadAssignment().GetEndpoints() {
		for _, lb := range e.GetLbEndpoints() {
			return lb.GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()
		}
	}
	return 0
}

func checkTLSCluster(c *clusterv3.Cluster) error {
	host := clusterHost(c)
	if host == "" || clusterPort(c) != 443 {
		return fmt.Errorf("want one endpoint on port 443, got %q port %d", host, clusterPort(c))
	}
	tls := &tlsv3.UpstreamTlsContext{}
	ts := c.GetTransportSocket()
	if ts == nil || !ts.GetTypedConfig().MessageIs(tls) {
		return errors.New("no TLS transport_socket (UpstreamTlsContext)")
	}
	if err := ts.GetTypedConfig().UnmarshalTo(tls); err != nil {
		return err
	}
	var errs []error
	if tls.GetSni() != host {
		errs = append(errs, fmt.Errorf("sni %q is not the endpoint's host %q", tls.GetSni(), host))
	}
	vc := tls.GetCommonTlsContext().GetValidationContext()
	if vc.GetTrustedCa() == nil {
		errs = append(errs, errors.New("no validation_context.trusted_ca: Envoy would accept any certificate"))
	}
	var sans []string
	for _, m := range vc.GetMatchTypedSubjectAltNames() {
		sans = append(sans, m.GetMatcher().GetExact())
	}
	if !slices.Contains(sans, host) {
		errs = append(errs, fmt.Errorf("the certificate's name is not checked against %q (match_typed_subject_alt_names: %q)", host, sans))
	}
	return errors.Join(errs...)
}

// checkClientCertificate: the cluster of a mutual-TLS client authentication method presents a
// client certificate (RFC 8705 2), a chain and its key, each from a file or inline.
func checkClientCertificate(c *clusterv3.Cluster) error {
	tls := &tlsv3.UpstreamTlsContext{}
	if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(tls); err != nil {
		return err
	}
	certs := tls.GetCommonTlsContext().GetTlsCertificates()
	if len(certs) == 0 && len(tls.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs()) == 0 {
		return errors.New("no common_tls_context.tls_certificates: the provider gets no client certificate")
	}
	for _, tc := range certs {
		if tc.GetCertificateChain() == nil || tc.GetPrivateKey() == nil {
			return errors.New("tls_certificates needs certificate_chain and private_key")
		}
	}
	return nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func TestEnvoyBootstrap(t *testing.T) {
	src := repoFile(t, "envoy.yaml")
	s, err := loadEnvoy(src)
	if err != nil {
		t.Fatal(err)
	}
	placeholderSecrets(t, "envoy.yaml", s.pluginJSON, s.env)
	// The secrets come from Envoy's environment, not from this file.
	if s.cfg.Client.SecretEnv == "" || !slices.Contains(s.env.host, s.cfg.Client.SecretEnv) {
		t.Errorf("client secret: want client.secret_env naming one of vm_config.environment_variables.host_env_keys %q", s.env.host)
	}
	for _, k := range s.cfg.Keys {
		if k.SecretEnv == "" || !slices.Contains(s.env.host, k.SecretEnv) {
			t.Errorf("key %s: want keys[].secret_env naming one of vm_config.environment_variables.host_env_keys %q", k.ID, s.env.host)
		}
	}
	if got := s.plugin.GetName(); got != "oidc-proxy" {
		t.Errorf("plugin name %q", got)
	}
	// The example is for production: https, secure cookies, an explicit redirect URL (the
	// listener sees plain http behind the load balancer, so the built one would be wrong).
	if s.cfg.Provider.InsecureAllowHTTP || !s.cfg.Cookie.Secure {
		t.Error("the example must not use insecure_allow_http or cookies without Secure")
	}
	if !strings.HasPrefix(s.cfg.RedirectURL, "https://") {
		t.Errorf("redirect_url %q: want an explicit https URL", s.cfg.RedirectURL)
	}
	if !s.hcm.GetNormalizePath().GetValue() || !s.hcm.GetMergeSlashes() {
		t.Error("the connection manager must normalize paths and merge slashes")
	}
	if a := s.hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); a.String() != "REJECT_REQUEST" {
		t.Errorf("headers_with_underscores_action is %v, want REJECT_REQUEST", a)
	}
	if addr := s.bootstrap.GetAdmin().GetAddress().GetSocketAddress().GetAddress(); net.ParseIP(addr) == nil || !net.ParseIP(addr).IsLoopback() {
		t.Errorf("the admin interface listens on %q: it shows secrets, keep it on loopback", addr)
	}
	if n := len(pluginClusters(s.cfg)); n == 0 {
		t.Error("the plugin uses no cluster")
	}
}

// TestEnvoyBootstrapRejectsMistakes proves that TestEnvoyBootstrap can fail: each mutated
// copy of envoy.yaml holds one mistake a person could make, and must be refused for it.
func TestEnvoyBootstrapRejectsMistakes(t *testing.T) {
	src := repoFile(t, "envoy.yaml")
	tests := []struct {
		name, old, new, want string
	}{
		{"misspelled wasm field", "allow_precompiled:", "allow_precompile:", `unknown field "allow_precompile"`},
		{"misspelled connection manager field", "stat_prefix:", "stats_prefix:", `unknown field "stats_prefix"`},
		{"misspelled cluster field", "connect_timeout: 3s", "connection_timeout: 3s", `unknown field "connection_timeout"`},
		{"unknown typed_config", "filters.http.router.v3.Router", "filters.http.router.v3.Routr", "Routr"},
		{"misspelled enum", "FAIL_CLOSED", "FAIL_CLOSE", "FAIL_CLOSE"},
		{"port out of range", "port_value: 8080", "port_value: 80800", "PortValue"},
		{"empty stat prefix", "stat_prefix: ingress_http", `stat_prefix: ""`, "StatPrefix"},
		{"wrong runtime", "envoy.wasm.runtime.v8", "envoy.wasm.runtime.wamr", "vm_config.runtime"},
		{"fail open", "failure_policy: FAIL_CLOSED", "failure_policy: FAIL_OPEN", "fail closed"},
		{"misspelled plugin key", `"refresh_margin"`, `"refresh_margn"`, "session.refresh_margn"},
		{"bad plugin value", `"timeout": "5s"`, `"timeout": "5 seconds"`, "provider.timeout"},
		{"plugin cluster undefined", `"cluster": "oidc"`, `"cluster": "oidc_provider"`, `cluster "oidc_provider", which is not defined`},
		{"route cluster undefined", "cluster: app\n                  timeout: 60s", "cluster: upstream\n                  timeout: 60s", `cluster "upstream", which is not defined`},
		{"sni mismatch", "sni: login.example.com", "sni: auth.example.com", "sni"},
		{"duplicate YAML key", "stat_prefix: ingress_http", "stat_prefix: ingress_http\n          stat_prefix: again", "stat_prefix"},
		{"secret not passed to the VM", "host_env_keys: [OIDC_CLIENT_SECRET, ", "host_env_keys: [", "client.secret_env: environment variable OIDC_CLIENT_SECRET is not set"},
		{"misspelled environment field", "host_env_keys:", "host_env_key:", `unknown field "host_env_key"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadEnvoy(mutate(t, src, tt.old, tt.new))
			if err == nil {
				t.Fatalf("accepted envoy.yaml with %q changed to %q", tt.old, tt.new)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("refused, but not for the mistake: want %q in\n%v", tt.want, err)
			}
			t.Logf("refused: %v", err)
		})
	}
}
