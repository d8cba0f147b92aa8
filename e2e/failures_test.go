package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// wantErrorPage checks a failure page: status, the correlation id in the header, the page
// and the log line that gives the reason.
func wantErrorPage(t testing.TB, h *proxy.Proxy, r response, status int, reason string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %.300s", r.status, status, r.body)
	}
	corr := r.header.Get("X-Correlation-Id")
	if corr == "" {
		t.Fatalf("no X-Correlation-Id on the error page")
	}
	if !strings.Contains(r.body, corr) {
		t.Errorf("the page does not show the correlation id %q: %.300s", corr, r.body)
	}
	line := logLinesWith(h, corr)
	if !strings.Contains(line, "status="+strconv.Itoa(status)) || !strings.Contains(line, reason) {
		t.Errorf("no log line with correlation id %q, status %d and %q; lines:\n%s", corr, status, reason, line)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra <= 0 {
			t.Errorf("%d without a Retry-After: %q", status, r.header.Get("Retry-After"))
		}
	}
}

// TestProviderFailuresAtTokenEndpoint breaks the code exchange in each way a provider can
// fail: every login ends on an error page with a correlation id found in the log, the
// callout is counted by outcome, and nothing reaches the upstream.
func TestProviderFailuresAtTokenEndpoint(t *testing.T) {
	s, up := startRecorded(t, stack.Options{Configure: func(c map[string]any) {
		c["provider"].(map[string]any)["timeout"] = "1s"
	}})
	for _, tc := range []struct {
		name           string
		fault          op.Fault // at the code exchange; zero: the provider is stopped
		status         int
		reason         string // in the log line
		outcome, class string // callout.token.<outcome>, login.failed.<class>
	}{
		{"HTTP 500", op.Fault{Kind: op.FaultHTTP500}, 502, "unexpected HTTP status 500", "http_5xx", "token_endpoint"},
		{"HTML page", op.Fault{Kind: op.FaultHTML}, 502, "not a JSON object", "invalid", "token_endpoint"},
		{"broken JSON", op.Fault{Kind: op.FaultInvalidJSON}, 502, "not a JSON object", "invalid", "token_endpoint"},
		{"HTTP 503", op.Fault{Kind: op.FaultHTTP500, Status: 503}, 503, "unexpected HTTP status 503", "http_5xx", "token_endpoint"},
		{"slower than provider.timeout", op.Fault{Kind: op.FaultSlow, Delay: 5 * time.Second}, 504, "timed out", "timeout", "timeout"},
		{"connection closed", op.Fault{Kind: op.FaultCloseConnection}, 502, "unreachable", "unreachable", "unreachable"},
		{"provider stopped", op.Fault{}, 502, "unreachable", "unreachable", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			cb := providerLogin(t, s, b.authorize(s, "/"))
			outcome := metric(s, "oidc_proxy.callout.token."+tc.outcome)
			class := metric(s, "oidc_proxy.login.failed."+tc.class)
			if tc.fault.Kind == op.FaultNone {
				s.OP.Close()
			} else {
				tc.fault.Times = 1
				s.OP.SetFault(op.EndpointCode, tc.fault)
			}
			before := up.count()
			r := b.get(cb)
			wantErrorPage(t, s.Proxy, r, tc.status, tc.reason)
			if setsSession(r) {
				t.Error("a failed login set a session")
			}
			up.untouched(t, before)
			if got := metric(s, "oidc_proxy.callout.token."+tc.outcome); got != outcome+1 {
				t.Errorf("callout.token.%s went from %d to %d, want +1", tc.outcome, outcome, got)
			}
			if got := metric(s, "oidc_proxy.login.failed."+tc.class); got != class+1 {
				t.Errorf("login.failed.%s went from %d to %d, want +1", tc.class, class, got)
			}
		})
	}
}

