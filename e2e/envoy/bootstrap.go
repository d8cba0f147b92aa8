package envoy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"sigs.k8s.io/yaml"
)

// Bootstrap says what to change in the shipped envoy.yaml. Everything else (the connection
// manager's settings, the Wasm filter's runtime and failure policy, the router, cluster
// timeouts and TLS settings) stays as shipped.
type Bootstrap struct {
	// Listen and Admin are the listener's and admin interface's addresses; 127.0.0.1:0 (a free
	// port, read back from the admin interface) by default.
	Listen, Admin string
	// WasmPath is the plugin file; PluginConfig its JSON configuration.
	WasmPath     string
	PluginConfig []byte
	// PluginName, RootID and VMID replace envoy.yaml's (all "oidc-proxy") when set.
	PluginName, RootID, VMID string
	// Clusters are the clusters the plugin calls out to, name -> base URL, each made from
	// envoy.yaml's "oidc" cluster: an http URL drops its TLS, an https URL keeps it with the
	// URL's host as SNI and expected SAN. An IP address gives a STATIC cluster, a name
	// LOGICAL_DNS as shipped.
	Clusters map[string]string
	// Upstream is the app's base URL (envoy.yaml's "app" cluster).
	Upstream string
	// Env is the plugin VM's environment (vm_config.environment_variables.key_values); it
	// replaces envoy.yaml's host_env_keys unless HostEnvKeys is set, which lists the names the
	// VM reads from Envoy's own environment instead.
	Env         map[string]string
	HostEnvKeys []string
	// StopAllOnHeaderPause removes allow_on_headers_stop_iteration from the Wasm filter:
	// Envoy's default, where a pause in the request headers is StopAllIteration (no body
	// callback until the plugin continues them), as under Istio's WasmPlugin.
	StopAllOnHeaderPause bool
	// CAFile replaces the trusted CA file of https clusters when set.
	CAFile string
	// Edit, when set, may change the rendered bootstrap (decoded JSON) last.
	Edit func(bootstrap map[string]any) error
}

// ShippedPath is the repository's envoy.yaml.
func ShippedPath() (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "envoy.yaml"), nil
}

// Render returns the bootstrap (JSON) for b, made from the shipped envoy.yaml.
func Render(b Bootstrap) ([]byte, error) {
	p, err := ShippedPath()
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return RenderFrom(src, b)
}

