package main

import (
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
)

// upstreamBody is what the app answers: a small page.
var upstreamBody = []byte("<!doctype html><title>ok</title><p>hello from the upstream app</p>\n")

// upstream is the small fast app behind every row: net/http answering 200 with a 68-byte
// body to every path. It remembers what the last request carried, so each row can prove that
// its filter let the request through with the identity it forwards (and not a 302).
type upstream struct {
	srv  *http.Server
	url  string
	last atomic.Pointer[http.Header]
}

func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{url: "http://" + ln.Addr().String()}
	length := strconv.Itoa(len(upstreamBody))
	u.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header
		u.last.Store(&h)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", length)
		w.Write(upstreamBody)
	})}
	go u.srv.Serve(ln)
	return u, nil
}

// lastHeader is the header of the last request the app received (nil before the first).
func (u *upstream) lastHeader() http.Header {
	if h := u.last.Load(); h != nil {
		return *h
	}
	return nil
}

func (u *upstream) Close() { u.srv.Close() }
