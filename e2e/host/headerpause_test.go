package host

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// A pause in proxy_on_request_headers of a request with a body, as Envoy handles it: by
// default StopAllIteration (the body callback only after the plugin continues, and the
// headers go upstream when it does), with allow_on_headers_stop_iteration StopIteration
// (the body callback at once, the headers held and readable until the plugin answers).

var holdSeq atomic.Int64

// heldBody is what /conf/holdbody answered and how many times that request reached the
// upstream.
type heldBody struct {
	status     int
	resumed    bool   // the plugin had resumed the headers when the body came
	headersErr string // reading a request header in the body callback
	body       string
	reached    int
}

// holdBody posts a body to /conf/holdbody (the plugin pauses the headers on a callout,
// resumes them when it answers, and answers from the body). wait: until the upstream saw
// it (else a moment, for a request that should not reach it).
func (f *fixture) holdBody(t testing.TB, wait bool) heldBody {
	t.Helper()
	uri := "/conf/holdbody?n=" + strconv.FormatInt(holdSeq.Add(1), 10)
	resp := f.do(t, "POST", uri, "form=1", "Content-Type", "application/x-www-form-urlencoded")
	b, _ := io.ReadAll(resp.Body)
	var got struct {
		Resumed    bool   `json:"resumed"`
		HeadersErr string `json:"headers_err"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("POST %s: %d %q: %v", uri, resp.StatusCode, b, err)
	}
	if wait {
		// The upstream's handler runs on its own connection, perhaps after the answer.
		eventually(t, 2*time.Second, "the upstream to see the request", func() bool { return f.upstream.reached(uri) > 0 })
	} else {
		time.Sleep(100 * time.Millisecond)
	}
	return heldBody{status: resp.StatusCode, resumed: got.Resumed, headersErr: got.HeadersErr, body: got.Body,
		reached: f.upstream.reached(uri)}
}

// checkStopAll: Envoy's default. The body comes only after the plugin resumed the headers,
// which then are no longer readable, and the upstream request had started with them.
// exact: the upstream saw them (the host always; on Envoy it depends on whether the
// upstream connection was ready before the answer reset the request).
func checkStopAll(t *testing.T, r heldBody, exact bool) {
	t.Helper()
	if r.status != http.StatusOK || !r.resumed || r.headersErr != errBadArgument || r.body != "form=1" {
		t.Errorf("got %+v, want the body after the resume, the headers gone (%q)", r, errBadArgument)
	}
	if exact && r.reached != 1 || r.reached > 1 {
		t.Errorf("the upstream saw the request %d times, want the headers once", r.reached)
	}
}

// checkStopIteration: allow_on_headers_stop_iteration. The body comes while the headers
// are held (still readable), and the answer from it is all: nothing reached the upstream.
func checkStopIteration(t *testing.T, r heldBody) {
	t.Helper()
	if r.status != http.StatusOK || r.resumed || r.headersErr != "" || r.body != "form=1" {
		t.Errorf("got %+v, want the body with the headers still held", r)
	}
	if r.reached != 0 {
		t.Errorf("the upstream saw the request %d times, want never", r.reached)
	}
}

func TestHeaderPauseStopsTheBody(t *testing.T) {
	checkStopAll(t, newFixture(t, nil).holdBody(t, true), true)
}

func TestHeaderPauseWithAllowOnHeadersStopIteration(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AllowOnHeadersStopIteration = true })
	checkStopIteration(t, f.holdBody(t, false))

	// Continue from the body continues the held headers too: here before the callout that
	// the headers wait for has answered, so the upstream lacks the header it would add.
	// (filter/http.go pauses such a body for this reason.)
	resp := f.do(t, "POST", "/conf/resume", "x=1", "Content-Type", "application/x-www-form-urlencoded")
	e := readEcho(t, resp)
	if _, ok := e.Headers["x-callout-status"]; ok || e.Body != "x=1" {
		t.Errorf("upstream got x-callout-status %v and body %q: want the request as the body's Continue sent it, before the callout", e.Headers["x-callout-status"], e.Body)
	}
}
