package e2e

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

func bcConfigure(cfg map[string]any) {
	cfg["endpoints"] = map[string]any{"backchannel_logout": true, "allow_on_headers_stop_iteration": true}
}

// bcSID is the sid of the ID token the app received.
func bcSID(t *testing.T, b *browser, s *stack.Stack) string {
	t.Helper()
	w, r := b.whoami(s)
	ti := w.Tokens["X-Forwarded-Id-Token"]
	if r.status != http.StatusOK || ti == nil {
		t.Fatalf("whoami: %d, id token %v", r.status, ti)
	}
	sid, _ := ti.Claims["sid"].(string)
	sub, _ := ti.Claims["sub"].(string)
	if sid == "" || sub == "" {
		t.Fatalf("the ID token has no sid or sub: %v", ti.Claims)
	}
	return sid
}

// TestBackchannelLogout: the provider posts a logout token for one session; that session is
// refused on both VMs from then on, another session goes on; the same token again, one with
// a nonce, one with a broken signature and one for another client are refused with 400.
func TestBackchannelLogout(t *testing.T) {
	s := start(t, stack.Options{VMs: 2, Configure: bcConfigure})
	a, b := newBrowser(t), newBrowser(t)
	for _, br := range []*browser{a, b} {
		if _, final := br.login(s, "/app1/"); final.status != http.StatusFound {
			t.Fatalf("login: %d\n%s", final.status, logText(s))
		}
	}
	sidA, sidB := bcSID(t, a, s), bcSID(t, b, s)
	if sidA == sidB {
		t.Fatalf("two logins share sid %s", sidA)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	endpoint := s.URL + "/oauth2/backchannel_logout"
	post := func(tok string) (int, string, string) {
		t.Helper()
		st, cc, body, err := s.OP.BackchannelLogout(ctx, endpoint, tok)
		if err != nil {
			t.Fatalf("%v\n%s", err, logText(s))
		}
		return st, cc, body
	}
	mustToken := func(sid string, edit func(map[string]any)) string {
		t.Helper()
		tok, err := s.OP.LogoutToken(sid, "", edit)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// The refusals first: none of them ends a session.
	good := mustToken(sidA, nil)
	parts := strings.Split(good, ".")
	forgedPayload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(forgedPayload), sidA, sidB, 1))) + "." + parts[2]
	for name, tok := range map[string]string{
		"nonce":         mustToken(sidA, func(c map[string]any) { c["nonce"] = "n-1" }),
		"bad signature": forged,
		"another aud":   mustToken(sidA, func(c map[string]any) { c["aud"] = "another-client" }),
		"no event":      mustToken(sidA, func(c map[string]any) { delete(c, "events") }),
	} {
		if st, cc, body := post(tok); st != http.StatusBadRequest || cc != "no-store" || !strings.Contains(body, `"error":"invalid_request"`) {
			t.Errorf("%s: %d %q %s, want 400 invalid_request", name, st, cc, body)
		}
	}
	for i := range 4 {
		if r := a.api(s.URL + "/api/whoami"); r.status != http.StatusOK {
			t.Fatalf("session a after refused logouts, request %d: %d", i, r.status)
		}
	}

	if st, cc, body := post(good); st != http.StatusOK || cc != "no-store" {
		t.Fatalf("logout: %d %q %s\n%s", st, cc, body, logText(s))
	}
	for i := range 4 { // both VMs
		if r := a.api(s.URL + "/api/whoami"); r.status != http.StatusUnauthorized {
			t.Fatalf("session a after its back-channel logout, request %d: %d, want 401", i, r.status)
		}
		if r := b.api(s.URL + "/api/whoami"); r.status != http.StatusOK {
			t.Fatalf("session b after a's back-channel logout, request %d: %d, want 200", i, r.status)
		}
	}
	if r := a.get(s.URL + "/app1/"); r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), s.OP.Issuer()) {
		t.Errorf("navigation with the ended session: %d %s, want a login", r.status, r.header.Get("Location"))
	}
	if st, _, body := post(good); st != http.StatusBadRequest || !strings.Contains(body, "already used") {
		t.Errorf("the same logout token again: %d %s, want 400", st, body)
	}
	assertNoSecretsInLogs(t, s, good)
}

// TestIntrospectionAtLogin: with login.introspect on, a login succeeds when the provider says
// the access token is active for this client and user, and ends on a 403 page when it says
// inactive (fault injection) or names another subject.
func TestIntrospectionAtLogin(t *testing.T) {
	s := start(t, stack.Options{Configure: func(cfg map[string]any) {
		cfg["login"] = map[string]any{"introspect": map[string]any{"enabled": true, "require_scopes": []any{"openid"}}}
	}})
	before := s.OP.Counts().Introspection
	if _, final := newBrowser(t).login(s, "/app1/"); final.status != http.StatusFound {
		t.Fatalf("login with an active token: %d %.300s\n%s", final.status, final.body, logText(s))
	}
	if n := s.OP.Counts().Introspection - before; n != 1 {
		t.Errorf("%d introspection requests for one login, want 1", n)
	}
	for name, edit := range map[string]func(map[string]any){
		"inactive":      func(m map[string]any) { clear(m); m["active"] = false },
		"other subject": func(m map[string]any) { m["sub"] = "someone-else" },
	} {
		s.OP.SetFault(op.EndpointIntrospection, op.Fault{Kind: op.FaultEditJSON, Edit: edit, Times: 1})
		_, final := newBrowser(t).login(s, "/app1/")
		corr := final.header.Get("X-Correlation-Id")
		if final.status != http.StatusForbidden || corr == "" || !strings.Contains(final.body, corr) {
			t.Errorf("%s: %d %.300s, want 403 with the correlation id", name, final.status, final.body)
		}
		for _, c := range final.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "_oidc_session") && !strings.HasPrefix(c, "_oidc_session_") && !strings.Contains(c, "=;") {
				t.Errorf("%s: a session cookie was set: %.60s", name, c)
			}
		}
	}
	if !strings.Contains(logText(s), "reason=introspection") {
		t.Errorf("no login_failed line with reason=introspection\n%s", logText(s))
	}
}
