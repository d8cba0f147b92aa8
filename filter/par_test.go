package filter

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// readyPAR answers the start-up fetches with a discovery document that advertises a PAR
// endpoint (and, when required, requires it).
func (l *lh) readyPAR(required bool) {
	l.t.Helper()
	var doc map[string]any
	_ = json.Unmarshal([]byte(l.discoveryJSON()), &doc)
	doc["pushed_authorization_request_endpoint"] = lhIssuer + "/par"
	doc["require_pushed_authorization_requests"] = required
	b, _ := json.Marshal(doc)
	l.answer(l.expectCallout("/.well-known/openid-configuration"), "200", "application/json", string(b))
	l.answer(l.expectCallout("/jwks"), "200", "application/json", l.jwksJSON())
}

const lhRequestURI = "urn:ietf:params:oauth:request_uri:abc-123"

func TestPARPushesTheAuthorizationRequest(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["extra_auth_params"] = map[string]any{"login_hint": "u@example.com"} })
	l.readyPAR(false)
	r := l.navigate("/app/page")
	if r.local != nil {
		t.Fatalf("the login was not paused for the push: %d %s", r.status(), r.header("location"))
	}
	c := l.requestCallout(r.id, "/par")
	if lhHeader(c.Headers, ":method") != "POST" || !strings.HasPrefix(lhHeader(c.Headers, "authorization"), "Basic ") {
		t.Errorf("push: %s, authorization %q", lhHeader(c.Headers, ":method"), lhHeader(c.Headers, "authorization"))
	}
	form, err := url.ParseQuery(string(c.Body))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"response_type": "code", "client_id": lhClient, "scope": "openid profile email",
		"redirect_uri": "https://app.example.com/oauth2/callback", "code_challenge_method": "S256", "login_hint": "u@example.com"} {
		if got := form.Get(name); got != want {
			t.Errorf("pushed %s = %q, want %q", name, got, want)
		}
	}
	l.answer(c, "201", "application/json", `{"request_uri":"`+lhRequestURI+`","expires_in":60}`)
	r = l.reply(r.id)
	if r.status() != 302 {
		t.Fatalf("after the push: %d", r.status())
	}
	loc, _ := url.Parse(r.header("location"))
	if loc.Path != "/authorize" || len(loc.Query()) != 2 || loc.Query().Get("client_id") != lhClient || loc.Query().Get("request_uri") != lhRequestURI {
		t.Fatalf("redirect %s, want only client_id and request_uri", r.header("location"))
	}
	if l.counter("oidc_proxy.login.pushed") != 1 || l.counter("oidc_proxy.login.started") != 1 || l.counter("oidc_proxy.callout.par.ok") != 1 {
		t.Errorf("metrics: pushed %d started %d callout.par.ok %d", l.counter("oidc_proxy.login.pushed"),
			l.counter("oidc_proxy.login.started"), l.counter("oidc_proxy.callout.par.ok"))
	}

	// The pushed state completes the login as a state in the URL would.
	ls, _ := l.openState("https://x/?state=" + url.QueryEscape(form.Get("state")))
	if form.Get("nonce") != ls.Nonce {
		t.Error("pushed nonce is not the sealed one")
	}
	lg := lhLogin{cookie: lhCookies(r.headers("set-cookie")), state: form.Get("state"), nonce: ls.Nonce, path: "/app/page"}
	cb, tc := l.callback(lg, "code-1")
	if tc == nil {
		t.Fatalf("no code exchange: %d", cb.status())
	}
	l.answer(*tc, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	if r := l.reply(cb.id); r.status() != 302 || r.header("location") != "/app/page" {
		t.Fatalf("callback: %d %q", r.status(), r.header("location"))
	}
}

