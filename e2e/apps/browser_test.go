package apps

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

// stepTimeout bounds each browser step.
const stepTimeout = 20 * time.Second

// tab is one Chromium tab on the rig's proxy.
type tab struct {
	t   *testing.T
	r   *rig
	ctx context.Context
}

// newBrowser starts a headless Chromium with a profile of its own and returns its first tab.
func newBrowser(t *testing.T, r *rig) *tab {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/ensure-chromium.sh or set CHROMIUM", exe)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Both tabs stay live: no throttled timers in the tab that is not in front.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &tab{t: t, r: r, ctx: ctx}
	b.open("starting Chromium")
	return b
}

// newTab opens another tab in the same browser (same cookies).
func (b *tab) newTab() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	nb := &tab{t: b.t, r: b.r, ctx: ctx}
	nb.open("opening a tab")
	return nb
}

// open runs the first action on the tab's context, which starts the browser or opens the tab
// and ties its life to that context: so it gets no timeout of its own, a watchdog instead.
func (b *tab) open(what string) {
	b.t.Helper()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(b.ctx) }()
	select {
	case err := <-done:
		if err != nil {
			b.t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(3 * stepTimeout): // a first start builds caches; the machine is busy
		b.t.Fatalf("%s: no answer within %v", what, 3*stepTimeout)
	}
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
		b.fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression, awaiting a promise.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	return run(b, "evaluate "+firstLine(js), chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

func (b *tab) navigate(path string) {
	b.t.Helper()
	b.do("navigate to "+path, chromedp.Navigate(b.r.s.URL+path))
}

// login opens path, signs in at the provider's form and waits for the app to show the user.
func (b *tab) login(path string) {
	b.t.Helper()
	b.navigate(path)
	b.do("the provider's login form",
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), op.DemoUsername),
		chromedp.SendKeys(chromedp.ID("password"), op.DemoPassword),
		chromedp.Click(chromedp.ID("submit")),
	)
	b.waitPage("the app shows the user after login", func(p Page) bool { return strings.Contains(p.User, "@") })
}

// waitPage polls the page until ok holds (or fails the test after limit, default a step).
func (b *tab) waitPage(what string, ok func(Page) bool, limit ...time.Duration) Page {
	b.t.Helper()
	d := stepTimeout
	if len(limit) > 0 {
		d = limit[0]
	}
	deadline := time.Now().Add(d)
	var p Page
	for {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		var err error
		p, err = chromedp.Run(ctx, chromedp.Evaluate[Page](ReadPage))
		cancel()
		if err == nil && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			b.fatalf("%s: not within %v; the page shows %+v (err %v)", what, d, p, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// click clicks the first button whose text contains label.
func (b *tab) click(label string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(ClickJS, label)) {
		b.fatalf("no button %q on the page", label)
	}
}

// cookies are the browser's cookies for the proxy, name -> value.
func (b *tab) cookies() map[string]string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.r.s.URL + "/"}})
	if err != nil {
		b.fatalf("reading cookies: %v", err)
	}
	m := map[string]string{}
	for _, c := range res.Cookies {
		m[c.Name] = c.Value
	}
	return m
}

// fetchStatus is the status of a same-origin fetch() of path from the page.
func (b *tab) fetchStatus(path string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.status, () => -1)`, path))
}

func (b *tab) fatalf(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	b.t.Fatalf("%s\npage: %s\ntext: %s\n%s log (tail):\n%s", fmt.Sprintf(format, args...), loc, text, b.r.kind.Name, tail(b.r.app.Log(), 3000))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	if len(s) > 80 {
		s = s[:80] + " ..."
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// on returns the tab for test t (a subtest), so that its failures are t's.
func (b *tab) on(t *testing.T) *tab { return &tab{t: t, r: b.r, ctx: b.ctx} }

// handshakes records the WebSocket handshake responses a tab receives.
type handshakes struct {
	mu        sync.Mutex
	responses []network.Headers
}

// watchHandshakes turns on Chromium's network events for the tab and records the handshake
// responses of its WebSockets from now on.
func (b *tab) watchHandshakes() *handshakes {
	b.t.Helper()
	hs := &handshakes{}
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventWebSocketHandshakeResponseReceived); ok && e.Response != nil {
			hs.mu.Lock()
			hs.responses = append(hs.responses, e.Response.Headers)
			hs.mu.Unlock()
		}
	})
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatal(err)
	}
	return hs
}

// setCookie reports whether a handshake response carried Set-Cookie (its value is not kept).
func (hs *handshakes) setCookie() bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hs.responses {
		for k := range h {
			if strings.EqualFold(k, "Set-Cookie") {
				return true
			}
		}
	}
	return false
}

// waitJS polls a JavaScript condition until it is true, or fails the test after limit.
func (b *tab) waitJS(what, js string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.fatalf("%s: not within %v (err %v)", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
