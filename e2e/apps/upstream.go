package apps

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Upgrade is one WebSocket upgrade request that reached the app: when, where, and the
// identity headers the plugin set on it.
type Upgrade struct {
	At           time.Time
	Path         string
	Access, ID   string // X-Forwarded-Access-Token, X-Forwarded-Id-Token
	User, Email  string // X-Auth-Request-User, X-Auth-Request-Email
	SecFetchMode string
	// Closed is when the upgraded connection ended (zero while it is open).
	Closed time.Time
}

// Upstream is the app as the proxy sees it: a reverse proxy to the app (WebSockets included)
// that keeps the Host the browser sent (Streamlit checks a socket's Origin against it),
// records each upgrade request, and itself answers /healthz with a small page (a pass-through
// path of the test configs: a same-origin page on which no app runs, so nothing refreshes the
// session there).
type Upstream struct {
	target   *url.URL
	mu       sync.Mutex
	upgrades []Upgrade
}

// NewUpstream proxies to the app at target ("http://127.0.0.1:port").
func NewUpstream(target string) (*Upstream, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return &Upstream{target: u}, nil
}

// Handler is the upstream's handler.
func (u *Upstream) Handler() http.Handler {
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u.target)
		pr.Out.Host = pr.In.Host
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><title>ok</title><p id=ok>ok</p>")
			return
		}
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			rp.ServeHTTP(w, r)
			return
		}
		u.mu.Lock()
		i := len(u.upgrades)
		u.upgrades = append(u.upgrades, Upgrade{
			At: time.Now(), Path: r.URL.Path,
			Access: r.Header.Get("X-Forwarded-Access-Token"), ID: r.Header.Get("X-Forwarded-Id-Token"),
			User: r.Header.Get("X-Auth-Request-User"), Email: r.Header.Get("X-Auth-Request-Email"),
			SecFetchMode: r.Header.Get("Sec-Fetch-Mode"),
		})
		u.mu.Unlock()
		rp.ServeHTTP(w, r) // for an upgrade, returns when the socket has ended
		u.mu.Lock()
		u.upgrades[i].Closed = time.Now()
		u.mu.Unlock()
	})
}

// UpgradesTo are the upgrades to path so far, in order.
func (u *Upstream) UpgradesTo(path string) []Upgrade {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []Upgrade
	for _, g := range u.upgrades {
		if g.Path == path {
			out = append(out, g)
		}
	}
	return out
}

// ReadPage is a JavaScript expression that reads what both example apps show, by their
// labels: {user, token, exchanged, obo}: the user, the access token their server holds
// ("expires in N s (exp T)", or "none, the session has ended: <error>"), the route's
// exchanged token it holds, and the last on-behalf-of result.
const ReadPage = `(() => {
  const lines = (document.body ? document.body.innerText : "").split("\n").map(s => s.trim());
  const after = p => { const l = lines.find(l => l.startsWith(p)); return l ? l.slice(p.length).trim() : ""; };
  return {user: after("Signed in as"), token: after("Access token:"), exchanged: after("Exchanged token:"), obo: after("On-behalf-of:")};
})()`

// Page is what ReadPage returns.
type Page struct {
	User      string `json:"user"`
	Token     string `json:"token"`
	Exchanged string `json:"exchanged"`
	OBO       string `json:"obo"`
}

// TokenStateJS is a JavaScript expression that says what the page's /oauth2/tokens.js holds,
// in the page or in one of its frames (Streamlit's component): "token", its error
// ("unauthorized" once the session has ended), "none" before the first answer, or "no script".
const TokenStateJS = `(() => {
  const wins = [window, ...[...document.querySelectorAll("iframe")].map(f => { try { return f.contentWindow; } catch (e) { return null; } })];
  for (const w of wins) {
    if (w && w.oidcProxy) { const t = w.oidcProxy.token(); return t ? (t.error || "token") : "none"; }
  }
  return "no script";
})()`

// ClickJS is a JavaScript expression that clicks the first button whose text contains the
// label given as its argument and says whether there was one: fmt.Sprintf(ClickJS, label).
const ClickJS = `(() => { const b = [...document.querySelectorAll("button")].find(b => b.innerText.includes(%q)); if (b) b.click(); return !!b; })()`

// CallButton is the label of the example apps' on-behalf-of button.
const CallButton = "Call the API"
