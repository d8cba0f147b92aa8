package filter

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

// errUnreachable is what a callout reports when the provider gave no answer of its own: the
// host delivered no response headers (a reset), or Envoy's router answered for the cluster
// because it could not connect ("upstream connect error ...", "no healthy upstream").
var errUnreachable = errors.New("filter: provider unreachable")

// errTimeout is errUnreachable when the callout's timeout fired: Envoy's router answers 504
// "upstream request timeout", or nothing arrived within the timeout.
var errTimeout = fmt.Errorf("%w: %w", errUnreachable, oidc.ErrTimeout)

// calloutResponse is what came back from an HTTP callout, read in full inside the callback.
type calloutResponse struct {
	status      int
	contentType string
	body        []byte
	elapsed     time.Duration
	dpopNonce   string // a valid DPoP-Nonce header (RFC 9449 8), else ""
}

// target says where a callout goes: the Envoy cluster and the :authority to send.
type target struct {
	cluster   string
	authority string
	timeout   time.Duration
	// owner, when not zero, is the HTTP context the answer belongs to. A callout sent while
	// the SDK runs the root context (a request resumed by a provider fetch) is answered in
	// the root context; the answer is then handed to owner, or dropped if owner is gone.
	owner uint32
}

// dispatch sends req by callout and calls done exactly once, with the response or an error,
// unless the answer's owner is gone. maxBody caps how much of the response body is read.
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
			if t.owner != 0 && proxywasm.SetEffectiveContext(t.owner) != nil {
				return // the request went away while the callout ran
			}
			elapsed := now().Sub(start)
			r, err := readCalloutResponse(numHeaders, bodySize, maxBody, elapsed)
			if errors.Is(err, errUnreachable) && !errors.Is(err, errTimeout) && elapsed >= t.timeout-t.timeout/20 {
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
		case "dpop-nonce":
			r.dpopNonce = oidc.DPoPNonce(h[1])
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
	if err := routerFailure(r); err != nil {
		return nil, err
	}
	return r, nil
}

// routerFailure recognises the local reply Envoy's router sends in place of a provider's
// answer when the callout could not be completed, so that it is reported as the provider
// being slow or unreachable rather than as an answer from it.
func routerFailure(r *calloutResponse) error {
	if r.status != 503 && r.status != 504 || !strings.HasPrefix(r.contentType, "text/plain") {
		return nil
	}
	body := string(r.body)
	switch {
	case r.status == 504 && body == "upstream request timeout":
		return errTimeout
	case r.status == 503 && (strings.HasPrefix(body, "upstream connect error or disconnect/reset before headers") ||
		body == "no healthy upstream"):
		return fmt.Errorf("%w: %s", errUnreachable, body)
	}
	return nil
}
