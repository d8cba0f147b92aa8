package filter

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRespondHTMLAndJSON(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	evil := `</code><script>alert(1)</script>`
	for _, tc := range []struct {
		name      string
		hdrs      []string
		wantJSON  bool
		wantCorr  string // "" : a random one
		corrIsHex bool
	}{
		{"navigation", []string{"accept", "text/html", "x-request-id", "req-123"}, false, "req-123", false},
		{"fetch", []string{"accept", "application/json", "sec-fetch-mode", "cors", "x-request-id", "req-456"}, true, "req-456", false},
		{"hostile request id", []string{"accept", "text/html", "x-request-id", evil}, false, "", true},
		{"overlong request id", []string{"accept", "text/html", "x-request-id", strings.Repeat("a", 65)}, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := l.request("GET", "/oauth2/callback?state=x", tc.hdrs...) // missing code: 400
			if r.status() != 400 {
				t.Fatalf("status %d", r.status())
			}
			corr := r.header("x-correlation-id")
			if tc.wantCorr != "" && corr != tc.wantCorr {
				t.Errorf("correlation id %q, want %q", corr, tc.wantCorr)
			}
			if tc.corrIsHex && (len(corr) != 16 || strings.Trim(corr, "0123456789abcdef") != "") {
				t.Errorf("correlation id %q, want 16 random hex digits", corr)
			}
			body := string(r.local.Data)
			if strings.Contains(body, "<script>") {
				t.Errorf("unescaped input in the page: %s", body)
			}
			if r.header("cache-control") != "no-store" {
				t.Errorf("cache-control %q", r.header("cache-control"))
			}
			if tc.wantJSON {
				var v struct{ Error, ErrorDescription, CorrelationID string }
				dec := json.NewDecoder(strings.NewReader(body))
				if err := dec.Decode(&v); err != nil || !strings.HasPrefix(r.header("content-type"), "application/json") {
					t.Fatalf("JSON error body: %v %q", err, body)
				}
				var m map[string]string
				json.Unmarshal(r.local.Data, &m)
				if m["error"] != "invalid_request" || m["correlation_id"] != corr || m["error_description"] == "" {
					t.Errorf("JSON body %v", m)
				}
			} else if !strings.HasPrefix(r.header("content-type"), "text/html") || !strings.Contains(body, "<code>"+corr+"</code>") ||
				!strings.Contains(body, `href="/oauth2/sign_in"`) {
				t.Errorf("HTML page: %q %s", r.header("content-type"), body)
			}
			found := false
			for _, line := range l.host.GetWarnLogs() {
				if strings.Contains(line, "corr="+corr) && strings.Contains(line, "status=400") {
					found = true
				}
			}
			if !found {
				t.Errorf("no log line with corr=%s", corr)
			}
		})
	}
}
