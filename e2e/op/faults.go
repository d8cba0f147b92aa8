package op

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Endpoint names what a request asked of the provider, for counting and for
// fault injection. A token endpoint request is counted as EndpointToken and
// as its grant (EndpointCode, EndpointRefresh, ...).
type Endpoint int

const (
	EndpointDiscovery Endpoint = iota
	EndpointJWKS
	EndpointAuthorize
	EndpointLogin
	EndpointToken         // any request at the token endpoint
	EndpointCode          // grant_type=authorization_code
	EndpointRefresh       // grant_type=refresh_token
	EndpointTokenExchange // grant_type=urn:ietf:params:oauth:grant-type:token-exchange
	EndpointOBO           // Entra on-behalf-of, at the token endpoint or /entra/token
	EndpointUserinfo
	EndpointIntrospection
	EndpointRevocation
	EndpointEndSession
	// EndpointRefreshReuse counts presentations of an already rotated refresh
	// token; it is a count only (faults set on it have no effect).
	EndpointRefreshReuse
	// EndpointPAR is the pushed authorization request endpoint (Config.PAR).
	EndpointPAR
	endpointCount
)

var endpointNames = [...]string{
	"discovery", "jwks", "authorize", "login", "token", "code", "refresh",
	"token_exchange", "obo", "userinfo", "introspection", "revocation",
	"end_session", "refresh_reuse", "par",
}

func (e Endpoint) String() string {
	if e >= 0 && e < endpointCount {
		return endpointNames[e]
	}
	return "endpoint(" + strconv.Itoa(int(e)) + ")"
}

// Counts are the requests the provider received per endpoint since start or
// the last ResetCounts, faulted requests included.
type Counts struct {
	Discovery     int
	JWKS          int
	Authorize     int
	Login         int // GET and POST of the login form
	Token         int // every token endpoint request, any grant
	Code          int
	Refresh       int
	TokenExchange int
	OBO           int
	Userinfo      int
	Introspection int
	Revocation    int
	EndSession    int
	RefreshReuse  int // rotated refresh tokens presented again
	PAR           int // pushed authorization requests
}

// FaultKind is how a faulted request fails.
type FaultKind int

const (
	FaultNone            FaultKind = iota
	FaultHTTP500                   // status 500 (or Fault.Status) with a plain text body
	FaultHTML                      // an HTML error page, status 200 (or Fault.Status)
	FaultInvalidJSON               // application/json that does not parse, status 200 (or Fault.Status)
	FaultSlow                      // sleep Fault.Delay (default 5s), then answer normally
	FaultCloseConnection           // close the TCP connection without an answer
	// FaultEditJSON answers normally, then lets Fault.Edit change the JSON object of a
	// successful answer (drop expires_in, inflate a token, ...) before it is sent.
	FaultEditJSON
	// FaultOAuthError refuses the request as RFC 6749 section 5.2 says: status 400 (or
	// Fault.Status), a JSON body {"error": "invalid_grant"} (or Fault.Error): a refresh
	// token the provider no longer honours (revoked, session ended by an admin).
	FaultOAuthError
)

// Fault is injected into requests for one endpoint.
type Fault struct {
	Kind FaultKind
	// Status overrides the HTTP status of FaultHTTP500, FaultHTML and
	// FaultInvalidJSON.
	Status int
	// Delay is how long FaultSlow sleeps (5s when zero). The sleep ends early
	// when the client goes away or the server closes.
	Delay time.Duration
	// Edit changes a successful JSON answer of FaultEditJSON in place.
	Edit func(body map[string]any)
	// Times limits the fault to the next Times matching requests; zero means
	// until cleared.
	Times int
	// Error is FaultOAuthError's error code; invalid_grant when empty.
	Error string
}

// stats counts requests and holds the faults.
type stats struct {
	mu     sync.Mutex
	counts [endpointCount]int
	faults map[Endpoint]*Fault
}

func newStats() *stats { return &stats{faults: map[Endpoint]*Fault{}} }

func (s *stats) add(e Endpoint) {
	s.mu.Lock()
	s.counts[e]++
	s.mu.Unlock()
}

func (s *stats) snapshot() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	return Counts{
		Discovery: c[EndpointDiscovery], JWKS: c[EndpointJWKS], Authorize: c[EndpointAuthorize],
		Login: c[EndpointLogin], Token: c[EndpointToken], Code: c[EndpointCode],
		Refresh: c[EndpointRefresh], TokenExchange: c[EndpointTokenExchange], OBO: c[EndpointOBO],
		Userinfo: c[EndpointUserinfo], Introspection: c[EndpointIntrospection],
		Revocation: c[EndpointRevocation], EndSession: c[EndpointEndSession], PAR: c[EndpointPAR],
		RefreshReuse: c[EndpointRefreshReuse],
	}
}

func (s *stats) reset() {
	s.mu.Lock()
	s.counts = [endpointCount]int{}
	s.mu.Unlock()
}

func (s *stats) setFault(e Endpoint, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == FaultNone {
		delete(s.faults, e)
		return
	}
	s.faults[e] = &f
}

func (s *stats) clearFaults() {
	s.mu.Lock()
	s.faults = map[Endpoint]*Fault{}
	s.mu.Unlock()
}

// take returns the fault for the first of the endpoints that has one, and
// spends one of its Times.
func (s *stats) take(endpoints ...Endpoint) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range endpoints {
		f, ok := s.faults[e]
		if !ok {
			continue
		}
		out := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				delete(s.faults, e)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// apply carries out the fault. It reports whether the request is finished
// (false for FaultSlow after its sleep, when the request proceeds).
func (f Fault) apply(w http.ResponseWriter, r *http.Request, closing <-chan struct{}) bool {
	status := func(def int) int {
		if f.Status != 0 {
			return f.Status
		}
		return def
	}
	switch f.Kind {
	case FaultHTTP500:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status(http.StatusInternalServerError))
		_, _ = io.WriteString(w, "internal server error (injected fault)\n")
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status(http.StatusOK))
		_, _ = io.WriteString(w, "<!doctype html><html><head><title>Service Unavailable</title></head>"+
			"<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request (injected fault).</p></body></html>\n")
	case FaultInvalidJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status(http.StatusOK))
		_, _ = io.WriteString(w, `{"access_token": "truncated`)
	case FaultOAuthError:
		code := f.Error
		if code == "" {
			code = "invalid_grant"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status(http.StatusBadRequest))
		_, _ = io.WriteString(w, `{"error":"`+code+`","error_description":"refused (injected fault)"}`)
	case FaultSlow:
		d := f.Delay
		if d == 0 {
			d = 5 * time.Second
		}
		sleep(r.Context(), closing, d)
		return false
	case FaultCloseConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without a response
	}
	return true
}

func sleep(ctx context.Context, closing <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-closing:
	}
}
