//go:build wasip1

package filter

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

// proxy_close_stream(stream_type): on an HTTP stream (type 0, the request) Envoy resets the
// stream, which for an upgraded one closes the WebSocket. The SDK offers it for TCP only.
//
//go:wasmimport env proxy_close_stream
func proxyCloseStream(streamType uint32) uint32

// closeStream resets the effective context's HTTP stream.
func closeStream() error {
	if st := proxyCloseStream(0); st != 0 {
		return types.ErrorStatusBadArgument
	}
	return nil
}
