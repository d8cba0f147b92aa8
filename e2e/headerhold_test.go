package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// The two requests whose body the plugin reads, the back-channel logout and the form post
// callback, and what reaches the app of them. As shipped (allow_on_headers_stop_iteration on
// Envoy's Wasm filter, endpoints.allow_on_headers_stop_iteration in the plugin) nothing does:
// the plugin holds their headers and answers from the body. Without the Envoy field (its
// default, and all that Istio's WasmPlugin offers) the plugin must let the headers continue
// to get the body, so the app may receive the headers of such a POST (cookies removed), never
// its body.

// bodyRecorder records the requests to the filter's endpoints that reach the app: their
// headers when they arrive, and how much of the body came.
type bodyRecorder struct {
	mu   sync.Mutex
	reqs []bodyRecord
}

type bodyRecord struct {
	path   string
	header http.Header
	body   int // bytes of the body the app received (-1 while reading)
}

func (u *bodyRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/oauth2/") {
			next.ServeHTTP(w, r)
			return
		}
		u.mu.Lock()
		i := len(u.reqs)
		u.reqs = append(u.reqs, bodyRecord{path: r.URL.Path, header: r.Header.Clone(), body: -1})
		u.mu.Unlock()
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs[i].body = len(b)
		u.mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	})
}

