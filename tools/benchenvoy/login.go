package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

// cookies is a minimal cookie store for one host: the browser's view of the cookies a proxy
// set, kept in the order they were first set. Secure cookies are kept too (the benchmark is
// plain http on loopback, and Envoy's oauth2 filter always marks its cookies Secure).
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

// browserLogin logs in through the proxy at base as a browser would: a navigation to path (a
// 302 to the provider), the provider's login form, the callback (a 302 that sets the session
// cookies), and the page it returns to, which must reach the app (200). It returns the Cookie
// header the browser then holds.
func browserLogin(ctx context.Context, provider *op.Server, base, path string) (string, error) {
	c := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var jar cookies
	step := func(u string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		if h := jar.header(); h != "" {
			req.Header.Set("Cookie", h)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		jar.take(resp)
		return resp.StatusCode, resp.Header.Get("Location"), nil
	}
	status, loc, err := step(base + path)
	if err != nil || status != http.StatusFound || !strings.HasPrefix(loc, provider.Endpoints().Authorize) {
		return "", fmt.Errorf("login at %s: navigation: %d %q %v", base, status, loc, err)
	}
	cb, err := provider.LoginAs(ctx, nil, loc, op.DemoUsername, op.DemoPassword)
	if err != nil {
		return "", fmt.Errorf("login at %s: provider: %w", base, err)
	}
	if !strings.HasPrefix(cb, base+"/") {
		return "", fmt.Errorf("login at %s: the provider returned to %q", base, cb)
	}
	for range 3 { // the callback, then at most two redirects back to the page
		if status, loc, err = step(cb); err != nil {
			return "", fmt.Errorf("login at %s: %s: %w", base, cb, err)
		}
		if status == http.StatusOK {
			return jar.header(), nil
		}
		if status != http.StatusFound || loc == "" {
			return "", fmt.Errorf("login at %s: %s answered %d", base, cb, status)
		}
		next, err := url.Parse(cb)
		if err != nil {
			return "", err
		}
		ref, err := url.Parse(loc)
		if err != nil {
			return "", err
		}
		cb = next.ResolveReference(ref).String()
	}
	return "", fmt.Errorf("login at %s: too many redirects after the callback", base)
}
