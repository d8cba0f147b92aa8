package e2e

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/internal/logline"
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
