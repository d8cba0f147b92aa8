package envoy_test

import (
	"encoding/json"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
)

// The shipped envoy.yaml holds only the headers on a pause (allow_on_headers_stop_iteration);
// StopAllOnHeaderPause renders Envoy's default instead.
func TestRenderHeaderPause(t *testing.T) {
	for _, stopAll := range []bool{false, true} {
		b, err := envoy.Render(envoy.Bootstrap{StopAllOnHeaderPause: stopAll})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			StaticResources struct {
				Listeners []struct {
					FilterChains []struct {
						Filters []struct {
							TypedConfig struct {
								HTTPFilters []struct {
									Name        string `json:"name"`
									TypedConfig struct {
										Config map[string]any `json:"config"`
									} `json:"typed_config"`
								} `json:"http_filters"`
							} `json:"typed_config"`
						} `json:"filters"`
					} `json:"filter_chains"`
				} `json:"listeners"`
			} `json:"static_resources"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range doc.StaticResources.Listeners[0].FilterChains[0].Filters[0].TypedConfig.HTTPFilters {
			if f.Name != "envoy.filters.http.wasm" {
				continue
			}
			found = true
			v, set := f.TypedConfig.Config["allow_on_headers_stop_iteration"]
			if stopAll && set || !stopAll && v != true {
				t.Errorf("StopAllOnHeaderPause %v: allow_on_headers_stop_iteration %v (set %v)", stopAll, v, set)
			}
		}
		if !found {
			t.Fatal("no Wasm filter in the rendered bootstrap")
		}
	}
}
