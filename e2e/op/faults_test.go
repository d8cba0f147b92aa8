package op

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	s := startOP(t, Config{})
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, r *http.Response, err error)
	}{
		{"HTTP500", Fault{Kind: FaultHTTP500}, func(t *testing.T, r *http.Response, err error) {
			if err != nil || r.StatusCode != 500 {
				t.Errorf("got %v %v, want 500", r, err)
			}
		}},
		{"503 via Status", Fault{Kind: FaultHTTP500, Status: 503}, func(t *testing.T, r *http.Response, err error) {
			if err != nil || r.StatusCode != 503 {
				t.Errorf("got %v %v, want 503", r, err)
			}
		}},
		{"HTML", Fault{Kind: FaultHTML}, func(t *testing.T, r *http.Response, err error) {
			if err != nil || r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Errorf("got %v %v, want 200 text/html", r, err)
			}
		}},
		{"invalid JSON", Fault{Kind: FaultInvalidJSON}, func(t *testing.T, r *http.Response, err error) {
			if err != nil || r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %v %v", r, err)
			}
			var v any
			if json.NewDecoder(r.Body).Decode(&v) == nil {
				t.Error("body parses as JSON")
			}
		}},
		{"OAuth error", Fault{Kind: FaultOAuthError}, func(t *testing.T, r *http.Response, err error) {
			var body struct{ Error string }
			if err != nil || r.StatusCode != 400 || json.NewDecoder(r.Body).Decode(&body) != nil || body.Error != "invalid_grant" {
				t.Errorf("got %v %v (error %q), want 400 invalid_grant", r, err, body.Error)
			}
		}},
		{"slow", Fault{Kind: FaultSlow, Delay: 2 * time.Second}, func(t *testing.T, r *http.Response, err error) {
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("got %v %v, want a client timeout", r, err)
			}
		}},
		{"close connection", Fault{Kind: FaultCloseConnection}, func(t *testing.T, r *http.Response, err error) {
			if err == nil {
				t.Errorf("got %d, want a transport error", r.StatusCode)
			}
		}},
	}
	client := &http.Client{Timeout: 300 * time.Millisecond}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetFault(EndpointDiscovery, tt.fault)
			defer s.ClearFaults()
			r, err := client.Get(s.Endpoints().Discovery)
			if r != nil {
				defer r.Body.Close()
			}
			tt.check(t, r, err)
		})
	}
	if r := get(t, nil, s.Endpoints().Discovery); r.status != 200 || r.json(t)["issuer"] != s.Issuer() {
		t.Errorf("after ClearFaults: %d", r.status)
	}
	if c := s.Counts().Discovery; c != len(tests)+1 {
		t.Errorf("Discovery count %d, want %d (faulted requests count)", c, len(tests)+1)
	}
}

func TestFaultTargetsAndTimes(t *testing.T) {
	s := startOP(t, Config{})
	tr := issue(t, s)
	refresh := func() int {
		r := post(t, nil, s.Endpoints().Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}, s.ClientID(), s.ClientSecret())
		if r.status == 200 && r.header.Get("Content-Type") == "application/json" {
			tr.RefreshToken = r.json(t)["refresh_token"].(string)
		}
		return r.status
	}
	// A refresh-only fault spares other grants; Times limits it.
	s.SetFault(EndpointRefresh, Fault{Kind: FaultHTTP500, Times: 2})
	if a, b := refresh(), refresh(); a != 500 || b != 500 {
		t.Fatalf("faulted refreshes: %d %d", a, b)
	}
	if st := refresh(); st != 200 {
		t.Fatalf("third refresh after Times=2: %d", st)
	}
	s.SetFault(EndpointRefresh, Fault{Kind: FaultHTTP500})
	issue(t, s) // the code grant is unaffected
	// The grant's own fault wins over the token endpoint's.
	s.SetFault(EndpointToken, Fault{Kind: FaultHTML})
	if st := refresh(); st != 500 {
		t.Errorf("refresh with both faults: %d, want the refresh fault (500)", st)
	}
	s.SetFault(EndpointRefresh, Fault{}) // FaultNone clears
	if st := refresh(); st != 200 {
		t.Errorf("token fault must give HTML 200, got %d", st)
	}
	s.ClearFaults()
	if st := refresh(); st != 200 {
		t.Errorf("after ClearFaults: %d", st)
	}
	c := s.Counts()
	if c.Refresh != 6 || c.Code != 2 || c.Token != 8 {
		t.Errorf("counts %+v", c)
	}
	s.ResetCounts()
	if s.Counts() != (Counts{}) {
		t.Errorf("after ResetCounts: %+v", s.Counts())
	}
}

func TestSlowFaultEndsOnClose(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault(EndpointJWKS, Fault{Kind: FaultSlow, Delay: time.Minute})
	done := make(chan error, 1)
	go func() {
		r, err := http.Get(s.Endpoints().JWKS)
		if err == nil {
			r.Body.Close()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a slow request outlived Close")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}
