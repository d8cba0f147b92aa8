package envoyrig

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestWithFilters(t *testing.T) {
	bootstrap := func() map[string]any {
		return map[string]any{"static_resources": map[string]any{"listeners": []any{map[string]any{
			"filter_chains": []any{map[string]any{"filters": []any{map[string]any{"typed_config": map[string]any{
				"http_filters": []any{map[string]any{"name": "envoy.filters.http.wasm"}, map[string]any{"name": "envoy.filters.http.router"}},
			}}}}}}}}}
	}
	httpFilters := func(doc map[string]any) (names []any) {
		tc := objects(objects(objects(doc["static_resources"], "listeners")[0], "filter_chains")[0], "filters")[0]["typed_config"]
		for _, h := range objects(tc, "http_filters") {
			names = append(names, h["name"])
		}
		return names
	}
	for _, tt := range []struct {
		name    string
		filters []map[string]any
		want    []any
	}{
		{name: "removed", want: []any{"envoy.filters.http.router"}},
		{name: "replaced", filters: []map[string]any{{"name": "a"}, {"name": "b"}}, want: []any{"a", "b", "envoy.filters.http.router"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := bootstrap()
			edit := WithFilters(tt.filters...)
			if err := edit(doc); err != nil {
				t.Fatal(err)
			}
			if got := httpFilters(doc); !slices.Equal(got, tt.want) {
				t.Errorf("http_filters after: %v, want %v", got, tt.want)
			}
			if err := edit(doc); err == nil {
				t.Error("a bootstrap without a Wasm filter: no error")
			}
		})
	}
}

func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	c0, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	c1, err := ProcessCPU(os.Getpid())
	if err != nil || c1 <= c0 {
		t.Errorf("ProcessCPU of a process that spun: %v then %v, %v", c0, c1, err)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("ProcessCPU of no process: no error")
	}
}
