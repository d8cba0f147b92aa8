package envoyrig

import "errors"

// WithFilters is an envoy.Bootstrap Edit: it replaces the Wasm HTTP filter of the rendered
// bootstrap by filters, or removes it when there are none (the listener then goes straight
// to the router and the app).
func WithFilters(filters ...map[string]any) func(map[string]any) error {
	return func(doc map[string]any) error {
		found := false
		for _, l := range objects(doc["static_resources"], "listeners") {
			for _, fc := range objects(l, "filter_chains") {
				for _, f := range objects(fc, "filters") {
					tc, _ := f["typed_config"].(map[string]any)
					if tc == nil {
						continue
					}
					var out []any
					for _, h := range objects(tc, "http_filters") {
						if h["name"] == "envoy.filters.http.wasm" {
							found = true
							for _, x := range filters {
								out = append(out, x)
							}
							continue
						}
						out = append(out, h)
					}
					tc["http_filters"] = out
				}
			}
		}
		if !found {
			return errors.New("envoyrig: the bootstrap has no envoy.filters.http.wasm filter to replace")
		}
		return nil
	}
}

// objects is m[key] as a list of objects, when m is an object.
func objects(m any, key string) []map[string]any {
	o, _ := m.(map[string]any)
	l, _ := o[key].([]any)
	var out []map[string]any
	for _, x := range l {
		if y, ok := x.(map[string]any); ok {
			out = append(out, y)
		}
	}
	return out
}
