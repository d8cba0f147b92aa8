package envoyrig

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

// cookies is a minimal cookie store for one host: the browser's view of the cookies a proxy
// set, kept in the order they were first set. Secure cookies are kept too (the rig is plain
// http on loopback, and Envoy's oauth2 filter always marks its cookies Secure).
type cookies struct {
	names  []string
	values map[string]string
}

func (c *cookies) take(resp *http.Response) {
	if c.values == nil {
		c.values = map[string]string{}
	}
	for _, k := range resp.Cookies() {
		if k.MaxAge < 0 || k.Value == "deleted" || (!k.Expires.IsZero() && k.Expires.Before(time.Now())) {
			delete(c.values, k.Name)
			continue
		}
		if _, ok := c.values[k.Name]; !ok {
			c.names = append(c.names, k.Name)
		}
		c.values[k.Name] = k.Value
	}
}

// header is the Cookie header a browser would send.
func (c *cookies) header() string {
	var parts []string
	for _, n := range c.names {
		if v, ok := c.values[n]; ok {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

// Login logs in through the proxy at base as a browser would: a navigation to path (a 302
// to the provider), the provider's login form, the callback (a 302 that sets the session
// cookies), and the page it returns to, which must reach the app (200). It returns the
// Cookie header the browser then holds, and how many requests went through the proxy.
// transport nil is http.DefaultTransport.
func Login(ctx context.Context, transport http.RoundTripper, provider *op.Server, base, path string) (string, int, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var jar cookies
	n := 0
	step := func(u string) (int, string, error) {
		n++
		var cookie []string
		if h := jar.header(); h != "" {
			cookie = []string{"Cookie", h}
		}
		resp, err := navigate(ctx, c, u, cookie...)
		if err != nil {
			return 0, "", err
		}
		jar.take(resp)
		return resp.StatusCode, resp.Header.Get("Location"), nil
	}
	status, loc, err := step(base + path)
	if err != nil || status != http.StatusFound || !strings.HasPrefix(loc, provider.Endpoints().Authorize) {
		return "", n, fmt.Errorf("login at %s: navigation: %d %q %v", base, status, loc, err)
	}
	cb, err := provider.LoginAs(ctx, nil, loc, op.DemoUsername, op.DemoPassword)
	if err != nil {
		return "", n, fmt.Errorf("login at %s: provider: %w", base, err)
	}
	if !strings.HasPrefix(cb, base+"/") {
		return "", n, fmt.Errorf("login at %s: the provider returned to %q", base, cb)
	}
	for range 3 { // the callback, then at most two redirects back to the page
		if status, loc, err = step(cb); err != nil {
			return "", n, fmt.Errorf("login at %s: %s: %w", base, cb, err)
		}
		if status == http.StatusOK {
			return jar.header(), n, nil
		}
		if status != http.StatusFound || loc == "" {
			return "", n, fmt.Errorf("login at %s: %s answered %d", base, cb, status)
		}
		next, err := url.Parse(cb)
		if err != nil {
			return "", n, err
		}
		ref, err := url.Parse(loc)
		if err != nil {
			return "", n, err
		}
		cb = next.ResolveReference(ref).String()
	}
	return "", n, fmt.Errorf("login at %s: too many redirects after the callback", base)
}
