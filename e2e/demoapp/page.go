package demoapp

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

type pageData struct {
	W           *WhoAmI
	APIPath     string
	LivePath    string
	TokenScript string
	SignOut     string
	Mounts      []mountLink
	Tokens      []tokenView
}

type mountLink struct {
	Name, Path string
	Current    bool
}

type tokenView struct {
	Header     string
	Info       *TokenInfo // nil when the header was not received
	Claims     []claimRow
	ClaimsJSON string
	HeaderJSON string
	RawShort   string
	ExpUnix    int64
}

type claimRow struct{ Name, Value string }

// shownClaims are listed first, in this order; all claims are in the JSON.
var shownClaims = []string{"iss", "sub", "aud", "azp", "client_id", "scope", "scp", "email", "name", "groups", "sid", "jti", "iat", "nbf", "exp"}

func (a *app) servePage(w http.ResponseWriter, r *http.Request) {
	who := a.inspect(r)
	d := pageData{W: who, APIPath: a.prefix + "api/whoami", LivePath: a.prefix + "ws", TokenScript: a.cfg.TokenScriptPath, SignOut: a.cfg.SignOutPath}
	for _, m := range []struct{ name, path string }{{a.cfg.Name, "/"}, {"app1", "/app1/"}, {"app2", "/app2/"}} {
		d.Mounts = append(d.Mounts, mountLink{m.name, m.path, m.path == a.prefix})
	}
	for _, h := range a.tokenHeaders() {
		d.Tokens = append(d.Tokens, viewOf(h, who.Tokens[h]))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, d); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
	}
}

func viewOf(header string, t *TokenInfo) tokenView {
	v := tokenView{Header: header, Info: t}
	if t == nil {
		return v
	}
	v.RawShort = t.Raw
	if len(v.RawShort) > 24 {
		v.RawShort = v.RawShort[:24] + fmt.Sprintf("… (%d characters)", len(t.Raw))
	}
	if t.ExpiresAt != nil {
		v.ExpUnix = t.ExpiresAt.Unix()
	}
	for _, name := range shownClaims {
		if c, ok := t.Claims[name]; ok {
			v.Claims = append(v.Claims, claimRow{name, claimString(name, c)})
		}
	}
	if b, err := json.MarshalIndent(t.Claims, "", "  "); err == nil && t.Claims != nil {
		v.ClaimsJSON = string(b)
	}
	if b, err := json.MarshalIndent(t.JOSEHeader, "", "  "); err == nil && t.JOSEHeader != nil {
		v.HeaderJSON = string(b)
	}
	return v
}

