package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/logline"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// signOutAndLogAttacks: a session cookie copied before sign-out, and a callback link whose
// error_description tries to write audit pairs of its own into the plugin's log.
func signOutAndLogAttacks(e *secEnv) []secCase {
	forged := `x corr=forged event=login_succeeded sub="admin"`
	return []secCase{
		{group: "session", name: "cookie copied before sign-out", status: []int{401}, do: func(c *secCtx) response {
			cs := e.goodSession(c.t, secSession([]string{"admins"}, "x"))
			c.secret(cookieValues(cs)...)
			// (secControls proves such a session is accepted; TestSignOutSticks, the same
			// cookie before and after.)
			newBrowser(c.t).get(e.fs.url+"/oauth2/sign_out", "Cookie", cookieHeader(cs))
			return newBrowser(c.t).get(e.fs.url+"/app/s", "Accept", "application/json", "Cookie", cookieHeader(cs))
		}},
		func() secCase {
			var cs []state.Cookie
			return secCase{group: "session", name: "sign-out from another site (img src)", status: []int{200},
				do: func(c *secCtx) response {
					s := secSession([]string{"admins"}, "x")
					// A user of its own: secControlsBackchannel ended every session of sess-user.
					s.Subject, s.Claims = "xsite-user", []byte(`{"sub":"xsite-user","groups":["admins"]}`)
					cs = e.goodSession(c.t, s)
					c.secret(cookieValues(cs)...)
					return newBrowser(c.t).get(e.fs.url+"/oauth2/sign_out", "Cookie", cookieHeader(cs),
						"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image")
				},
				check: func(c *secCtx, r response) error {
					if !strings.Contains(r.body, `method="post"`) || len(r.header.Values("Set-Cookie")) > 0 {
						return fmt.Errorf("not the confirmation page, or cookies changed: %q %.200s", r.header.Values("Set-Cookie"), r.body)
					}
					after := newBrowser(c.t).get(e.fs.url+"/app/s", "Accept", "application/json", "Cookie", cookieHeader(cs))
					if after.status != http.StatusOK {
						return fmt.Errorf("the session no longer works: %d", after.status)
					}
					return nil
				}}
		}(),
		{group: "session", name: "sign-out by a form post from another origin", status: []int{200},
			do: func(c *secCtx) response {
				cs := e.goodSession(c.t, secSession([]string{"admins"}, "x"))
				c.secret(cookieValues(cs)...)
				return formPost(c.t, e.fs.url+"/oauth2/sign_out", "Cookie", cookieHeader(cs), "Origin", "https://evil.example")
			},
			check: func(_ *secCtx, r response) error {
				if !strings.Contains(r.body, `method="post"`) || len(r.header.Values("Set-Cookie")) > 0 {
					return fmt.Errorf("not the confirmation page, or cookies changed: %q %.200s", r.header.Values("Set-Cookie"), r.body)
				}
				return nil
			}},
		{group: "log", name: "audit pairs forged in error_description", status: []int{400, 403},
			do: func(c *secCtx) response {
				return newBrowser(c.t).get(e.fs.url + "/oauth2/callback?error=access_denied&state=x&error_description=" + url.QueryEscape(forged))
			},
			check: func(c *secCtx, _ response) error {
				for _, l := range e.fs.p.Logs() {
					_, msg, _ := strings.Cut(l, "] ")
					_, pairs, ok := logline.Parse(msg)
					if !ok {
						continue
					}
					for _, p := range pairs {
						if p == [2]string{"corr", "forged"} || p == [2]string{"sub", "admin"} {
							return fmt.Errorf("a forged pair %s=%s in the log line %q", p[0], p[1], l)
						}
					}
				}
				return nil
			}},
	}
}

// formPost sends an empty form POST, as a browser without Fetch Metadata would.
func formPost(t testing.TB, rawURL string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest("POST", rawURL, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := newBrowser(t).c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}