// TestProviderFailuresAtStartup makes discovery or the JWKS fail before the plugin ever had
// them: requests that need the provider get 503 with Retry-After and a correlation id that
// the log explains, and once the provider recovers the plugin does too (retries with
// backoff).
func TestProviderFailuresAtStartup(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, fault string
		reason, outcome       string // in the 503's log line; callout.<endpoint>.<outcome>
	}{
		{"discovery HTTP 500", "discovery", fault500, "provider answered HTTP 500", "http_5xx"},
		{"discovery HTML", "discovery", faultHTML, "not a JSON object", "invalid"},
		{"discovery broken JSON", "discovery", faultGarbage, "not a JSON object", "invalid"},
		{"discovery slow", "discovery", faultSlow, "timed out", "timeout"},
		{"discovery connection closed", "discovery", faultReset, "unreachable", "unreachable"},
		{"JWKS HTTP 500", "jwks", fault500, "provider answered HTTP 500", "http_5xx"},
		{"JWKS HTML", "jwks", faultHTML, "not a JSON object", "invalid"},
		{"JWKS broken JSON", "jwks", faultGarbage, "not a JSON object", "invalid"},
		{"provider down", "", "", "unreachable", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fop := newFakeOP(t)
			if tc.endpoint == "" {
				fop.srv.Close()
			} else {
				fop.setFault(tc.endpoint, tc.fault, 3*time.Second)
			}
			fs := startFake(t, fop, func(c map[string]any) {
				c["provider"].(map[string]any)["timeout"] = "300ms"
			}, false)
			// Until the first attempt has failed the page says the metadata is not fetched
			// yet; then it gives the reason.
			var r response
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				r = fs.waitStatus(t, http.StatusServiceUnavailable, 10*time.Second)
				if strings.Contains(logLinesWith(fs.p, r.header.Get("X-Correlation-Id")), tc.reason) || time.Now().After(deadline) {
					break
				}
			}
			wantErrorPage(t, fs.p, r, http.StatusServiceUnavailable, tc.reason)
			fs.up.untouched(t, 0)
			endpoint := tc.endpoint
			if endpoint == "" {
				endpoint = "discovery"
			}
			if got := metric(fs.p, "oidc_proxy.callout."+endpoint+"."+tc.outcome); got < 1 {
				t.Errorf("callout.%s.%s = %d, want at least 1", endpoint, tc.outcome, got)
			}
			if tc.endpoint == "" {
				return
			}
			fop.setFault(tc.endpoint, "", 0)
			fs.waitStatus(t, http.StatusFound, 15*time.Second)
			// N VMs, one fetch each for discovery and JWKS once healthy.
			if got := metric(fs.p, "oidc_proxy.callout.discovery.ok"); got != 1 {
				t.Errorf("callout.discovery.ok = %d, want 1 (one VM fetches for all)", got)
			}
		})
	}
}

// TestLoopGuard: a browser that keeps starting logins gets an error page instead of yet
// another redirect, including when its logins succeed but the session cookie is lost.
func TestLoopGuard(t *testing.T) {
	s, up := startRecorded(t, stack.Options{Configure: func(c map[string]any) {
		c["login"] = map[string]any{"loop_guard": map[string]any{"max_attempts": 3, "window": "1m"}}
	}})
	b := newBrowser(t)
	for range 3 {
		b.authorize(s, "/app1/")
	}
	r := b.get(s.URL + "/app1/")
	wantErrorPage(t, s.Proxy, r, http.StatusTooManyRequests, "login_loop")
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra > 60 {
		t.Errorf("Retry-After %d is beyond the window", ra)
	}
	if r := b.get(s.URL + "/oauth2/sign_in?rd=/"); r.status != http.StatusTooManyRequests {
		t.Errorf("sign_in during the loop: %d, want 429", r.status)
	}
	if got := metric(s, "oidc_proxy.login.failed.loop"); got != 2 {
		t.Errorf("login.failed.loop = %d, want 2", got)
	}
	up.untouched(t, 0)

	// Another browser is not affected.
	other := newBrowser(t)
	other.authorize(s, "/")

	// Logins that succeed but whose session the browser drops are a loop too.
	c := newBrowser(t)
	c.authorize(s, "/")
	c.authorize(s, "/")
	if _, r := c.login(s, "/"); r.status != http.StatusFound {
		t.Fatalf("third login: %d", r.status)
	}
	u, _ := url.Parse(s.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: "_oidc_session", Value: "", MaxAge: -1}})
	wantErrorPage(t, s.Proxy, c.get(s.URL+"/"), http.StatusTooManyRequests, "login_loop")
	up.untouched(t, 0)
}

