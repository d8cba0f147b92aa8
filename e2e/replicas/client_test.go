package replicas

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

// browser is a cookie jar with a client that does not follow redirects. Cookies ignore the
// port (RFC 6265), so one browser's session cookie goes to every replica on 127.0.0.1, as a
// browser's goes to every replica behind one host name.
type browser struct {
	t   testing.TB
	jar *cookiejar.Jar
	c   *http.Client
}

type response struct {
	status int
	header http.Header
	body   string
	err    error
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends one request; an error is in the response (rounds count it, never abort on it).
func (b *browser) do(method, rawURL string, headers ...string) response {
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		return response{err: err}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: string(body), err: err}
}

// page is a navigation; api a fetch() of JSON (a 401 rather than a redirect without a session).
func (b *browser) page(rawURL string) response {
	return b.do(http.MethodGet, rawURL, "Accept", "text/html", "Sec-Fetch-Mode", "navigate")
}

func (b *browser) api(rawURL string) response {
	return b.do(http.MethodGet, rawURL, "Accept", "application/json", "Sec-Fetch-Mode", "cors")
}

// authorize opens base+path and returns the provider's authorization URL it redirects to.
func (b *browser) authorize(p *op.Server, base, path string) string {
	b.t.Helper()
	r := b.page(base + path)
	loc := r.header.Get("Location")
	if r.err != nil || r.status != http.StatusFound || !strings.HasPrefix(loc, p.Issuer()) {
		b.t.Fatalf("GET %s%s: %v %d, Location %q; want a redirect to the provider", base, path, r.err, r.status, loc)
	}
	return loc
}

// signIn has the provider log the demo user in and returns the callback URL (code and state)
// it sends the browser back to.
func signIn(t testing.TB, p *op.Server, authorizeURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cb, err := p.Login(ctx, authorizeURL)
	if err != nil {
		t.Fatalf("login at the provider: %v", err)
	}
	return cb
}

// login signs the browser in through base (a replica or the front) at path.
func (b *browser) login(p *op.Server, base, path string) {
	b.t.Helper()
	cb := signIn(b.t, p, b.authorize(p, base, path))
	if r := b.page(cb); r.err != nil || r.status != http.StatusFound {
		b.t.Fatalf("the callback %s: %v %d %.300s", base, r.err, r.status, r.body)
	}
}

// copyTo gives other this browser's cookies for rawURL: a copied session.
func (b *browser) copyTo(other *browser, rawURL string) {
	u, _ := url.Parse(rawURL)
	other.jar.SetCookies(u, b.jar.Cookies(u))
}

// cookies is the Cookie header b sends to rawURL now.
func (b *browser) cookies(rawURL string) string {
	u, _ := url.Parse(rawURL)
	var h []string
	for _, c := range b.jar.Cookies(u) {
		h = append(h, c.Name+"="+c.Value)
	}
	return strings.Join(h, "; ")
}

// whoami is what the demo app saw of a request through base, or the answer that was not one.
func (b *browser) whoami(base string) (demoapp.WhoAmI, response) {
	r := b.api(base + "/api/whoami")
	var w demoapp.WhoAmI
	if r.err == nil && r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &w); err != nil {
			r.err = err
		}
	}
	return w, r
}

// sid is the sid claim of the ID token the app received through base.
func (b *browser) sid(base string) string {
	b.t.Helper()
	w, r := b.whoami(base)
	ti := w.Tokens["X-Forwarded-Id-Token"]
	if r.err != nil || r.status != http.StatusOK || ti == nil {
		b.t.Fatalf("whoami: %v %d, ID token %v", r.err, r.status, ti)
	}
	sid, _ := ti.Claims["sid"].(string)
	if sid == "" {
		b.t.Fatalf("the ID token has no sid: %v", ti.Claims)
	}
	return sid
}
