package replicas

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// ReplicaHeader is the response header in which the front balancer names the replica
// (its address) that served a request.
const ReplicaHeader = "X-Replica"

// Front says how the balancer in front of the replicas spreads requests.
type Front struct {
	// Replicas are the replicas' base URLs (http://127.0.0.1:PORT).
	Replicas []string
	// StickyCookie, when set, makes the balancer ring_hash on that cookie's value (a
	// consistent hash: one session's requests go to one replica); round robin otherwise.
	StickyCookie string
}

// StartFront starts a real Envoy, without the plugin, in front of the replicas: the shipped
// envoy.yaml's listener and routes with the Wasm filter taken out and the "app" cluster made
// of the replicas, balanced as f says. Each answer names its replica in ReplicaHeader. The
// Host header is passed on, so the replicas see the front's address (redirect URIs, cookies).
func StartFront(ctx context.Context, f Front) (*envoy.Envoy, error) {
	if len(f.Replicas) == 0 {
		return nil, errors.New("replicas: a front without replicas")
	}
	eps := make([]any, len(f.Replicas))
	for i, r := range f.Replicas {
		u, err := url.Parse(r)
		if err != nil {
			return nil, err
		}
		port, err := strconv.Atoi(u.Port())
		if err != nil {
			return nil, fmt.Errorf("replicas: replica %q: %w", r, err)
		}
		eps[i] = map[string]any{"endpoint": map[string]any{"address": map[string]any{
			"socket_address": map[string]any{"address": u.Hostname(), "port_value": port}}}}
	}
	edit := func(doc map[string]any) error {
		hcm, ok := dig(doc, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config").(map[string]any)
		if !ok {
			return errors.New("replicas: the shipped bootstrap has no connection manager")
		}
		var kept []any
		for _, h := range hcm["http_filters"].([]any) {
			if h.(map[string]any)["name"] != "envoy.filters.http.wasm" {
				kept = append(kept, h)
			}
		}
		hcm["http_filters"] = kept
		vh, ok := dig(hcm, "route_config", "virtual_hosts", 0).(map[string]any)
		if !ok {
			return errors.New("replicas: the shipped bootstrap has no virtual host")
		}
		vh["response_headers_to_add"] = []any{map[string]any{
			"header": map[string]any{"key": ReplicaHeader, "value": "%UPSTREAM_REMOTE_ADDRESS%"}}}
		if f.StickyCookie != "" {
			for _, r := range vh["routes"].([]any) {
				route := r.(map[string]any)["route"].(map[string]any)
				route["hash_policy"] = []any{map[string]any{"cookie": map[string]any{"name": f.StickyCookie}}}
			}
		}
		for _, c := range doc["static_resources"].(map[string]any)["clusters"].([]any) {
			c := c.(map[string]any)
			if c["name"] != "app" {
				continue
			}
			c["load_assignment"] = map[string]any{"cluster_name": "app", "endpoints": []any{map[string]any{"lb_endpoints": eps}}}
			c["type"] = "STATIC"
			delete(c, "dns_lookup_family")
			if f.StickyCookie != "" {
				c["lb_policy"] = "RING_HASH"
			} else {
				c["lb_policy"] = "ROUND_ROBIN"
			}
		}
		return nil
	}
	return envoy.Start(ctx, envoy.Config{Bootstrap: envoy.Bootstrap{Upstream: f.Replicas[0], Edit: edit}})
}

// dig walks maps by string keys and slices by int indexes; nil when a step is missing.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}
