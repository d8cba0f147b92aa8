// Package noopshim is the plugin configuration of the benchmarks' floor plugin
// (internal/noopplugin) when it runs as a shim: the contract between that plugin and the
// harnesses that configure it (internal/filterbench, tools/benchenvoy). It is a leaf with
// no imports, so the floor plugin stays as small as the floor it measures, and a harness
// under internal/ configures it without importing e2e/.
package noopshim

// Config turns the shim on: the no-op plugin then makes the host calls a warm session
// request makes, with no logic between them: read all request headers, count Metric, set
// each header of Set.
type Config struct {
	Set    [][2]string `json:"set"`
	Metric string      `json:"metric"`
	// Get, when set, reads only these request headers, one proxy_get_header_map_value each,
	// instead of all of them with one proxy_get_header_map_pairs: what reading only the
	// headers a request needs would cost (tools/benchenvoy's "shim, selected headers" row).
	Get []string `json:"get,omitempty"`
}