func claimString(name string, v any) string {
	switch name {
	case "iat", "nbf", "exp", "auth_time":
		if f, ok := v.(float64); ok {
			return time.Unix(int64(f), 0).UTC().Format("2006-01-02 15:04:05 UTC") + fmt.Sprintf(" (%d)", int64(f))
		}
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.W.App}} · demo app</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#cfd8ff} header .cur{color:#fff;font-weight:700;text-decoration:none} header .right{margin-left:auto}
main{max-width:64rem;margin:1.5rem auto;padding:0 1rem}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:1rem 1.3rem;margin-bottom:1rem}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:0} h3{font-size:1rem;margin:.2rem 0;font-family:ui-monospace,monospace}
table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eceef1;vertical-align:top}
th{width:14rem;font-weight:600;font-family:ui-monospace,monospace;font-size:.9rem} td{font-family:ui-monospace,monospace;font-size:.9rem;word-break:break-all}
pre{background:#f1f3f6;padding:.6rem;border-radius:4px;overflow:auto;font-size:.85rem;max-height:24rem} pre:empty{display:none}
.ok{color:#0a7a3a;font-weight:600} .bad{color:#b42318;font-weight:600} .muted{color:#667085}
.token{border-left:4px solid #c3c7cf;padding-left:.9rem;margin:1rem 0} .token.v{border-color:#0a7a3a} .token.x{border-color:#b42318}
button{padding:.5rem 1rem;font-size:1rem;background:#2557d6;color:#fff;border:0;border-radius:4px;cursor:pointer}
</style></head>
<body>
<header>
<strong>Demo app</strong>
{{range .Mounts}}<a href="{{.Path}}"{{if .Current}} class="cur" aria-current="page"{{end}}>{{.Name}}</a>{{end}}
<a class="right" id="sign-out" href="{{.SignOut}}">Sign out</a>
</header>
<main>
<h1 id="app-name">{{.W.App}}</h1>

<section id="user">
<h2>User</h2>
{{with .W.User}}{{if or .Subject .Email .PreferredUsername}}
<p>Signed in as <strong id="user-name">{{if .Name}}{{.Name}}{{else if .PreferredUsername}}{{.PreferredUsername}}{{else}}{{.Subject}}{{end}}</strong>{{if .Email}} (<span id="user-email">{{.Email}}</span>){{end}}</p>
<table>
<tr><th>sub</th><td>{{.Subject}}</td></tr>
<tr><th>preferred_username</th><td>{{.PreferredUsername}}</td></tr>
<tr><th>groups</th><td>{{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}</td></tr>
<tr><th>from</th><td>{{range $i, $s := .Sources}}{{if $i}}, {{end}}{{$s}}{{end}}</td></tr>
</table>
{{else}}<p class="bad">No user: the request carried no identity headers and no tokens.</p>{{end}}{{end}}
</section>

<section id="headers">
<h2>Identity headers</h2>
{{if .W.Headers}}<table>{{range $k, $v := .W.Headers}}<tr><th>{{$k}}</th><td>{{$v}}</td></tr>{{end}}</table>
{{else}}<p class="muted">None received.</p>{{end}}
<p class="muted">Cookies received: {{range $i, $c := .W.Cookies}}{{if $i}}, {{end}}{{$c}}{{else}}none{{end}}</p>
</section>

<section id="live" data-status="">
<h2>Live: the token the app's server holds</h2>
<p class="muted">A WebSocket stays open, as in a Shiny or Streamlit app. Its server first holds the access token of the
socket's upgrade request; the page, through the proxy's <code>{{.TokenScript}}</code>, pushes each fresh token down the
same socket before the old one expires. No reload.</p>
<table>
<tr><th>socket</th><td><span id="live-state">connecting</span> <span class="muted" id="live-socket"></span></td></tr>
<tr><th>held token</th><td><span id="live-verified"></span> <span id="live-exp"></span></td></tr>
<tr><th>for</th><td id="live-sub"></td></tr>
<tr><th>from</th><td><span id="live-source"></span>, <span id="live-renewals">0</span> renewal(s) without a reload</td></tr>
<tr><th>session</th><td id="live-ended">active</td></tr>
</table>
<button id="live-reconnect" type="button">Reconnect</button>
</section>

<section id="tokens">
<h2>Tokens</h2>
{{if .W.KeysError}}<p class="bad">Provider keys unavailable: {{.W.KeysError}}</p>{{end}}
{{range .Tokens}}{{$tv := .}}
<div class="token{{with .Info}}{{if .Verified}} v{{else}} x{{end}}{{end}}" data-header="{{.Header}}">
<h3>{{.Header}}</h3>
{{with .Info}}
<p>{{if .Verified}}<span class="ok">Verifies now</span> against the provider's keys{{else}}<span class="bad">Does not verify now</span>: {{.Error}}{{end}}</p>
{{if .ExpiresAt}}<p>Expires {{.ExpiresAt.Format "2006-01-02 15:04:05 UTC"}}, <span data-exp="{{$tv.ExpUnix}}" class="{{if .Expired}}bad{{else}}ok{{end}}">{{if .Expired}}{{.ExpiresIn}} s (expired){{else}}in {{.ExpiresIn}} s{{end}}</span></p>{{end}}
{{end}}
{{if .Claims}}<table>{{range .Claims}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table>{{end}}
{{if .Info}}<details><summary>All claims, JOSE header, raw</summary>
{{if .ClaimsJSON}}<pre>{{.ClaimsJSON}}</pre>{{end}}{{if .HeaderJSON}}<pre>{{.HeaderJSON}}</pre>{{end}}
<pre>{{.RawShort}}</pre></details>
{{else}}<p class="muted">Not received.</p>{{end}}
</div>
{{end}}
</section>

<section id="api">
<h2>API call</h2>
<p>Calls <code>{{.APIPath}}</code> with <code>fetch()</code> and <code>Accept: application/json</code>, as a single-page app would.</p>
<button id="call-api" type="button">Call {{.APIPath}}</button>
<p>Status: <strong id="api-status">not called</strong></p>
<pre id="api-body"></pre>
</section>
<p class="muted">Rendered {{.W.Time.Format "2006-01-02 15:04:05 UTC"}} for {{.W.Method}} {{.W.Path}}</p>
</main>
<script src="{{.TokenScript}}"></script>
<script>
(function () {
  const el = function (id) { return document.getElementById(id); };
  const panel = el("live");
  let ws = null;
  function send(tok) {
    if (!ws || ws.readyState !== 1 || !tok) return;
    ws.send(JSON.stringify(tok.error ? {error: tok.error} : {access_token: tok.access_token}));
  }
  function render(s) {
    panel.dataset.status = JSON.stringify(s);
    el("live-socket").textContent = "#" + s.socket + ", open since " + s.opened_at;
    el("live-sub").textContent = s.sub || "(no user)";
    el("live-source").textContent = s.source === "page" ? "pushed by this page" : "the socket's upgrade request";
    el("live-renewals").textContent = s.renewals;
    const h = s.held;
    el("live-verified").textContent = !h ? "none" : (h.verified ? "verifies now," : "does not verify: " + (h.error || ""));
    el("live-verified").className = h && h.verified ? "ok" : "bad";
    el("live-exp").textContent = h && h.expires_at ? (h.expires_in > 0 ? "expires in " + h.expires_in + " s" : "expired") : "";
    if (s.ended) { el("live-ended").textContent = "ended (" + s.ended + "): sign in again"; el("live-ended").className = "bad"; }
    if (s.rejected) el("live-ended").textContent = "last push rejected: " + s.rejected;
  }
  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + {{.LivePath}});
    ws.onopen = function () { el("live-state").textContent = "open"; el("live-state").className = "ok"; if (window.oidcProxy) send(window.oidcProxy.token()); };
    ws.onmessage = function (e) { render(JSON.parse(e.data)); };
    ws.onclose = function (e) { el("live-state").textContent = "closed (" + e.code + ")"; el("live-state").className = "bad"; panel.dataset.closed = "1"; };
  }
  if (window.oidcProxy) window.oidcProxy.onToken(send);
  else el("live-ended").textContent = "the proxy's token script is not there (endpoints.token is off): the server keeps the upgrade's token";
  el("live-reconnect").addEventListener("click", function () { if (ws) ws.close(); panel.dataset.closed = ""; connect(); });
  connect();
})();
</script>
<script>
(function () {
  const api = {{.APIPath}};
  const status = document.getElementById("api-status"), body = document.getElementById("api-body");
  document.getElementById("call-api").addEventListener("click", async function () {
    status.textContent = "calling…"; body.textContent = "";
    try {
      const res = await fetch(api, {headers: {"Accept": "application/json"}, credentials: "same-origin", redirect: "manual"});
      if (res.type === "opaqueredirect") { status.textContent = "redirect (not followed)"; return; }
      const auth = res.headers.get("WWW-Authenticate");
      status.textContent = res.status + " " + res.statusText + (auth ? " · WWW-Authenticate: " + auth : "");
      const text = await res.text();
      try { body.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { body.textContent = text; }
    } catch (e) { status.textContent = "network error: " + e; }
  });
  function tick() {
    const now = Date.now() / 1000;
    document.querySelectorAll("[data-exp]").forEach(function (el) {
      const left = Math.floor(Number(el.dataset.exp) - now);
      el.textContent = left > 0 ? "in " + left + " s" : (-left) + " s ago (expired)";
      el.className = left > 0 ? "ok" : "bad";
    });
  }
  tick(); setInterval(tick, 1000);
})();
</script>
</body></html>
`))
