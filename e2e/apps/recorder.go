package apps

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder stands between an app and a provider's token endpoint, where the app makes its
// on-behalf-of calls: it keeps the token each call presents (the assertion of Entra's grant,
// or the subject_token of RFC 8693's), so a test can check the token the app's server held,
// and forwards the call unchanged. The app calls URL; SetTarget names the endpoint.
type Recorder struct {
	URL    string
	srv    *httptest.Server
	target atomic.Value // string
	mu     sync.Mutex
	calls  []Call
}

// Call is one call the app made.
type Call struct {
	At     time.Time
	Token  string // the token it presented
	Status int    // the provider's answer
}

// NewRecorder starts a recorder; Close stops it.
func NewRecorder() *Recorder {
	o := &Recorder{}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	o.URL = o.srv.URL
	return o
}

// SetTarget sets the token endpoint the calls go to.
func (o *Recorder) SetTarget(endpoint string) { o.target.Store(endpoint) }

// Close stops the recorder.
func (o *Recorder) Close() { o.srv.Close() }

// Calls are the calls so far, in order.
func (o *Recorder) Calls() []Call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Call(nil), o.calls...)
}

func (o *Recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	tok := form.Get("assertion")
	if tok == "" {
		tok = form.Get("subject_token")
	}
	target, _ := o.target.Load().(string)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, "no target", http.StatusBadGateway)
		return
	}
	for _, h := range []string{"Content-Type", "Authorization", "Accept"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, "the provider: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	o.mu.Lock()
	o.calls = append(o.calls, Call{At: time.Now(), Token: tok, Status: resp.StatusCode})
	o.mu.Unlock()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
