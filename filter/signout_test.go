package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// {prefix}/signed_out is a page of its own, served without a session: it says the user is
// signed out and links to a new sign-in (not the provider's login form at once).
func TestSignedOutPage(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	r := l.navigate("/oauth2/signed_out")
	body := string(r.local.Data)
	if r.status() != 200 || !strings.Contains(body, "You are signed out") || !strings.Contains(body, `href="/oauth2/sign_in?rd=%2F"`) {
		t.Fatalf("signed-out page: %d %s", r.status(), body)
	}
	if cc := r.header("cache-control"); cc != "no-store" {
		t.Errorf("cache-control %q, want no-store", cc)
	}
	if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) != 0 {
		t.Errorf("the page sent a callout")
	}
}

// After sign-out the same session cookies (a copy kept elsewhere) are refused on this VM,
// whether the session was cached or not; other sessions are not affected.
func TestSignOutRefusesCopiedCookies(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	mine, other := l.loginDefault(), l.loginDefault()
	api := func(cookie string) int {
		r := l.request("GET", "/api/x", "cookie", cookie)
		if r.local == nil {
			return 200
		}
		return r.status()
	}
	if api(mine) != 200 || api(other) != 200 {
		t.Fatal("the sessions do not work before sign-out")
	}
	r := l.navigate("/oauth2/sign_out", "cookie", mine)
	if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) == 1 { // the revocation
		l.answer(cs[0], "200", "text/plain", "")
		r = l.reply(r.id)
	}
	if r.status() != 302 {
		t.Fatalf("sign-out: %d", r.status())
	}
	if got := api(mine); got != 401 {
		t.Errorf("the signed-out session (cached): %d, want 401", got)
	}
	l.p.cache = newSessionCache(l.p.cfg.Session.CacheSize) // as another VM would open it
	if got := api(mine); got != 401 {
		t.Errorf("the signed-out session (opened afresh): %d, want 401", got)
	}
	if got := api(other); got != 200 {
		t.Errorf("another session after the sign-out: %d, want 200", got)
	}
}

// The warm path reads the deny list's slot only when a sign-out happened since the session
// was last checked: otherwise one small read of the generation.
func TestSignOutCheckReadsSlotOnlyWhenTheListMoved(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	lg := l.startLogin("/app/")
	r, c := l.callback(lg, "code-1")
	l.answer(*c, "200", "application/json", lhTokenJSON(l.idToken(l.claims(lg.nonce))))
	cookies := lhCookies(l.reply(r.id).headers("set-cookie"))
	slotReads := 0
	realGet := getSharedData
	getSharedData = func(key string) ([]byte, uint32, error) {
		if strings.Contains(key, "/signed-out/") {
			slotReads++
		}
		return realGet(key)
	}
	t.Cleanup(func() { getSharedData = realGet })
	get := func() { l.request("GET", "/api/x", "cookie", cookies) }
	get()
	if slotReads != 0 {
		t.Fatalf("%d slot reads before anyone signed out, want 0", slotReads)
	}
	if err := l.p.signedOut.add(&liveSession{s: &state.Session{LoginID: "another"}}, time.Now().Add(time.Hour), time.Now()); err != nil {
		t.Fatal(err)
	}
	slotReads = 0 // the sign-out's own write read the slot
	for range 5 {
		get()
	}
	if slotReads != 1 {
		t.Errorf("%d slot reads for 5 requests after one sign-out, want 1", slotReads)
	}
}

// TestSignOutFromAnotherSite: a sign-out another site starts (an <img src>, a link, a form:
// Sec-Fetch-Site cross-site, or an Origin of another origin) signs nobody out, revokes
// nothing and clears no cookie: it gets a page whose same-origin POST form does; same-site
// and same-origin requests, and those without evidence, sign out as before.
func TestSignOutFromAnotherSite(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	signedIn := func(cookie string) bool {
		return l.request("GET", "/api/x", "cookie", cookie).local == nil
	}
	signOut := func(method, cookie string, hdrs ...string) lhReply {
		r := l.request(method, "/oauth2/sign_out", append([]string{"cookie", cookie}, hdrs...)...)
		if cs := l.host.GetCalloutAttributesFromContext(r.id); len(cs) == 1 { // the revocation
			l.answer(cs[0], "200", "text/plain", "")
			r = l.reply(r.id)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		hdrs []string
	}{
		{"img from another site", []string{"sec-fetch-site", "cross-site", "sec-fetch-mode", "no-cors", "sec-fetch-dest", "image"}},
		{"link from another site", []string{"sec-fetch-site", "cross-site", "sec-fetch-mode", "navigate"}},
		{"form post from another site", []string{"sec-fetch-site", "cross-site", "origin", "https://evil.example"}},
		{"old browser, another origin", []string{"origin", "https://evil.example"}},
		{"old browser, opaque origin", []string{"origin", "null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cookie := l.loginDefault()
			r := signOut("GET", cookie, tc.hdrs...)
			body := string(r.local.Data)
			if r.status() != 200 || !strings.Contains(body, `<form id="sign-out" method="post" action="/oauth2/sign_out">`) {
				t.Fatalf("%d %s, want the confirmation page", r.status(), body)
			}
			if sc := r.headers("set-cookie"); len(sc) != 0 {
				t.Errorf("the confirmation page sets cookies: %q", sc)
			}
			if r.header("x-frame-options") != "DENY" || r.header("cache-control") != "no-store" {
				t.Errorf("x-frame-options %q, cache-control %q", r.header("x-frame-options"), r.header("cache-control"))
			}
			if !signedIn(cookie) {
				t.Fatal("the session was ended")
			}
			// The page's form: a same-origin POST signs out.
			if r := signOut("POST", cookie, "sec-fetch-site", "same-origin", "origin", "https://app.example.com"); r.status() != 302 {
				t.Fatalf("the confirmation: %d, want 302", r.status())
			}
			if signedIn(cookie) {
				t.Error("the session works after the confirmed sign-out")
			}
		})
	}
	for _, tc := range []struct {
		name string
		hdrs []string
	}{
		{"same-site link", []string{"sec-fetch-site", "same-site", "sec-fetch-mode", "navigate"}},
		{"same-origin link", []string{"sec-fetch-site", "same-origin", "sec-fetch-mode", "navigate"}},
		{"typed or bookmarked", []string{"sec-fetch-site", "none", "sec-fetch-mode", "navigate"}},
		{"no fetch metadata", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cookie := l.loginDefault()
			if r := signOut("GET", cookie, tc.hdrs...); r.status() != 302 {
				t.Fatalf("%d, want 302 (signed out)", r.status())
			}
			if signedIn(cookie) {
				t.Error("the session works after sign-out")
			}
		})
	}
}
