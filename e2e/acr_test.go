package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
)

// TestACRValuesChecked: with login.acr_values the authorization request asks for them and
// the ID token's acr must be one of them. A user who deletes acr_values from the authorization
// URL (the provider then signs them in without that class and its ID token has no acr) gets a
// 401 page and no session; the unedited login works.
func TestACRValuesChecked(t *testing.T) {
	s := start(t, stack.Options{Configure: func(c map[string]any) {
		c["login"] = map[string]any{"acr_values": []any{"gold", "silver"}}
	}})
	login := func(edit func(q url.Values)) response {
		t.Helper()
		b := newBrowser(t)
		authz := b.authorize(s, "/app1/")
		u, err := url.Parse(authz)
		if err != nil || u.Query().Get("acr_values") != "gold silver" {
			t.Fatalf("authorization request %s, want acr_values=gold silver", authz)
		}
		q := u.Query()
		edit(q)
		u.RawQuery = q.Encode()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cb, err := s.OP.Login(ctx, u.String())
		if err != nil {
			t.Fatalf("login at the provider: %v", err)
		}
		return b.get(cb)
	}
	if r := login(func(url.Values) {}); r.status != http.StatusFound || !setsSession(r) {
		t.Fatalf("the login as asked: %d %.300s\n%s", r.status, r.body, logText(s))
	}
	r := login(func(q url.Values) { q.Del("acr_values") })
	if r.status != http.StatusUnauthorized || setsSession(r) || !strings.Contains(r.body, "login.acr_values") {
		t.Fatalf("a login without acr_values: %d, session %v; %.300s", r.status, setsSession(r), r.body)
	}
	if logs := logText(s); !strings.Contains(logs, "event=id_token_rejected") || !strings.Contains(logs, "acr") {
		t.Errorf("no id_token_rejected audit line naming acr:\n%s", logs)
	}
}
