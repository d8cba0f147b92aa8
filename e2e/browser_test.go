package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// The browser tests drive headless Chromium through the real flow: the compiled plugin in the
// test host, the embedded provider's login form, the demo app. They need a Chromium
// (scripts/ensure-chromium.sh installs one; $CHROMIUM overrides the path). Without one they
// skip, except under CI=true, where they fail so that CI cannot pass without running them.
//
// Set BROWSER_SCREENSHOT=/some/file.png to keep a screenshot of the logged-in demo app; on
// failure a screenshot goes to the test's artifact directory (kept with go test -artifacts).

// TestBrowserLogin is issue 4's acceptance test: a deep link logs in through the provider's
// form and lands on the exact original URL with the user shown; the page's fetch() calls get
// the session, a browser without it gets a 401 (not a redirect); sign-out ends the session at
// the provider, so the next visit shows the login form again.
func TestBrowserLogin(t *testing.T) {
	b := newTab(t, start(t, stack.Options{}))
	s := b.s

	const deep = "/app1/some/page?x=1"
	b.login(deep)
	if got := b.location(); got != s.URL+deep {
		b.fatalf("after login the browser is at %q, want the original URL %q", got, s.URL+deep)
	}
	if name := b.text("user-name"); name != "Demo User" {
		b.fatalf("the page shows user %q, want Demo User", name)
	}
	if email := b.text("user-email"); email != "demo@example.com" {
		b.fatalf("the page shows e-mail %q, want demo@example.com", email)
	}
	for _, h := range []string{"X-Forwarded-Access-Token", "X-Forwarded-Id-Token"} {
		if !b.exists(fmt.Sprintf(`.token.v[data-header=%q]`, h)) {
			b.fatalf("the page does not show %s as received and verified", h)
		}
	}
	if path := os.Getenv("BROWSER_SCREENSHOT"); path != "" {
		b.screenshot(path)
	}

	// fetch() from the page, as a single-page app calls its API.
	r := b.fetch("/api/whoami")
	if r.Status != 200 || r.Redirected {
		b.fatalf("fetch /api/whoami with the session: %s, want 200 without a redirect", r)
	}
	w := r.whoAmI(b)
	if w.User.Email != "demo@example.com" || w.User.Subject == "" {
		b.fatalf("fetch /api/whoami: the app saw user %+v, want the demo user", w.User)
	}
	for _, h := range []string{"X-Forwarded-Access-Token", "X-Forwarded-Id-Token"} {
		if tok := w.Tokens[h]; tok == nil || !tok.Verified {
			b.fatalf("fetch /api/whoami: %s not forwarded or not verified at the app: %+v", h, tok)
		}
	}
	// The page's own button calls the app's API under its mount.
	b.do("click #call-api", chromedp.Click(chromedp.ID("call-api")))
	if status := b.waitText("api-status", "200"); !strings.HasPrefix(status, "200") {
		b.fatalf("the page's API button shows %q, want 200", status)
	}

	// Another browser profile (incognito: no cookies) gets 401 JSON, never a redirect.
	anon := b.incognito()
	anon.navigate("/healthz") // a pass-through page on the proxy's origin, to fetch from
	if got := anon.location(); got != s.URL+"/healthz" {
		anon.fatalf("pass-through page: the browser is at %q, want %q", got, s.URL+"/healthz")
	}
	anon.expectUnauthorized("/api/whoami")

	// Sign-out ends the session here and at the provider.
	before := s.OP.Counts()
	b.navigate("/oauth2/sign_out")
	if after := s.OP.Counts(); after.EndSession <= before.EndSession {
		b.fatalf("sign-out did not reach the provider's end_session_endpoint (counts before %+v, after %+v)", before, after)
	}
	// It lands on a page that says so, not on the provider's login form.
	if got := b.location(); got != s.URL+"/oauth2/signed_out" || b.text("signed-out") != "You are signed out" {
		b.fatalf("after sign-out the browser is at %q, want the signed-out page", got)
	}
	b.navigate("/healthz")
	b.expectUnauthorized("/api/whoami")
	before = s.OP.Counts()
	b.navigate("/app1/")
	b.waitLoginForm()
	if after := s.OP.Counts(); after.Code != before.Code {
		b.fatalf("opening the app after sign-out issued a code without the form: silent re-login (counts before %+v, after %+v)", before, after)
	}
	assertNoSecretsInLogs(t, s, w.Tokens["X-Forwarded-Access-Token"].Raw, w.Tokens["X-Forwarded-Id-Token"].Raw)
}

