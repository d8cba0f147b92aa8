package keycloak_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/apps"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoy"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/proxy"
)

// TestShinyApp: the example Shiny app (docs/examples/apps/shiny, Debian's r-cran-shiny) behind
// the plugin in Envoy, Keycloak rotating refresh tokens with reuse detection (the realm's
// revokeRefreshToken, refreshTokenMaxReuse 0). Inside one open socket the tokens expire and
// are rotated several times by the page's /oauth2/tokens.js; the app's server then holds a
// fresh access token, active at Keycloak, of the same user, and its on-behalf-of call with it
// (Keycloak's standard token exchange, for reports-api) succeeds; Keycloak refused no refresh
// as a reuse. An upgrade without a session gets 401. When Keycloak ends the session (an
// admin's logout), the page's next refresh is refused and the app is told over its open socket.
func TestShinyApp(t *testing.T) {
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := envoy.Root()
	if err != nil {
		t.Fatal(err)
	}
	const client = "shiny-app"
	secret := randomSecret()

	// The app sends its on-behalf-of calls through a recorder, to Keycloak's token endpoint.
	rec := apps.NewRecorder()
	t.Cleanup(rec.Close)
	rec.SetTarget(suite.issuer + "/protocol/openid-connect/token")
	addr, err := proxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	app, err := apps.Start(apps.Shiny, root, port, t.TempDir(), map[string]string{
		"OBO_TOKEN_URL": rec.URL, "OBO_CLIENT_ID": client, "OBO_CLIENT_SECRET": secret, "OBO_AUDIENCE": "reports-api",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Stop)
	up, err := apps.NewUpstream(app.URL)
	if err != nil {
		t.Fatal(err)
	}
	upSrv := httptest.NewServer(up.Handler())
	t.Cleanup(upSrv.Close)

	// A Keycloak client of the app's own, allowed the standard token exchange, whose access
	// tokens name it and reports-api as audiences; the example config with the token endpoint.
	audience := func(name, aud string) map[string]any {
		return map[string]any{"name": name, "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
			"config": map[string]any{"included.client.audience": aud, "id.token.claim": "false",
				"access.token.claim": "true", "introspection.token.claim": "true"}}
	}
	p, _ := tunedFeatureProxy(t,
		map[string]any{"pass_through": []any{map[string]any{"path": "/healthz"}}},
		map[string]any{"clientId": client, "secret": secret,
			"attributes":      map[string]any{"standard.token.exchange.enabled": "true"},
			"protocolMappers": []any{audience("own audience", client), audience("reports-api audience", "reports-api")}},
		func(b *envoy.Bootstrap) { b.Upstream = upSrv.URL })
	if err := app.WaitReady(ctx, apps.Shiny.Ready); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	b := newTab(t, p)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nShiny log:\n%s", fmt.Sprintf(format, args...), app.Log())
	}

	// The app renders after login.
	b.navigate("/")
	b.submitLoginForm("alice")
	pg := waitApp(b, "the app shows alice and her token", func(p apps.Page) bool {
		return strings.Contains(p.User, "alice@example.com") && strings.HasPrefix(p.Token, "expires in")
	}, stepTimeout)
	ups := up.UpgradesTo(apps.Shiny.Socket)
	if len(ups) != 1 || ups[0].Access == "" {
		fail("%d upgrades reached Shiny (the first with an access token: %v), want 1", len(ups), len(ups) > 0 && ups[0].Access != "")
	}
	first := ups[0]
	firstClaims := jwtPayload(t, first.Access)
	sub, _ := firstClaims["sub"].(string)
	sid, _ := jwtPayload(t, first.ID)["sid"].(string)
	if sub == "" || !strings.Contains(pg.User, sub) {
		fail("the app shows user %q, want alice's subject %q", pg.User, sub)
	}

	// Inside one open socket: the upgrade's tokens expire, and the page rotates the refresh
	// token at least twice.
	exp1 := time.Unix(int64(firstClaims["exp"].(float64)), 0)
	waitPast(exp1.Add(time.Second))
	deadline := time.Now().Add(40 * time.Second)
	for countEvents(t, "REFRESH_TOKEN", sid, began) < 2 {
		if time.Now().After(deadline) {
			fail("fewer than 2 refreshes at Keycloak in 40 s with the app open")
		}
		time.Sleep(time.Second)
	}
	pg = waitApp(b, "the app's server holds an unexpired token", func(p apps.Page) bool {
		exp, ok := appExp(p)
		return ok && exp.After(time.Now().Add(time.Second))
	}, stepTimeout)
	if n := len(up.UpgradesTo(apps.Shiny.Socket)); n != 1 {
		fail("Shiny got %d upgrades, want the one socket", n)
	}
	if !run(b, "Shiny connected", chromedp.Evaluate[bool](`Shiny.shinyapp.isConnected()`)) {
		fail("Shiny's socket is closed")
	}
	if n := countEvents(t, "REFRESH_TOKEN_ERROR", sid, began); n != 0 {
		fail("Keycloak refused %d refreshes of the session (reuse detection)", n)
	}

	// The on-behalf-of call, Keycloak's standard token exchange, with the token the server holds.
	if !run(b, "click "+apps.CallButton, chromedp.Evaluate[bool](fmt.Sprintf(apps.ClickJS, apps.CallButton))) {
		fail("no on-behalf-of button")
	}
	pg = waitApp(b, "the on-behalf-of call", func(p apps.Page) bool { return p.OBO != "" && len(rec.Calls()) > 0 }, stepTimeout)
	if !strings.HasPrefix(pg.OBO, "OK") {
		fail("the on-behalf-of call: %q, want OK", pg.OBO)
	}
	held := rec.Calls()[0].Token
	if held == first.Access {
		fail("the app's server presented the upgrade request's token, not a fresh one")
	}
	info, err := suite.kc.Introspect(ctx, client, secret, held)
	if err != nil {
		t.Fatal(err)
	}
	if info["active"] != true || info["sub"] != sub {
		fail("the token the app's server held: active %v, sub %v; want active, %s", info["active"], info["sub"], sub)
	}
	if countEvents(t, "TOKEN_EXCHANGE", "", began) < 1 {
		t.Errorf("no TOKEN_EXCHANGE event at Keycloak")
	}

	// An upgrade without a session: 401, not a redirect.
	if st, loc := bareUpgrade(t, p.URL, apps.Shiny.Socket); st != http.StatusUnauthorized || loc != "" {
		t.Errorf("an upgrade without a session: %d (Location %q), want 401", st, loc)
	}

	// Keycloak ends the session (an admin's logout): the page's next refresh is refused, and
	// the app is told over its socket, which stays open; it obtains no token after it.
	calls := len(rec.Calls())
	if err := suite.kc.Admin(ctx, "DELETE", "/sessions/"+url.PathEscape(sid), nil, nil); err != nil {
		t.Fatal(err)
	}
	pg = waitApp(b, "the app is told the session ended", func(p apps.Page) bool { return strings.HasPrefix(p.Token, "none") }, 30*time.Second)
	if !strings.Contains(pg.Token, "unauthorized") {
		t.Errorf("the app shows %q, want the error unauthorized", pg.Token)
	}
	if !run(b, "Shiny connected", chromedp.Evaluate[bool](`Shiny.shinyapp.isConnected()`)) {
		t.Errorf("Shiny's socket closed when the refresh was refused: the app was not told over it")
	}
	run(b, "click "+apps.CallButton, chromedp.Evaluate[bool](fmt.Sprintf(apps.ClickJS, apps.CallButton)))
	waitApp(b, "the on-behalf-of call after the session ended", func(p apps.Page) bool { return strings.HasPrefix(p.OBO, "no token") }, stepTimeout)
	if n := len(rec.Calls()); n != calls {
		fail("the app made %d on-behalf-of calls after its session ended", n-calls)
	}
	if countEvents(t, "REFRESH_TOKEN_ERROR", sid, began) == 0 {
		t.Errorf("no refused refresh at Keycloak: what told the app?")
	}
	assertNoSecrets(t, p.LogText(), first.Access, held, secret)
}

// waitApp polls the example app's page until ok holds.
func waitApp(b *tab, what string, ok func(apps.Page) bool, limit time.Duration) apps.Page {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		p, err := chromedp.Run(ctx, chromedp.Evaluate[apps.Page](apps.ReadPage))
		cancel()
		if err == nil && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %v; the page shows %+v (err %v)", what, limit, p, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var appExpRE = regexp.MustCompile(`\(exp (\d+)\)`)

// appExp is the exp of the token the app says its server holds.
func appExp(p apps.Page) (time.Time, bool) {
	m := appExpRE.FindStringSubmatch(p.Token)
	if m == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	return time.Unix(n, 0), err == nil
}

// bareUpgrade sends a WebSocket upgrade without a cookie or Sec-Fetch-Mode, as a script
// would, and returns the status and Location of the answer.
func bareUpgrade(t *testing.T, base, path string) (int, string) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Location")
}
