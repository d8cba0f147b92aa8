package main

import (
	"bufio"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const us1 = time.Microsecond

func s(cpu, p99 time.Duration) sample { return sample{cpu: cpu, p50: p99 / 2, p99: p99, rps: 1000} }

func TestSummaryPairsRunsWithNone(t *testing.T) {
	r := results{}
	// Run 2 is slow for everyone; paired differences ignore it, raw medians do not.
	for i, none := range []time.Duration{100, 300, 110} {
		r.add("none", 1, s(none*us1, 500*us1))
		r.add("peer", 1, s((none+40)*us1, 520*us1))
		r.add("row", 1, s((none+80+time.Duration(i))*us1, 600*us1))
	}
	got, ok := r.summary("row", 1, "peer", "")
	if !ok {
		t.Fatal("no summary")
	}
	if got.addCPU != 81*us1 {
		t.Errorf("added CPU %v, want 81µs (the median of 80, 81, 82)", got.addCPU)
	}
	if got.addP99 != 100*us1 {
		t.Errorf("added p99 %v, want 100µs", got.addP99)
	}
	if math.Abs(got.peerRatio-81.0/40) > 1e-9 {
		t.Errorf("peer ratio %v, want %v", got.peerRatio, 81.0/40)
	}
	if !math.IsNaN(got.versusRatio) {
		t.Errorf("ratio to no row: %v, want NaN", got.versusRatio)
	}
	if _, ok := r.summary("missing", 1, "", ""); ok {
		t.Error("a summary of a row that did not run")
	}
}

func TestRatioWithPeerInTheNoise(t *testing.T) {
	r := results{}
	for _, d := range []time.Duration{2, -1, 3} { // the peer costs about nothing
		r.add("none", 16, s(100*us1, 0))
		r.add("peer", 16, s((100+d)*us1, 0))
		r.add("row", 16, s(150*us1, 0))
	}
	if got := r.ratio("row", "peer", 16); math.Abs(got-25) > 1e-9 {
		t.Errorf("ratio %v, want 25 (50µs over the peer's median 2µs)", got)
	}
	r2 := results{}
	for range 3 {
		r2.add("none", 1, s(100*us1, 0))
		r2.add("peer", 1, s(99*us1, 0))
		r2.add("row", 1, s(150*us1, 0))
	}
	if got := r2.ratio("row", "peer", 1); !math.IsNaN(got) {
		t.Errorf("ratio %v over a peer that costs nothing, want NaN", got)
	}
}

func TestQuantile(t *testing.T) {
	var r Result
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*us1)
	}
	if r.P(0.5) != 50*us1 || r.P(0.99) != 99*us1 || r.P(1) != 100*us1 {
		t.Errorf("p50 %v p99 %v p100 %v", r.P(0.5), r.P(0.99), r.P(1))
	}
}

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, raw, loc string
		status         int
	}{
		{"content-length", "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", "", 200},
		{"redirect", "HTTP/1.1 302 Found\r\nLocation: http://op/authorize?x=1\r\nContent-Length: 0\r\n\r\n", "http://op/authorize?x=1", 302},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw + tc.raw // two answers on one connection: the first must end exactly
			c := &conn{r: bufio.NewReader(strings.NewReader(raw))}
			for range 2 {
				status, loc, err := c.readResponse()
				if err != nil || status != tc.status || loc != tc.loc {
					t.Fatalf("got %d %q %v, want %d %q", status, loc, err, tc.status, tc.loc)
				}
			}
		})
	}
}

// TestLoad runs the load generator against a local server: every request answered and
// counted, X-Request-Id and Vary applied, wrong statuses reported.
func TestLoad(t *testing.T) {
	seen := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("X-Request-Id") + " " + r.Header.Get("Authorization")
		if r.Header.Get("Authorization") == "Bearer t7" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr).String()
	tokens := make([]string, 20)
	for i := range tokens {
		tokens[i] = "t" + string(rune('0'+i%10))
	}
	req := Request{Head: apiHead(addr, "/api/x", ""), Vary: varyToken(tokens), Want: 200}
	res, err := Load(addr, req, 10, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Latencies) != 10 || res.Wrong != 1 || !strings.HasPrefix(res.FirstBad, "401") {
		t.Errorf("%d latencies, %d wrong (%q); want 10, 1 (401)", len(res.Latencies), res.Wrong, res.FirstBad)
	}
	close(seen)
	ids := map[string]bool{}
	for s := range seen {
		ids[s] = true
	}
	if len(ids) != 10 || !ids["38d7ea4c68000 Bearer t0"] {
		t.Errorf("requests seen: %v", ids)
	}
}