func TestPARModes(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		endpoint  string // provider.pushed_authorization_request_endpoint
		advertise bool   // discovery names the endpoint
		required  bool
		want      string // "push", "redirect" or "502"
	}{
		{"auto, not advertised", "auto", "", false, false, "redirect"},
		{"auto, advertised", "auto", "", true, false, "push"},
		{"auto, configured", "auto", lhIssuer + "/par", false, false, "push"},
		{"never, advertised and required", "never", "", true, true, "redirect"},
		{"always, not advertised", "always", "", false, false, "502"},
		{"always, configured", "always", lhIssuer + "/par", false, false, "push"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLH(t, func(c map[string]any) {
				c["login"] = map[string]any{"par": tt.mode}
				if tt.endpoint != "" {
					c["provider"].(map[string]any)["pushed_authorization_request_endpoint"] = tt.endpoint
				}
			})
			if tt.advertise {
				l.readyPAR(tt.required)
			} else {
				l.ready()
			}
			r := l.navigate("/x")
			switch tt.want {
			case "push":
				if r.local != nil {
					t.Fatalf("answered %d, want a push", r.status())
				}
				l.requestCallout(r.id, "/par")
			case "redirect":
				if r.status() != 302 || !strings.Contains(r.header("location"), "code_challenge=") {
					t.Fatalf("%d %q, want a redirect carrying the request", r.status(), r.header("location"))
				}
			case "502":
				if r.status() != 502 || r.header("location") != "" || !strings.Contains(string(r.local.Data), "names no endpoint") {
					t.Fatalf("%d %q", r.status(), r.local.Data)
				}
				if l.counter("oidc_proxy.login.failed.par") != 1 {
					t.Error("login.failed.par not counted")
				}
			}
		})
	}
}

// TestPARFailures: a push that fails is a page with a correlation id, never a redirect.
func TestPARFailures(t *testing.T) {
	tests := []struct {
		name, status, ct, body string
		api                    bool
		want                   int
		metric, text           string
	}{
		{"refused", "400", "application/json", `{"error":"invalid_request","error_description":"bad redirect_uri <script>"}`, false, 502, "par.http_4xx", "refused the sign-in request (invalid_request)"},
		{"client refused", "401", "application/json", `{"error":"invalid_client"}`, false, 502, "par.http_4xx", "(invalid_client)"},
		{"server error", "500", "text/html", `<html>oops</html>`, false, 502, "par.http_5xx", "invalid answer"},
		{"unavailable", "503", "application/json", `{"error":"temporarily_unavailable"}`, false, 503, "par.http_5xx", "temporarily unavailable"},
		{"timeout", "504", "text/plain", "upstream request timeout", false, 504, "par.timeout", "did not answer in time"},
		{"unreachable", "503", "text/plain", "no healthy upstream", false, 502, "par.unreachable", "could not be reached"},
		{"bad json", "201", "application/json", `{"request_uri":`, false, 502, "par.invalid", "invalid answer"},
		{"missing request_uri", "201", "application/json", `{"expires_in":60}`, false, 502, "par.invalid", "invalid answer"},
		{"missing expires_in", "201", "application/json", `{"request_uri":"` + lhRequestURI + `"}`, false, 502, "par.invalid", "invalid answer"},
		{"api client gets json", "400", "application/json", `{"error":"invalid_request"}`, true, 502, "par.http_4xx", `"error":"par_endpoint"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLH(t, nil)
			l.readyPAR(false)
			var r lhReply
			if tt.api {
				r = l.request("GET", "/oauth2/sign_in?rd=/x", "accept", "application/json")
			} else {
				r = l.navigate("/x")
			}
			c := l.requestCallout(r.id, "/par")
			l.answer(c, tt.status, tt.ct, tt.body)
			r = l.reply(r.id)
			if r.status() != tt.want || r.header("location") != "" {
				t.Fatalf("%d location %q, want %d and no redirect", r.status(), r.header("location"), tt.want)
			}
			if r.header("x-correlation-id") == "" || !strings.Contains(string(r.local.Data), r.header("x-correlation-id")) {
				t.Error("no correlation id on the page")
			}
			if !strings.Contains(string(r.local.Data), tt.text) {
				t.Errorf("page %q lacks %q", r.local.Data, tt.text)
			}
			if strings.Contains(string(r.local.Data), "<script>") {
				t.Error("the provider's description reached the page")
			}
			if l.counter("oidc_proxy.callout."+tt.metric) != 1 || l.counter("oidc_proxy.login.failed.par") != 1 || l.counter("oidc_proxy.login.started") != 0 {
				t.Errorf("metrics: callout.%s %d, login.failed.par %d, started %d", tt.metric, l.counter("oidc_proxy.callout."+tt.metric),
					l.counter("oidc_proxy.login.failed.par"), l.counter("oidc_proxy.login.started"))
			}
			var audit bool
			for _, line := range l.allLogs() {
				audit = audit || strings.Contains(line, "login_failed") && strings.Contains(line, "reason=par")
			}
			if !audit {
				t.Error("no login_failed audit line with reason=par")
			}
		})
	}
}
