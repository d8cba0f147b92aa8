package apps

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

func TestShiny(t *testing.T)     { scenarios(t, Shiny) }
func TestStreamlit(t *testing.T) { scenarios(t, Streamlit) }

// scenarios runs the app's scenarios in order, in one browser: each builds on the one before
// (the session the first logs in is the one the others keep open, expire and end).
func scenarios(t *testing.T, kind Kind) {
	needSuite(t)
	r := newRig(t, kind)
	b0 := newBrowser(t, r)
	var sub string    // the user's subject
	var first Upgrade // the socket's upgrade request after login
	var seen []string // every access token the app received so far
	step := func(name string, f func(t *testing.T, b *tab)) {
		if !t.Run(name, func(t *testing.T) { f(t, b0.on(t)) }) {
			t.FailNow()
		}
	}

	step("renders after login", func(t *testing.T, b *tab) {
		b.login("/")
		p := b.waitPage("the app shows the token its server holds", func(p Page) bool { return strings.HasPrefix(p.Token, "expires in") })
		ups := r.up.UpgradesTo(kind.Socket)
		if len(ups) != 1 {
			b.fatalf("%d upgrades to %s reached the app, want 1", len(ups), kind.Socket)
		}
		first = ups[0]
		c := verify(t, r, "the upgrade's access token", first.Access, first.At)
		verify(t, r, "the upgrade's ID token", first.ID, first.At)
		sub, seen = c.Subject, append(seen, first.Access)
		if first.User != sub || !strings.Contains(p.User, "demo@example.com") || !strings.Contains(p.User, sub) {
			b.fatalf("the app shows user %q (upgrade header X-Auth-Request-User %q), want demo@example.com and subject %q", p.User, first.User, sub)
		}
	})

	step("fresh token inside one open session", func(t *testing.T, b *tab) {
		eval[bool](b, `(window.__oneSession = true)`)
		sockets := len(r.up.UpgradesTo(kind.Socket))
		refreshes := r.s.OP.Counts().Refresh
		// The upgrade's tokens expire while the socket stays open...
		sleepUntil(expiry(t, first.Access).Add(time.Second))
		// ...and later the app's server holds a fresh access token.
		p := b.waitPage("the app's server holds an unexpired token", func(p Page) bool {
			exp, ok := shownExp(p)
			return ok && exp.After(time.Now().Add(time.Second))
		}, 2*ttl)
		if !eval[bool](b, `window.__oneSession === true`) {
			b.fatalf("the page was reloaded")
		}
		if n := len(r.up.UpgradesTo(kind.Socket)); n != sockets {
			b.fatalf("the app opened %d more sockets: the session did not stay on one socket", n-sockets)
		}
		if kind.Name == Shiny.Name && !eval[bool](b, `Shiny.shinyapp.isConnected()`) {
			b.fatalf("Shiny's socket is closed")
		}
		if c := r.s.OP.Counts(); c.Refresh <= refreshes || c.RefreshReuse != 0 {
			b.fatalf("while the page was open: %d refreshes, %d presentations of a rotated refresh token (want 1+ and 0)", c.Refresh-refreshes, c.RefreshReuse)
		}
		// Its on-behalf-of call, with the token it holds, succeeds.
		calls := len(r.obo.Calls())
		b.click(CallButton)
		p = b.waitPage("the on-behalf-of call", func(p Page) bool { return p.OBO != "" && len(r.obo.Calls()) > calls })
		if !strings.HasPrefix(p.OBO, "OK") {
			b.fatalf("the on-behalf-of call: %q, want OK", p.OBO)
		}
		call := r.obo.Calls()[calls]
		c := verify(t, r, "the token the app's server presented", call.Token, call.At)
		if c.Subject != sub {
			b.fatalf("the app's token has subject %q, want %q", c.Subject, sub)
		}
		if call.Token == first.Access {
			b.fatalf("the app's server presented the upgrade request's token, not a fresh one")
		}
		// The page shows the token endpoint's expires_at, which the plugin derives from the
		// provider's expires_in: within a second or two of the token's own exp.
		if exp, _ := shownExp(p); exp.Sub(c.Expiry.Time()).Abs() > 2*time.Second {
			t.Errorf("the page shows exp %d, the token the server presented has exp %d", exp.Unix(), c.Expiry.Time().Unix())
		}
		seen = append(seen, call.Token)
		// The route's exchanged token, which the plugin exchanged and the page renews too.
		exp, ok := shownExp(Page{Token: p.Exchanged})
		if !ok || !exp.After(time.Now()) || r.s.OP.Counts().OBO == 0 {
			b.fatalf("the app's exchanged token: %q (provider on-behalf-of requests %d); want one that has not expired", p.Exchanged, r.s.OP.Counts().OBO)
		}
	})

	step("a token pushed for another user is refused", func(t *testing.T, b *tab) {
		// The token comes from the page: a script there could push another user's. The app
		// takes it only when its ID token's sub is the upgrade request's user.
		calls := len(r.obo.Calls())
		eval[bool](b, pushJS(kind, forgedToken(t, "someone-else")))
		b.waitPage("the app refuses the pushed token", func(p Page) bool { return p.Token == "none: not this user's" })
		b.click(CallButton)
		b.waitPage("the on-behalf-of call without a token", func(p Page) bool { return strings.HasPrefix(p.OBO, "no token") })
		if n := len(r.obo.Calls()); n != calls {
			b.fatalf("the app made %d on-behalf-of calls with a token it refused", n-calls)
		}
		// The page's next token puts things right.
		eval[bool](b, fmt.Sprintf(`(() => { const w = (%s); w.oidcProxy.refresh(); return true; })()`, scriptWindowJS))
		b.waitPage("the app takes the page's next token", func(p Page) bool { return strings.HasPrefix(p.Token, "expires in") })
	})

	step("an upgrade without a session gets 401", func(t *testing.T, b *tab) {
		before, sockets := r.s.OP.Counts(), len(r.up.UpgradesTo(kind.Socket))
		for _, cookie := range []string{"", "_oidc_session=tampered"} {
			resp, body := rawUpgrade(t, r, kind.Socket, cookie)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" ||
				resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(resp.Header.Get("Content-Type"), "json") || !json.Valid(body) {
				t.Errorf("upgrade with cookie %q: %s, Location %q, WWW-Authenticate %q, Content-Type %q, body %.200s; want 401 JSON with WWW-Authenticate",
					cookie, resp.Status, resp.Header.Get("Location"), resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"), body)
			}
		}
		after := r.s.OP.Counts()
		if after.Authorize != before.Authorize || after.PAR != before.PAR {
			t.Errorf("an upgrade without a session started a login (counts before %+v, after %+v)", before, after)
		}
		if n := len(r.up.UpgradesTo(kind.Socket)); n != sockets {
			t.Errorf("%d upgrades without a session reached the app", n-sockets)
		}
	})

	step("a socket opened after expiry gets fresh tokens", func(t *testing.T, b *tab) {
		// Nothing renews the session any more: the tab leaves the app for a same-origin page
		// without it, and every token the browser's cookie may hold expires.
		b.navigate("/healthz")
		hs := b.watchHandshakes()
		time.Sleep(ttl + time.Second)
		cookies, refreshes, sockets := b.cookies(), r.s.OP.Counts().Refresh, len(r.up.UpgradesTo(kind.Socket))
		state := eval[string](b, fmt.Sprintf(`new Promise(done => {
  const ws = new WebSocket("ws://" + location.host + %q);
  window.__second = ws;
  ws.onopen = () => done("open");
  ws.onclose = e => done("closed " + e.code);
  setTimeout(() => done("no answer"), 10000);
})`, kind.Socket))
		ups := r.up.UpgradesTo(kind.Socket)
		if len(ups) != sockets+1 {
			b.fatalf("the second socket (%s) did not reach the app", state)
		}
		if state != "open" {
			t.Logf("%s answered the bare second socket with %s (after the upgrade reached it)", kind.Name, state)
		}
		second := ups[sockets]
		c := verify(t, r, "the second upgrade's access token", second.Access, second.At)
		verify(t, r, "the second upgrade's ID token", second.ID, second.At)
		if c.Subject != sub || second.User != sub {
			b.fatalf("the second socket's token has subject %q (header %q), want %q", c.Subject, second.User, sub)
		}
		for _, old := range seen {
			if second.Access == old {
				b.fatalf("the second socket got an access token the app had received before")
			}
		}
		seen = append(seen, second.Access)
		if r.s.OP.Counts().Refresh <= refreshes {
			b.fatalf("the plugin did not refresh on the upgrade")
		}
		// The plugin re-sealed the refreshed session, with the provider's new refresh token,
		// into a Set-Cookie on the 101, and Chromium must keep it: the provider rotates refresh
		// tokens, so the cookie from before now holds a spent one.
		if !hs.setCookie() || sameCookies(cookies, b.cookies()) {
			b.fatalf("the 101 carried Set-Cookie: %v; Chromium's cookies changed: %v; want both", hs.setCookie(), !sameCookies(cookies, b.cookies()))
		}
		// The next refresh uses it: no rotated refresh token is presented again.
		before := r.s.OP.Counts()
		sleepUntil(expiry(t, second.Access).Add(-margin + time.Second))
		if st := b.fetchStatus("/oauth2/token"); st != http.StatusOK {
			b.fatalf("the next refresh after the second socket: the token endpoint answers %d, want 200", st)
		}
		after := r.s.OP.Counts()
		if after.Refresh <= before.Refresh || after.RefreshReuse != 0 {
			b.fatalf("the next refresh: %d refreshes, %d presentations of a rotated refresh token (want 1+ and 0)", after.Refresh-before.Refresh, after.RefreshReuse)
		}
	})

	step("sign-out closes the app's socket and ends its tokens", func(t *testing.T, b *tab) {
		b.navigate("/")
		b.waitPage("the app renders again", func(p Page) bool { return strings.HasPrefix(p.Token, "expires in") })
		sockets, calls := len(r.up.UpgradesTo(kind.Socket)), len(r.obo.Calls())
		other := b.newTab()
		other.navigate("/oauth2/sign_out")
		signedOut := time.Now()
		// The plugin closes the open socket: the app's session on its server ends.
		for r.up.UpgradesTo(kind.Socket)[sockets-1].Closed.IsZero() {
			if time.Since(signedOut) > 10*time.Second {
				b.fatalf("the app's socket is still open 10 s after sign-out")
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("the app's socket was closed %v after sign-out", r.up.UpgradesTo(kind.Socket)[sockets-1].Closed.Sub(signedOut).Round(10*time.Millisecond))
		if kind.Name == Shiny.Name {
			b.waitJS("Shiny shows it lost its server", `!Shiny.shinyapp.isConnected()`, stepTimeout)
		}
		// The page's script is told at its next fetch; the app gets no token after it.
		b.waitJS("the page's tokens.js holds the error", TokenStateJS+` === "unauthorized"`, ttl+5*time.Second)
		if st := b.fetchStatus("/oauth2/token"); st != http.StatusUnauthorized {
			b.fatalf("after sign-out the token endpoint answers %d, want 401", st)
		}
		// Streamlit's page reconnects meanwhile: refused, none of its upgrades reached the app.
		if n := len(r.up.UpgradesTo(kind.Socket)); n != sockets {
			b.fatalf("%d upgrades reached the app after sign-out", n-sockets)
		}
		if n := len(r.obo.Calls()); n != calls {
			b.fatalf("the app made %d on-behalf-of calls after sign-out", n-calls)
		}
	})

	step("a refused refresh: the app is told and obtains no token", func(t *testing.T, b *tab) {
		b.login("/")
		b.waitPage("the app renders after a new login", func(p Page) bool { return strings.HasPrefix(p.Token, "expires in") })
		sockets, calls := len(r.up.UpgradesTo(kind.Socket)), len(r.obo.Calls())
		// The provider stops honouring the session's refresh token (revoked, or the session
		// ended by an admin): the page's next fetch gets 401, and its app is told, over the
		// socket that stays open.
		r.s.OP.SetFault(op.EndpointRefresh, op.Fault{Kind: op.FaultOAuthError})
		defer r.s.OP.ClearFaults()
		p := b.waitPage("the app is told the session ended", func(p Page) bool { return strings.HasPrefix(p.Token, "none") }, ttl+10*time.Second)
		t.Logf("the app shows: %s", p.Token)
		if ups := r.up.UpgradesTo(kind.Socket); len(ups) != sockets || !ups[sockets-1].Closed.IsZero() {
			b.fatalf("the app's socket did not stay open (%d upgrades since, last closed %v)", len(ups)-sockets, !ups[len(ups)-1].Closed.IsZero())
		}
		b.click(CallButton)
		b.waitPage("the on-behalf-of call without a session", func(p Page) bool { return strings.HasPrefix(p.OBO, "no token") })
		if n := len(r.obo.Calls()); n != calls {
			b.fatalf("the app made %d on-behalf-of calls after its session ended", n-calls)
		}
	})
}

// rawUpgrade sends a WebSocket upgrade from Go, as a script or a reconnecting client library
// would: no Sec-Fetch-Mode, the given Cookie header (none when empty).
func rawUpgrade(t *testing.T, r *rig, path, cookie string) (*http.Response, []byte) {
	t.Helper()
	host := strings.TrimPrefix(r.s.URL, "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: " + r.s.URL + "\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to the upgrade: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp, body
}

// verify checks a token's signature against the provider's published keys, its issuer and
// that it had not expired at the moment at; it fails the test (naming what, never the token).
func verify(t *testing.T, r *rig, what, raw string, at time.Time) jwt.Claims {
	t.Helper()
	fail := func(err error) jwt.Claims {
		t.Fatalf("%s does not verify at the provider: %v", what, err)
		return jwt.Claims{}
	}
	if raw == "" {
		return fail(fmt.Errorf("there is none"))
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return fail(err)
	}
	jwks := r.s.OP.JWKS()
	keys := jwks.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return fail(fmt.Errorf("kid %q is not in the provider's JWKS", tok.Headers[0].KeyID))
	}
	var c jwt.Claims
	if err := tok.Claims(keys[0].Public(), &c); err != nil {
		return fail(err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: r.s.OP.Issuer(), Time: at}, 0); err != nil {
		return fail(err)
	}
	if c.Expiry == nil {
		return fail(fmt.Errorf("no exp"))
	}
	return c
}

// expiry is a JWT's exp, read without verifying (the token was verified before).
func expiry(t *testing.T, raw string) time.Time {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || c.Expiry == nil {
		t.Fatalf("a token without exp (%v)", err)
	}
	return c.Expiry.Time()
}

var expRE = regexp.MustCompile(`\(exp (\d+)\)`)

// shownExp is the exp of the token the app says its server holds.
func shownExp(p Page) (time.Time, bool) {
	m := expRE.FindStringSubmatch(p.Token)
	if m == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	return time.Unix(n, 0), err == nil
}

func sleepUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}

func sameCookies(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// scriptWindowJS is the window that runs the page's tokens.js: the page (Shiny), or the
// component's frame (Streamlit).
const scriptWindowJS = `[window, ...[...document.querySelectorAll("iframe")].map(f => f.contentWindow)].find(w => w && w.oidcProxy)`

// pushJS makes the page hand the app tok as if tokens.js had: Shiny's input, or the
// component's value (sent from the component's frame, as its own script does).
func pushJS(kind Kind, tok map[string]any) string {
	v, _ := json.Marshal(tok)
	if kind.Name == Shiny.Name {
		return fmt.Sprintf(`(() => { Shiny.setInputValue("oidc_proxy_token", %s, {priority: "event"}); return true; })()`, v)
	}
	msg, _ := json.Marshal(fmt.Sprintf(`window.parent.postMessage({isStreamlitMessage: true, type: "streamlit:setComponentValue", value: %s, dataType: "json"}, "*")`, v))
	return fmt.Sprintf(`(() => { (%s).eval(%s); return true; })()`, scriptWindowJS, msg)
}

// forgedToken is a token object as tokens.js delivers it, for another subject (unsigned: the
// app only compares the sub).
func forgedToken(t *testing.T, sub string) map[string]any {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	exp := time.Now().Add(time.Hour).Unix()
	id := enc(map[string]any{"alg": "none"}) + "." + enc(map[string]any{"sub": sub, "exp": exp}) + ".x"
	return map[string]any{"token_type": "Bearer", "access_token": id, "id_token": id, "expires_at": exp, "expires_in": 3600}
}