// to are the records of requests to path.
func (u *bodyRecorder) to(path string) []bodyRecord {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []bodyRecord
	for _, r := range u.reqs {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// holdConfigure: form_post login and the back-channel logout; hold says whether the plugin
// is told that Envoy holds headers (endpoints.allow_on_headers_stop_iteration).
func holdConfigure(hold bool) func(map[string]any) {
	return func(c map[string]any) {
		c["login"] = map[string]any{"response_mode": "form_post"}
		c["endpoints"] = map[string]any{"backchannel_logout": true, "allow_on_headers_stop_iteration": hold}
	}
}

// formPostStart begins a browser's form post login: it returns the callback's path, the
// form the provider's page would post there, and the binding cookie it needs.
func formPostStart(t *testing.T, s *stack.Stack, b *browser) (path, form, binding string) {
	t.Helper()
	r := b.get(s.URL + "/app1/page")
	authz := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.Contains(authz, "response_mode=form_post") {
		t.Fatalf("GET /app1/page: %d %q\n%s", r.status, authz, logText(s))
	}
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.Contains(c, "SameSite=None") && strings.Contains(c, "; Secure") {
			binding, _, _ = strings.Cut(c, ";")
		}
	}
	if binding == "" {
		t.Fatalf("no SameSite=None; Secure binding cookie: %q", r.header.Values("Set-Cookie"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	callback, err := s.OP.Login(ctx, strings.Replace(authz, "response_mode=form_post", "response_mode=query", 1))
	if err != nil {
		t.Fatalf("login at the provider: %v", err)
	}
	cu, _ := url.Parse(callback)
	return cu.Path, cu.RawQuery, binding
}

// postForm posts a form to the proxy as a browser navigation; chunked leaves out its length.
func postForm(t *testing.T, s *stack.Stack, b *browser, path, form, binding string, chunked bool) response {
	t.Helper()
	var body io.Reader = strings.NewReader(form)
	if chunked {
		body = io.MultiReader(body)
	}
	req, _ := http.NewRequest("POST", s.URL+path, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", binding)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v\n%s", path, err, logText(s))
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	settleUpstream()
	return response{status: resp.StatusCode, header: resp.Header, body: string(rb)}
}

// logoutSession posts a logout token for b's session as the provider would.
func logoutSession(t *testing.T, s *stack.Stack, b *browser) (int, string) {
	t.Helper()
	tok, err := s.OP.LogoutToken(bcSID(t, b, s), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	st, _, body, err := s.OP.BackchannelLogout(ctx, s.URL+"/oauth2/backchannel_logout", tok)
	if err != nil {
		t.Fatalf("%v\n%s", err, logText(s))
	}
	settleUpstream()
	return st, body
}

// TestBodyEndpointsNeverReachTheApp: as shipped, a form post callback (accepted, replayed,
// oversized without a length) and a back-channel logout are answered by the plugin and
// nothing of them reaches the app, on either proxy.
func TestBodyEndpointsNeverReachTheApp(t *testing.T) {
	up := &bodyRecorder{}
	s := start(t, stack.Options{Configure: holdConfigure(true), Upstream: up.wrap})
	b := newBrowser(t)
	path, form, binding := formPostStart(t, s, b)
	if r := postForm(t, s, b, path, strings.Repeat("x=1&", 3000), binding, true); r.status != http.StatusBadRequest {
		t.Errorf("an oversized chunked form post: %d, want 400", r.status)
	}
	if r := postForm(t, s, b, path, form, binding, false); r.status != http.StatusFound || r.header.Get("Location") != "/app1/page" {
		t.Fatalf("form post callback: %d %q %.300s\n%s", r.status, r.header.Get("Location"), r.body, logText(s))
	}
	if r := postForm(t, s, b, path, form, binding, false); r.status != http.StatusBadRequest {
		t.Errorf("a replayed form post: %d, want 400", r.status)
	}
	if got := up.to(path); len(got) != 0 {
		t.Errorf("%d form post callback(s) reached the app (%v), want none", len(got), got[0].header)
	}
	if st, body := logoutSession(t, s, b); st != http.StatusOK {
		t.Fatalf("back-channel logout: %d %s", st, body)
	}
	if got := up.to("/oauth2/backchannel_logout"); len(got) != 0 {
		t.Errorf("%d back-channel logout(s) reached the app (%v), want none", len(got), got[0].header)
	}
	if _, r := b.whoami(s); r.status != http.StatusUnauthorized {
		t.Errorf("the session after its back-channel logout: %d, want 401", r.status)
	}
}

// TestBodyEndpointsWithoutHeldHeaders: Envoy without allow_on_headers_stop_iteration and the
// plugin told so (the Istio case). Both endpoints still work; the app may see the headers of
// each POST, once at most (always on e2e/host, whose router has the upstream connection ready
// before the answer), without the browser's cookies, and never a byte of its body.
func TestBodyEndpointsWithoutHeldHeaders(t *testing.T) {
	up := &bodyRecorder{}
	s := start(t, stack.Options{Configure: holdConfigure(false), Upstream: up.wrap, StopAllOnHeaderPause: true})
	b := newBrowser(t)
	path, form, binding := formPostStart(t, s, b)
	if r := postForm(t, s, b, path, form, binding, false); r.status != http.StatusFound {
		t.Fatalf("form post callback: %d %.300s\n%s", r.status, r.body, logText(s))
	}
	if st, body := logoutSession(t, s, b); st != http.StatusOK {
		t.Fatalf("back-channel logout: %d %s", st, body)
	}
	for _, p := range []string{path, "/oauth2/backchannel_logout"} {
		got := up.to(p)
		t.Logf("%s on %s: the app saw %d header-only request(s)", p, proxyName(), len(got))
		if len(got) > 1 || len(got) == 0 && !onEnvoy() {
			t.Errorf("%s: %d request(s) reached the app, want the headers of one (at most, on Envoy)", p, len(got))
		}
		for _, r := range got {
			if r.body > 0 {
				t.Errorf("%s: the app received %d bytes of the body", p, r.body)
			}
			if c := r.header.Get("Cookie"); c != "" && p == path {
				t.Errorf("%s: the app received the browser's cookies %q", p, c)
			}
		}
	}
}

// TestHeldHeadersWithoutEnvoySupport: the plugin is told Envoy holds headers, but Envoy lacks
// allow_on_headers_stop_iteration, so the body never comes while they are held. After its
// 2 s wait the plugin answers 408 itself: nothing of the request reaches the app (letting the
// headers continue would hand it a header-only POST), and the log says what happened and
// which setting to suspect. A misconfiguration fails closed and loud, never stuck.
func TestHeldHeadersWithoutEnvoySupport(t *testing.T) {
	up := &bodyRecorder{}
	s := start(t, stack.Options{Configure: holdConfigure(true), Upstream: up.wrap, StopAllOnHeaderPause: true})
	b := newBrowser(t)
	path, form, binding := formPostStart(t, s, b)
	began := time.Now()
	if r := postForm(t, s, b, path, form, binding, false); r.status != http.StatusRequestTimeout || setsSession(r) {
		t.Fatalf("form post callback: %d (session %v), want 408 %.300s\n%s", r.status, setsSession(r), r.body, logText(s))
	}
	if d := time.Since(began); d < 2*time.Second {
		t.Errorf("form post answered after %v: the headers were not held", d)
	}
	tok, err := s.OP.LogoutToken("sid-1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if st, _, body, err := s.OP.BackchannelLogout(ctx, s.URL+"/oauth2/backchannel_logout", tok); err != nil || st != http.StatusRequestTimeout {
		t.Fatalf("back-channel logout: %d %s %v, want 408\n%s", st, body, err, logText(s))
	}
	settleUpstream()
	logs := logText(s)
	if !strings.Contains(logs, "answered 408") || !strings.Contains(logs, "lacks allow_on_headers_stop_iteration") {
		t.Errorf("no log line saying what happened and naming the setting:\n%s", logs)
	}
	for _, p := range []string{"/oauth2/backchannel_logout", "/oauth2/callback"} {
		if rs := up.to(p); len(rs) > 0 {
			t.Errorf("the app received %d request(s) to %s", len(rs), p)
		}
	}
}

// TestPostWaitsForTheRefresh: a POST with a body to an app whose session needs a refresh.
// The plugin holds the headers for the refresh; with allow_on_headers_stop_iteration Envoy
// delivers the body meanwhile, and the plugin holds it too (filter/http.go), so the app
// receives the request once, with the refreshed access token and the whole body.
func TestPostWaitsForTheRefresh(t *testing.T) {
	type seen struct{ token, body string }
	var mu sync.Mutex
	var got []seen
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/app1/form" {
				next.ServeHTTP(w, r)
				return
			}
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, seen{r.Header.Get("X-Forwarded-Access-Token"), string(b)})
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		})
	}
	s, b, w := rfLoggedIn(t, stack.Options{Upstream: wrap})
	old := w.Tokens["X-Forwarded-Access-Token"]
	if old == nil {
		t.Fatalf("no access token at login: %v", w.Tokens)
	}
	rfWaitPast(w)
	rfLongLived(s)
	form := "note=" + strings.Repeat("x", 2000)
	req, _ := http.NewRequest("POST", s.URL+"/app1/form", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST during the refresh: %d\n%s", resp.StatusCode, logText(s))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the app saw the POST %d times, want once", len(got))
	}
	if got[0].token == "" || got[0].token == old.Raw {
		t.Errorf("the app got access token %.20q, want the refreshed one (not the expired %.20q)", got[0].token, old.Raw)
	}
	if got[0].body != form {
		t.Errorf("the app got %d bytes of the body, want %d", len(got[0].body), len(form))
	}
}