// TestBrowserFreshTokensForSecondApp is issue 7's acceptance scenario in the browser: log in,
// use app 1, let the access and ID tokens expire, then open app 2 directly. App 2 must receive
// tokens that verify against the provider's keys and have not expired, with no login in
// between (the proxy refreshed them).
func TestBrowserFreshTokensForSecondApp(t *testing.T) {
	const ttl = 4 * time.Second
	s := start(t, stack.Options{AccessTTL: ttl, IDTTL: ttl, RefreshTTL: time.Hour,
		Configure: func(cfg map[string]any) {
			cfg["session"] = map[string]any{"refresh": true, "refresh_margin": "1s"}
		}})
	b := newTab(t, s)

	b.login("/app1/")
	r := b.fetch("/app1/api/whoami")
	if r.Status != 200 {
		b.fatalf("app 1's API right after login: %s, want 200", r)
	}
	first := r.whoAmI(b)
	oldAT, oldID := first.Tokens["X-Forwarded-Access-Token"], first.Tokens["X-Forwarded-Id-Token"]
	if oldAT == nil || !oldAT.Verified || oldID == nil || !oldID.Verified {
		b.fatalf("app 1 did not receive verified tokens: access %+v, ID %+v", oldAT, oldID)
	}
	if oldAT.ExpiresAt == nil || oldID.ExpiresAt == nil {
		b.fatalf("app 1's tokens carry no exp: access %+v, ID %+v", oldAT, oldID)
	}

	// Wait until both tokens app 1 received have expired (plus a second for exp's resolution).
	expired := oldAT.ExpiresAt.Add(time.Second)
	if oldID.ExpiresAt.After(*oldAT.ExpiresAt) {
		expired = oldID.ExpiresAt.Add(time.Second)
	}
	if d := time.Until(expired); d > 0 {
		time.Sleep(d)
	}

	before := s.OP.Counts()
	navs := b.recordNavigations()
	b.navigate("/app2/")
	if got := b.location(); got != s.URL+"/app2/" {
		b.fatalf("opening app 2 ended at %q, want %q (navigations: %q)", got, s.URL+"/app2/", navs())
	}
	for _, u := range navs() {
		if strings.HasPrefix(u, s.OP.Issuer()) {
			b.fatalf("opening app 2 showed a provider page %q: the user had to log in again", u)
		}
	}
	if name := b.text("user-name"); name != "Demo User" {
		b.fatalf("app 2 shows user %q, want Demo User", name)
	}
	for _, h := range []string{"X-Forwarded-Access-Token", "X-Forwarded-Id-Token"} {
		if !b.exists(fmt.Sprintf(`.token.v[data-header=%q]`, h)) {
			b.fatalf("app 2's page does not show %s as received and verified", h)
		}
	}
	after := s.OP.Counts()
	if after.Authorize != before.Authorize || after.Login != before.Login || after.Code != before.Code {
		b.fatalf("opening app 2 went through a login at the provider (counts before %+v, after %+v)", before, after)
	}
	if after.Refresh <= before.Refresh {
		b.fatalf("app 2 was opened with expired tokens and no refresh reached the provider (counts before %+v, after %+v)", before, after)
	}

	r = b.fetch("/app2/api/whoami")
	if r.Status != 200 {
		b.fatalf("app 2's API: %s, want 200", r)
	}
	second := r.whoAmI(b)
	if second.User.Subject != first.User.Subject {
		b.fatalf("app 2 sees subject %q, app 1 saw %q", second.User.Subject, first.User.Subject)
	}
	for _, h := range []string{"X-Forwarded-Access-Token", "X-Forwarded-Id-Token"} {
		tok := second.Tokens[h]
		if tok == nil || !tok.Verified || tok.Expired {
			b.fatalf("app 2's %s is missing, unverified or expired: %+v", h, tok)
		}
		if err := verifyAtProvider(s.OP, tok.Raw, time.Now()); err != nil {
			b.fatalf("app 2's %s does not verify against the provider's JWKS: %v", h, err)
		}
	}
}

// verifyAtProvider checks a token's signature against the provider's published keys, its
// issuer and its expiry, independently of the demo app.
func verifyAtProvider(p *op.Server, raw string, now time.Time) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return err
	}
	jwks := p.JWKS()
	keys := jwks.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return fmt.Errorf("kid %q is not in the provider's JWKS", tok.Headers[0].KeyID)
	}
	var c jwt.Claims
	if err := tok.Claims(keys[0].Public(), &c); err != nil {
		return err
	}
	return c.ValidateWithLeeway(jwt.Expected{Issuer: p.Issuer(), Time: now}, 0)
}

