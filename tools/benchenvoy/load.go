package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A Request is one request's bytes on the wire: head (request line and headers up to the
// varying ones), then Vary(i) (headers that differ per request: an X-Request-Id always, and
// for the cold rows a different session or token), then the blank line. The load generator
// writes them on raw keep-alive TCP connections, with no HTTP client library in between, so
// that its own CPU per request is small and the same for every row.
type Request struct {
	Head []byte
	// Vary appends request i's varying header lines (each ending in CRLF) to b.
	Vary func(b []byte, i int) []byte
	// Want is the status every answer must have (the row is invalid otherwise).
	Want int
}

// Result is one closed-loop run: N requests by C connections, each sending its next request
// when the previous answer is read in full.
type Result struct {
	N, C      int
	Wall      time.Duration
	Latencies []time.Duration // sorted
	Wrong     int             // answers with another status than Want
	FirstBad  string          // the first such answer's status line and Location
}

// P returns the q-quantile (0..1) of the latencies, nearest rank.
func (r Result) P(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	i = max(0, min(i, len(r.Latencies)-1))
	return r.Latencies[i]
}

// RPS is requests per second over the run's wall time.
func (r Result) RPS() float64 { return float64(r.N) / r.Wall.Seconds() }

// Load sends n requests to addr (host:port) over c keep-alive connections in a closed loop,
// request number i (0..n-1) taken by whichever connection is free next. Connections are
// opened before the clock starts.
func Load(addr string, req Request, n, c, first int) (Result, error) {
	conns := make([]*conn, c)
	for k := range conns {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			for _, x := range conns[:k] {
				x.c.Close()
			}
			return Result{}, err
		}
		conns[k] = &conn{c: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	}
	defer func() {
		for _, x := range conns {
			x.c.Close()
		}
	}()
	var next atomic.Int64
	next.Store(int64(first))
	end := int64(first + n)
	lat := make([]time.Duration, n)
	var wrong atomic.Int64
	var bad atomic.Value
	errs := make([]error, c)
	var wg sync.WaitGroup
	t0 := time.Now()
	for k, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 16<<10)
			for {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				buf = append(append(buf[:0], req.Head...), "X-Request-Id: "...)
				buf = strconv.AppendInt(buf, 1e15+i, 16)
				buf = append(buf, "\r\n"...)
				if req.Vary != nil {
					buf = req.Vary(buf, int(i))
				}
				buf = append(buf, "\r\n"...)
				s := time.Now()
				if _, err := cn.c.Write(buf); err != nil {
					errs[k] = err
					return
				}
				status, loc, err := cn.readResponse()
				lat[i-int64(first)] = time.Since(s)
				if err != nil {
					errs[k] = fmt.Errorf("request %d: %w", i, err)
					return
				}
				if status != req.Want {
					if wrong.Add(1) == 1 {
						bad.Store(fmt.Sprintf("%d %s", status, loc))
					}
				}
			}
		}()
	}
	wg.Wait()
	res := Result{N: n, C: c, Wall: time.Since(t0), Latencies: lat, Wrong: int(wrong.Load())}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	if b, ok := bad.Load().(string); ok {
		res.FirstBad = b
	}
	sortDurations(res.Latencies)
	return res, nil
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

var (
	headerContentLength = []byte("content-length:")
	headerLocation      = []byte("location:")
	headerChunked       = []byte("transfer-encoding: chunked")
)

// readResponse reads one HTTP/1.1 response (Content-Length or chunked body) and returns its
// status and Location.
func (cn *conn) readResponse() (status int, location string, err error) {
	line, err := cn.r.ReadSlice('\n')
	if err != nil {
		return 0, "", err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, "", fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		h, err := cn.r.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		if len(h) <= 2 {
			break
		}
		h = bytes.TrimRight(h, "\r\n")
		switch {
		case hasPrefixFold(h, headerContentLength):
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[len(headerContentLength):])))
			if err != nil {
				return 0, "", fmt.Errorf("bad content-length %q", h)
			}
		case hasPrefixFold(h, headerLocation):
			location = string(bytes.TrimSpace(h[len(headerLocation):]))
		case hasPrefixFold(h, headerChunked):
			chunked = true
		}
	}
	if chunked {
		return status, location, cn.discardChunked()
	}
	if length < 0 {
		return 0, "", errors.New("response without content-length (the load generator needs one)")
	}
	_, err = cn.r.Discard(length)
	return status, location, err
}

func (cn *conn) discardChunked() error {
	for {
		line, err := cn.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			for { // trailers, then the blank line
				t, err := cn.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(t) <= 2 {
					return nil
				}
			}
		}
		if _, err := cn.r.Discard(int(size) + 2); err != nil {
			return err
		}
	}
}

func hasPrefixFold(s, prefix []byte) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], prefix)
}