// TestLoginMetricsAndLogs runs a login, a few failures and a sign-out, and checks the
// counters and that no token, code, state, cookie or secret is in any log line.
func TestLoginMetricsAndLogs(t *testing.T) {
	s, _ := startRecorded(t, stack.Options{})
	started := metric(s, "oidc_proxy.login.started") // WaitReady's
	b := newBrowser(t)
	cb, final := b.login(s, "/app1/")
	if final.status != http.StatusFound {
		t.Fatalf("login: %d", final.status)
	}
	w, _ := b.whoami(s)
	sess, _ := b.cookie(s, "_oidc_session")
	bind, _ := b.cookie(s, "_oidc_session_bind")

	// A tampered state and a provider error (whose description must not be echoed raw).
	tampered := withQuery(t, cb, "state", queryParam(t, cb, "state")+"x")
	if r := b.get(tampered); r.status != http.StatusBadRequest {
		t.Errorf("tampered state: %d", r.status)
	}
	r := b.get(s.URL + "/oauth2/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=x")
	wantErrorPage(t, s.Proxy, r, http.StatusForbidden, "access_denied")
	if strings.Contains(r.body, "<script>") || !strings.Contains(r.body, "access_denied") {
		t.Errorf("provider error page: %.400s", r.body)
	}
	if r := b.get(s.URL + "/oauth2/sign_out"); r.status != http.StatusFound {
		t.Errorf("sign-out: %d", r.status)
	}

	for name, want := range map[string]int64{
		"oidc_proxy.login.started":               started + 1,
		"oidc_proxy.login.succeeded":             1,
		"oidc_proxy.login.failed.bad_state":      1,
		"oidc_proxy.login.failed.provider_error": 1,
		"oidc_proxy.login.failed.id_token":       0,
		"oidc_proxy.callout.token.ok":            1,
		"oidc_proxy.callout.token.ms":            1, // samples
		"oidc_proxy.callout.token.http_5xx":      0,
		"oidc_proxy.callout.revoke.ok":           1,
		"oidc_proxy.callout.jwks.ok":             1,
		"oidc_proxy.jwks.refetch_limited":        0,
	} {
		if v, ok := s.Metric(name); !ok || v != want {
			t.Errorf("%s = %d (defined %v), want %d", name, v, ok, want)
		}
	}

	// One VM fetches discovery for all under a lease; on a loaded machine the lease can lapse
	// and the other VM (of two) fetch it too, which is allowed: 1 or 2, never 0 or more.
	if v, ok := s.Metric("oidc_proxy.callout.discovery.ok"); !ok || v < 1 || v > 2 {
		t.Errorf("oidc_proxy.callout.discovery.ok = %d (defined %v), want 1 (2 if the lease lapsed)", v, ok)
	}

	secrets := []string{sess, bind, queryParam(t, cb, "state"), queryParam(t, cb, "code"), stack.ClientSecret, s.Keys[0].Secret}
	for _, tok := range w.Tokens {
		secrets = append(secrets, tok.Raw)
	}
	if len(w.Tokens) < 2 {
		t.Errorf("the app got %d tokens, want the access and ID tokens", len(w.Tokens))
	}
	assertNoSecretsInLogs(t, s, secrets...)
}