// tab is one Chromium tab of a test, on the proxy of stack s.
type tab struct {
	t   *testing.T
	s   *stack.Stack
	ctx context.Context // a chromedp context whose browser has started
}

// stepTimeout bounds each browser step; a whole test stays well under 30 s when all is well.
const stepTimeout = 15 * time.Second

// browserStartTimeout bounds starting Chromium or opening a tab: a first start on a fresh
// machine builds caches, and `go test ./...` runs several packages' Envoys and browsers at once
// on two cores (a CI run failed at 15 s).
const browserStartTimeout = 60 * time.Second

// chromium returns the browser's path, skipping the test when there is none (failing under CI).
func chromium(t *testing.T) string {
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return path
	}
	msg := fmt.Sprintf("no Chromium at %s: run scripts/ensure-chromium.sh (apt-get install chromium) or set CHROMIUM", path)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: browser tests must run in CI)")
	}
	t.Skip(msg)
	return ""
}

// newTab starts a fresh headless Chromium (its own temporary profile) for the test.
func newTab(t *testing.T, s *stack.Stack) *tab {
	t.Helper()
	exe := chromium(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is tiny in containers
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	openTarget(t, ctx, "starting Chromium ("+exe+")")
	return &tab{t: t, s: s, ctx: ctx}
}

// incognito opens a tab in a new browser context: no cookies, like a private window.
func (b *tab) incognito() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	openTarget(b.t, ctx, "opening an incognito tab")
	return &tab{t: b.t, s: b.s, ctx: ctx}
}

// openTarget runs the first action on a chromedp context, which starts the browser or opens
// the tab and ties its life to that context: so it must not get a timeout of its own, and a
// watchdog bounds it instead.
func openTarget(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(browserStartTimeout):
		t.Fatalf("%s: no answer within %v", what, browserStartTimeout)
	}
}

// run runs one action with the step timeout; an error fails the test with diagnostics.
func run[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fatalf("%s: %v", what, err)
	}
	return v
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, what, chromedp.Steps(steps...))
}

// navigate opens a path on the proxy (or an absolute URL) and waits for the final page to load.
func (b *tab) navigate(pathOrURL string) {
	b.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = b.s.URL + u
	}
	b.do("navigate to "+u, chromedp.Navigate(u))
}

// login opens path, expects the provider's form, signs in as demo/demo and waits for the app
// page showing the user.
func (b *tab) login(path string) {
	b.t.Helper()
	b.navigate(path)
	b.waitLoginForm()
	b.do("fill the login form",
		chromedp.SendKeys(chromedp.ID("username"), op.DemoUsername),
		chromedp.SendKeys(chromedp.ID("password"), op.DemoPassword),
	)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// RunResponse waits for the navigation the click starts (through every redirect).
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("submit")))
	if err != nil {
		b.fatalf("submit the login form: %v", err)
	}
	if resp.Status != 200 {
		b.fatalf("after submitting the login form the page has status %d, want 200", resp.Status)
	}
	b.do("wait for the signed-in user", chromedp.WaitVisible(chromedp.ID("user-name")))
}

// waitLoginForm asserts the browser shows the provider's login form.
func (b *tab) waitLoginForm() {
	b.t.Helper()
	if loc := b.location(); !strings.HasPrefix(loc, b.s.OP.Issuer()+"/login") {
		b.fatalf("the browser is at %q, want the provider's login form at %s/login", loc, b.s.OP.Issuer())
	}
	b.do("wait for the login form", chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.WaitVisible(chromedp.ID("password")), chromedp.WaitVisible(chromedp.ID("submit")))
}

func (b *tab) location() string {
	b.t.Helper()
	return run(b, "read location.href", chromedp.Evaluate[string](`location.href`))
}

func (b *tab) text(id string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "read #"+id, chromedp.Text(chromedp.ID(id))))
}

