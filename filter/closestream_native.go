//go:build !wasip1

package filter

// closeStream stands in for proxy_close_stream in native tests (proxytest has no such call):
// it counts the streams closed.
func closeStream() error {
	closedStreams++
	return nil
}

// closedStreams is the native tests' view of closeStream.
var closedStreams int
