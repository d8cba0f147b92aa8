package keycloak_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// user is a browser without JavaScript: a cookie jar that follows redirects and submits
// Keycloak's own login form as a browser would (the form's action, its field names).
type user struct {
	t    testing.TB
	p    *proxy.Proxy
	c    *http.Client
	name string
	// hops are the URLs the last request was redirected to, in order.
	hops []string
	// expectStatus is the status submit expects (200 when 0).
	expectStatus int
}

var passwords = map[string]string{"alice": "alice-password", "bob": "bob-password"}

func newUser(t testing.TB, p *proxy.Proxy, name string) *user {
	jar, _ := cookiejar.New(nil)
	u := &user{t: t, p: p, name: name}
	u.c = &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		u.hops = append(u.hops, req.URL.String())
		if len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return u
}

type page struct {
	status int
	url    string
	header http.Header
	body   string
}

func (u *user) get(rawURL string, headers ...string) page {
	u.t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return u.do(req)
}

func (u *user) do(req *http.Request) page {
	u.t.Helper()
	u.hops = nil
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), header: resp.Header, body: string(body)}
}

var formAction = regexp.MustCompile(`<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"`)

// isLoginForm reports whether pg is Keycloak's username and password form.
func isLoginForm(pg page) bool {
	return pg.status == 200 && formAction.MatchString(pg.body) && strings.Contains(pg.body, `name="password"`)
}

// login opens path on the proxy, expects Keycloak's login form, signs in and returns the
// page it lands on.
func (u *user) login(path string) page {
	u.t.Helper()
	pg := u.get(u.p.URL + path)
	if !isLoginForm(pg) {
		u.t.Fatalf("opening %s: %d at %s, want Keycloak's login form; body %.500s", path, pg.status, pg.url, pg.body)
	}
	return u.submit(pg)
}

// submit fills in and posts the login form on pg.
func (u *user) submit(pg page) page {
	u.t.Helper()
	action := html.UnescapeString(formAction.FindStringSubmatch(pg.body)[1])
	form := url.Values{"username": {u.name}, "password": {passwords[u.name]}, "credentialId": {""}}
	req, _ := http.NewRequest("POST", action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	out := u.do(req)
	if want := max(u.expectStatus, 200); out.status != want {
		u.t.Fatalf("after the login form: %d at %s; body %.500s\n%s", out.status, out.url, out.body, u.p.LogText())
	}
	return out
}

// api calls path as a page's fetch() would, and decodes the demo app's WhoAmI.
func (u *user) whoami(path string) (demoapp.WhoAmI, page) {
	u.t.Helper()
	pg := u.api(path)
	var w demoapp.WhoAmI
	if pg.status == 200 {
		if err := json.Unmarshal([]byte(pg.body), &w); err != nil {
			u.t.Fatalf("%s: not a WhoAmI: %v (%.300s)", path, err, pg.body)
		}
	}
	return w, pg
}

func (u *user) api(path string) page {
	u.t.Helper()
	req, _ := http.NewRequest("GET", u.p.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return u.do(req)
}

// token is the named token header the app received, failing when absent.
func token(t testing.TB, w demoapp.WhoAmI, header string) *demoapp.TokenInfo {
	t.Helper()
	ti := w.Tokens[header]
	if ti == nil {
		t.Fatalf("the app received no %s (tokens: %v)", header, keys(w.Tokens))
	}
	return ti
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// claimTime is a NumericDate claim.
func claimTime(ti *demoapp.TokenInfo, name string) time.Time {
	f, _ := ti.Claims[name].(float64)
	return time.Unix(int64(f), 0)
}

// waitPast sleeps until just after t.
func waitPast(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d + 1100*time.Millisecond)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