func (b *tab) exists(css string) bool {
	b.t.Helper()
	q, _ := json.Marshal(css)
	return run(b, "query "+css, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%s) !== null`, q)))
}

// waitText waits until element id's text starts with prefix and returns it; a step timeout
// returns whatever it shows then.
func (b *tab) waitText(id, prefix string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	js := fmt.Sprintf(`(document.getElementById(%q)?.textContent ?? "").startsWith(%q)`, id, prefix)
	_, _ = chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	return b.text(id)
}

// recordNavigations records the main frame's committed navigations from now on.
func (b *tab) recordNavigations() func() []string {
	b.t.Helper()
	var mu sync.Mutex
	var urls []string
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*page.EventFrameNavigated); ok && e.Frame != nil && e.Frame.ParentID == "" {
			mu.Lock()
			urls = append(urls, e.Frame.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		b.fatalf("listening for navigations: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}

// fetchResult is what a fetch() from the page saw.
type fetchResult struct {
	Error           string `json:"error"`
	Status          int    `json:"status"`
	Redirected      bool   `json:"redirected"`
	Type            string `json:"type"`
	URL             string `json:"url"`
	ContentType     string `json:"contentType"`
	WWWAuthenticate string `json:"wwwAuthenticate"`
	Body            string `json:"body"`
}

func (r fetchResult) String() string {
	if r.Error != "" {
		return "fetch failed: " + r.Error
	}
	return fmt.Sprintf("status %d, redirected %v, type %s, url %s, Content-Type %q, WWW-Authenticate %q, body %.300s",
		r.Status, r.Redirected, r.Type, r.URL, r.ContentType, r.WWWAuthenticate, r.Body)
}

func (r fetchResult) whoAmI(b *tab) demoapp.WhoAmI {
	b.t.Helper()
	var w demoapp.WhoAmI
	if err := json.Unmarshal([]byte(r.Body), &w); err != nil {
		b.fatalf("the API answered no WhoAmI: %v (%s)", err, r)
	}
	return w
}

// fetch calls path with fetch() from the current page, as a single-page app would: Accept
// JSON, the page's cookies, redirects followed (so a redirect would show as redirected or,
// to the provider's origin, as a CORS failure).
func (b *tab) fetch(path string) fetchResult {
	b.t.Helper()
	p, _ := json.Marshal(path)
	js := fmt.Sprintf(`(async (path) => {
  try {
    const r = await fetch(path, {headers: {"Accept": "application/json"}, credentials: "same-origin"});
    return {status: r.status, redirected: r.redirected, type: r.type, url: r.url,
      contentType: r.headers.get("Content-Type") || "", wwwAuthenticate: r.headers.get("WWW-Authenticate") || "",
      body: await r.text()};
  } catch (e) { return {error: String(e)}; }
})(%s)`, p)
	return run(b, "fetch "+path, chromedp.Evaluate[fetchResult](js, chromedp.EvalAwaitPromise))
}

// expectUnauthorized asserts a fetch() of path gets 401 JSON with WWW-Authenticate, not a redirect.
func (b *tab) expectUnauthorized(path string) {
	b.t.Helper()
	r := b.fetch(path)
	if r.Error != "" || r.Status != 401 || r.Redirected || r.Type != "basic" || r.URL != b.s.URL+path ||
		!strings.Contains(r.ContentType, "json") || r.WWWAuthenticate == "" {
		b.fatalf("fetch %s without a session: %s; want 401 JSON with WWW-Authenticate and no redirect", path, r)
	}
}

// screenshot writes a PNG of the viewport to path.
func (b *tab) screenshot(path string) {
	b.t.Helper()
	png := run(b, "screenshot", chromedp.CaptureScreenshot())
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("writing the screenshot: %v", err)
	}
	b.t.Logf("screenshot of the logged-in page: %s", path)
}

// fatalf fails the test with the page's location and HTML, a screenshot and the plugin log.
func (b *tab) fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf("%s\n%s", fmt.Sprintf(format, args...), b.diagnostics())
}

// diagnostics describes the tab's state without failing (the browser may be the problem).
func (b *tab) diagnostics() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var d strings.Builder
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	fmt.Fprintf(&d, "page: %s (err %v)\n", loc, err)
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement ? document.documentElement.outerHTML : ""`))
	if err != nil {
		fmt.Fprintf(&d, "outer HTML: unavailable: %v\n", err)
	} else {
		const limit = 4000
		if len(html) > limit {
			html = html[:limit] + fmt.Sprintf("… (%d bytes)", len(html))
		}
		fmt.Fprintf(&d, "outer HTML:\n%s\n", html)
	}
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		path := filepath.Join(b.t.ArtifactDir(), "failure.png")
		if os.WriteFile(path, png, 0o644) == nil {
			fmt.Fprintf(&d, "screenshot: %s (kept with go test -artifacts)\n", path)
		}
	}
	fmt.Fprintf(&d, "plugin log:\n%s", logText(b.s))
	return d.String()
}
