package keycloak_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// tab is headless Chromium, for the scenarios that go through Keycloak's pages as a user does.
type tab struct {
	t   testing.TB
	p   *proxy.Proxy
	ctx context.Context
}

const stepTimeout = 20 * time.Second

// newTab starts a fresh headless Chromium ($CHROMIUM, else /usr/bin/chromium); the suite
// fails without one: it is not optional.
func newTab(t testing.TB, p *proxy.Proxy) *tab {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("no Chromium at %s (scripts/ensure-chromium.sh installs it; $CHROMIUM overrides)", exe)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("starting Chromium: %v", err)
		}
	case <-time.After(3 * stepTimeout): // a first start builds caches; the machine is busy
		t.Fatalf("starting Chromium: no answer within %v", 3*stepTimeout)
	}
	return &tab{t: t, p: p, ctx: ctx}
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, what, chromedp.Steps(steps...))
}

// run runs one action with the step timeout; an error fails the test.
func run[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v (page at %s)\n%s", what, err, b.locationNoFail(), b.p.LogText())
	}
	return v
}

func (b *tab) navigate(pathOrURL string) {
	b.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = b.p.URL + u
	}
	b.do("navigate to "+u, chromedp.Navigate(u))
}

func (b *tab) location() string {
	b.t.Helper()
	return run(b, "read location", chromedp.Evaluate[string](`location.href`))
}

func (b *tab) locationNoFail() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	return loc
}

// onLoginForm reports whether the page is Keycloak's login form with a password field.
func (b *tab) onLoginForm() bool {
	b.t.Helper()
	ok := run(b, "look for the login form", chromedp.Evaluate[bool](`!!document.querySelector("form#kc-form-login input[name=password]")`))
	return ok && strings.HasPrefix(b.location(), suite.kc.Issuer+"/")
}

// login fills in Keycloak's form on the current page and waits for the app's page.
func (b *tab) login(username string) {
	b.t.Helper()
	b.submitLoginForm(username)
	b.do("wait for the app", chromedp.WaitVisible(chromedp.ID("user-name")))
}

// fetchJSON calls path with the page's fetch(), as a single-page app calls its API.
func (b *tab) fetchJSON(path string, out any) int {
	b.t.Helper()
	type result struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
		Error  string `json:"error"`
	}
	p, _ := json.Marshal(path)
	js := fmt.Sprintf(`(async (p) => { try { const r = await fetch(p, {headers: {"Accept": "application/json"}});
	  return {status: r.status, body: await r.text()}; } catch (e) { return {error: String(e)}; } })(%s)`, p)
	r := run(b, "fetch "+path, chromedp.Evaluate[result](js, chromedp.EvalAwaitPromise))
	if r.Error != "" {
		b.t.Fatalf("fetch %s: %s", path, r.Error)
	}
	if r.Status == 200 && out != nil {
		if err := json.Unmarshal([]byte(r.Body), out); err != nil {
			b.t.Fatalf("fetch %s: %v (%.300s)", path, err, r.Body)
		}
	}
	return r.Status
}