// RenderFrom is Render with the shipped bootstrap given as YAML or JSON.
func RenderFrom(shipped []byte, b Bootstrap) ([]byte, error) {
	js, err := yaml.YAMLToJSON(shipped)
	if err != nil {
		return nil, fmt.Errorf("envoy: shipped bootstrap: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	if err := render(doc, b); err != nil {
		return nil, err
	}
	if b.Edit != nil {
		if err := b.Edit(doc); err != nil {
			return nil, err
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

func render(doc map[string]any, b Bootstrap) error {
	if b.Listen == "" {
		b.Listen = "127.0.0.1:0"
	}
	if b.Admin == "" {
		b.Admin = "127.0.0.1:0"
	}
	admin, err := socketAddress(b.Admin)
	if err != nil {
		return fmt.Errorf("envoy: admin address: %w", err)
	}
	set(doc, admin, "admin", "address", "socket_address")

	listener, err := obj(doc, "static_resources", "listeners", "0")
	if err != nil {
		return err
	}
	la, err := socketAddress(b.Listen)
	if err != nil {
		return fmt.Errorf("envoy: listen address: %w", err)
	}
	set(listener, la, "address", "socket_address")

	plugin, err := wasmConfig(listener)
	if err != nil {
		return err
	}
	if b.WasmPath != "" {
		abs, err := filepath.Abs(b.WasmPath)
		if err != nil {
			return err
		}
		set(plugin, abs, "vm_config", "code", "local", "filename")
	}
	if b.PluginConfig != nil {
		set(plugin, string(b.PluginConfig), "configuration", "value")
	}
	if b.StopAllOnHeaderPause {
		delete(plugin, "allow_on_headers_stop_iteration")
	}
	if b.PluginName != "" {
		plugin["name"] = b.PluginName
	}
	if b.RootID != "" {
		plugin["root_id"] = b.RootID
	}
	if b.VMID != "" {
		set(plugin, b.VMID, "vm_config", "vm_id")
	}
	ev := map[string]any{}
	if len(b.HostEnvKeys) > 0 {
		keys := make([]any, len(b.HostEnvKeys))
		for i, k := range b.HostEnvKeys {
			keys[i] = k
		}
		ev["host_env_keys"] = keys
	}
	if len(b.Env) > 0 {
		kv := map[string]any{}
		for k, v := range b.Env {
			kv[k] = v
		}
		ev["key_values"] = kv
	}
	if len(ev) > 0 || b.PluginConfig != nil {
		set(plugin, ev, "vm_config", "environment_variables")
		if len(ev) == 0 {
			delete(obj1(plugin, "vm_config"), "environment_variables")
		}
	}
	return renderClusters(doc, b)
}

func renderClusters(doc map[string]any, b Bootstrap) error {
	list, _ := get(doc, "static_resources", "clusters").([]any)
	var template, app map[string]any
	var out []any
	for _, c := range list {
		m, _ := c.(map[string]any)
		switch m["name"] {
		case "oidc":
			template = m
		case "app":
			app = m
		default:
			out = append(out, m)
		}
	}
	if template == nil || app == nil {
		return errors.New(`envoy: the shipped bootstrap has no "oidc" or no "app" cluster`)
	}
	names := make([]string, 0, len(b.Clusters))
	for n := range b.Clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 && b.Upstream == "" {
		return nil // nothing to change
	}
	for _, n := range names {
		c, err := cluster(template, n, b.Clusters[n], b.CAFile)
		if err != nil {
			return err
		}
		out = append(out, c)
	}
	if b.Upstream != "" {
		c, err := cluster(app, "app", b.Upstream, b.CAFile)
		if err != nil {
			return err
		}
		if _, tls := c["transport_socket"]; !tls && isHTTPS(b.Upstream) {
			if ts, ok := template["transport_socket"]; ok {
				c["transport_socket"] = deepCopy(ts)
				sni(c, b.Upstream, b.CAFile)
			}
		}
		out = append(out, c)
	}
	set(doc, out, "static_resources", "clusters")
	return nil
}

func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https"
}

// cluster copies a cluster stanza for name at rawURL.
func cluster(tmpl map[string]any, name, rawURL, caFile string) (map[string]any, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("envoy: cluster %q: %q is not an http(s) URL", name, rawURL)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	pn, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("envoy: cluster %q: port %q", name, port)
	}
	c := deepCopy(tmpl).(map[string]any)
	c["name"] = name
	if net.ParseIP(host) != nil {
		c["type"] = "STATIC"
		delete(c, "dns_lookup_family")
	} else if c["type"] == "STATIC" {
		c["type"] = "STRICT_DNS"
	}
	c["load_assignment"] = map[string]any{
		"cluster_name": name,
		"endpoints": []any{map[string]any{"lb_endpoints": []any{map[string]any{"endpoint": map[string]any{
			"address": map[string]any{"socket_address": map[string]any{"address": host, "port_value": pn}},
		}}}}},
	}
	if u.Scheme == "http" {
		delete(c, "transport_socket")
	} else {
		sni(c, rawURL, caFile)
	}
	return c, nil
}

// sni points a copied TLS stanza at the URL's host.
func sni(c map[string]any, rawURL, caFile string) {
	u, _ := url.Parse(rawURL)
	tc, _ := get(c, "transport_socket", "typed_config").(map[string]any)
	if tc == nil {
		return
	}
	tc["sni"] = u.Hostname()
	if vc, ok := get(tc, "common_tls_context", "validation_context").(map[string]any); ok {
		vc["match_typed_subject_alt_names"] = []any{map[string]any{
			"san_type": sanType(u.Hostname()), "matcher": map[string]any{"exact": u.Hostname()}}}
		if caFile != "" {
			vc["trusted_ca"] = map[string]any{"filename": caFile}
		}
	}
}

func sanType(host string) string {
	if net.ParseIP(host) != nil {
		return "IP_ADDRESS"
	}
	return "DNS"
}

// wasmConfig finds the Wasm filter's PluginConfig in the listener's connection manager.
func wasmConfig(listener map[string]any) (map[string]any, error) {
	filters, _ := get(listener, "filter_chains", "0", "filters").([]any)
	for _, f := range filters {
		hcm, _ := get(f, "typed_config").(map[string]any)
		hf, _ := hcm["http_filters"].([]any)
		for _, h := range hf {
			if m, _ := h.(map[string]any); m["name"] == "envoy.filters.http.wasm" {
				if cfg, ok := get(m, "typed_config", "config").(map[string]any); ok {
					return cfg, nil
				}
			}
		}
	}
	return nil, errors.New("envoy: the shipped bootstrap has no envoy.filters.http.wasm filter")
}

func socketAddress(hostport string) (map[string]any, error) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	pn, err := strconv.Atoi(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"address": h, "port_value": pn}, nil
}

// get walks maps by key and slices by decimal index; nil when a step is missing.
func get(v any, path ...string) any {
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func obj(v any, path ...string) (map[string]any, error) {
	m, ok := get(v, path...).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("envoy: the shipped bootstrap has no %v", path)
	}
	return m, nil
}

func obj1(m map[string]any, k string) map[string]any {
	c, _ := m[k].(map[string]any)
	return c
}

// set stores val at path, creating maps on the way.
func set(m map[string]any, val any, path ...string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = val
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = deepCopy(x)
		}
		return c
	default:
		return v
	}
}
