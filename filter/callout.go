package filter

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// errUnreachable is what a callout reports when the host delivered no response headers: the
// cluster could not be reached, the connection was reset, or the timeout fired (Envoy does not
// tell these apart to the plugin).
var errUnreachable = errors.New("filter: provider unreachable")

// errTimeout is errUnreachable when the callout took its whole timeout.
var errTimeout = fmt.Errorf("%w: timed out", errUnreachable)

// calloutResponse is what came back from an HTTP callout, read in full inside the callback.
type calloutResponse struct {
	status      int
	contentType string
	body        []byte
	elapsed     time.Duration
}

// target says where a callout goes: the Envoy cluster and the :authority to send.
type target struct {
	cluster   string
	authority string
	timeout   time.Duration
}

// dispatch sends req by callout and calls done exactly once, with the response or an error.
// maxBody caps how much of the response body is read.
func dispatch(t target, req oidc.Request, maxBody int, now func() time.Time, done func(*calloutResponse, error)) {
	u, err := url.Parse(req.URL)
	if err != nil || u.Host == "" {
		done(nil, fmt.Errorf("filter: bad callout URL: %w", err))
		return
	}
	authority := t.authority
	if authority == "" {
		authority = u.Host
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	headers := make([][2]string, 0, 4+len(req.Headers))
	headers = append(headers, [2]string{":method", method}, [2]string{":path", path},
		[2]string{":authority", authority}, [2]string{":scheme", u.Scheme})
	headers = append(headers, req.Headers...)
	start := now()
	timeoutMS := uint32(t.timeout / time.Millisecond)
	_, err = proxywasm.DispatchHttpCall(t.cluster, headers, req.Body, nil, timeoutMS,
		func(numHeaders, bodySize, _ int) {
			elapsed := now().Sub(start)
			r, err := readCalloutResponse(numHeaders, bodySize, maxBody, elapsed)
			if errors.Is(err, errUnreachable) && elapsed >= t.timeout-t.timeout/20 {
				err = errTimeout
			}
			done(r, err)
		})
	if err != nil {
		done(nil, fmt.Errorf("filter: callout to cluster %q failed: %w", t.cluster, err))
	}
}

func readCalloutResponse(numHeaders, bodySize, maxBody int, elapsed time.Duration) (*calloutResponse, error) {
	if numHeaders == 0 {
		return nil, errUnreachable
	}
	hs, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		return nil, errUnreachable
	}
	r := &calloutResponse{elapsed: elapsed}
	for _, h := range hs {
		switch h[0] {
		case ":status":
			r.status, _ = strconv.Atoi(h[1])
		case "content-type":
			r.contentType = h[1]
		}
	}
	if r.status == 0 {
		return nil, errUnreachable
	}
	if bodySize > 0 {
		n := bodySize
		if n > maxBody {
			// Read one byte more than allowed so the parser reports "too large".
			n = maxBody + 1
		}
		body, err := proxywasm.GetHttpCallResponseBody(0, n)
		if err != nil {
			return nil, fmt.Errorf("filter: reading callout body: %w", err)
		}
		r.body = body
	}
	return r, nil
}
