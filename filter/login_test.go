package filter

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

func TestSignInRedirect(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["extra_auth_params"] = map[string]any{"prompt": "consent"} })
	l.ready()
	r := l.navigate("/oauth2/sign_in?rd=%2Fapp%2Fpage%3Fx%3D1")
	if r.status() != 302 {
		t.Fatalf("sign_in: %d", r.status())
	}
	ls, q := l.openState(r.header("location"))
	for name, want := range map[string]string{
		"response_type": "code", "client_id": lhClient, "redirect_uri": "https://app.example.com/oauth2/callback",
		"scope": "openid profile email", "code_challenge_method": "S256", "nonce": ls.Nonce, "prompt": "consent",
	} {
		if got := q.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	sum := sha256.Sum256([]byte(ls.Verifier))
	if q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Error("code_challenge is not S256 of the sealed verifier")
	}
	if ls.ReturnPath != "/app/page?x=1" || time.Since(ls.IssuedAt) > 2*time.Second {
		t.Errorf("state: return path %q, issued %v", ls.ReturnPath, ls.IssuedAt)
	}
	var bind string
	for _, c := range r.headers("set-cookie") {
		if strings.HasPrefix(c, "_oidc_session_bind=") {
			bind = c
		}
	}
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=600"} {
		if !strings.Contains(bind, attr) {
			t.Errorf("binding cookie %q lacks %s", bind, attr)
		}
	}
	v, _, _ := strings.Cut(strings.TrimPrefix(bind, "_oidc_session_bind="), ";")
	if !state.EqualBindingHash(state.BindingHash(v), ls.BindingHash) {
		t.Error("the state is not bound to the binding cookie set with it")
	}
	if r.header("cache-control") != "no-store" {
		t.Errorf("cache-control %q", r.header("cache-control"))
	}
}

// TestSignInReturnPaths: only same-origin relative paths survive into the state.
func TestSignInReturnPaths(t *testing.T) {
	l := newLH(t, func(c map[string]any) { c["login"] = map[string]any{"loop_guard": map[string]any{"max_attempts": 0}} })
	l.ready()
	for _, tc := range []struct{ query, want string }{
		{"rd=%2Fok%2Fpath", "/ok/path"},
		{"rd=/a/../b/./c", "/b/c"},
		{"rd=//evil.com", "/"},
		{"rd=/%5Cevil.com", "/"},
		{"rd=https:evil.com", "/"},
		{"rd=https%3A%2F%2Fevil.com", "/"},
		{"rd=%2F%2Fevil.com", "/"},
		{"rd=/%252F%252Fevil.com", "/"},
		{"rd=/%09/evil.com", "/"},
		{"rd=javascript:alert(1)", "/"},
		{"rd=", "/"},
		{"", "/"},
		{"rd=%zz", "/"},
	} {
		r := l.navigate("/oauth2/sign_in?" + tc.query)
		if r.status() != 302 {
			t.Errorf("%s: %d", tc.query, r.status())
			continue
		}
		if ls, _ := l.openState(r.header("location")); ls.ReturnPath != tc.want {
			t.Errorf("%s: return path %q, want %q", tc.query, ls.ReturnPath, tc.want)
		}
	}
}

// TestTabsShareTheBindingCookie: a second tab's login reuses the browser's binding cookie,
// so both callbacks stay valid and cookies do not pile up.
func TestTabsShareTheBindingCookie(t *testing.T) {
	l := newLH(t, nil)
	l.ready()
	first := l.navigate("/a")
	cookie := lhCookies(first.headers("set-cookie"))
	second := l.navigate("/b", "cookie", cookie)
	ls1, _ := l.openState(first.header("location"))
	ls2, _ := l.openState(second.header("location"))
	if !state.EqualBindingHash(ls1.BindingHash, ls2.BindingHash) {
		t.Error("the second tab got a new binding: the first tab's callback would fail")
	}
	if ls1.Nonce == ls2.Nonce || ls1.Verifier == ls2.Verifier {
		t.Error("two logins share a nonce or a PKCE verifier")
	}
	// A malformed binding cookie is replaced, not reused.
	third := l.navigate("/c", "cookie", "_oidc_session_bind=short")
	ls3, _ := l.openState(third.header("location"))
	if state.EqualBindingHash(ls3.BindingHash, state.BindingHash("short")) {
		t.Error("a malformed binding cookie was reused")
	}
}

func TestLoopGuard(t *testing.T) {
	l := newLH(t, func(c map[string]any) {
		c["login"] = map[string]any{"loop_guard": map[string]any{"max_attempts": 3, "window": "1m"}}
	})
	l.ready()
	cookie := ""
	loopCookie := func(r lhReply) string {
		for _, c := range r.headers("set-cookie") {
			if strings.HasPrefix(c, "_oidc_session_loop=") {
				v, _, _ := strings.Cut(c, ";")
				return v
			}
		}
		return ""
	}
	for i := 1; i <= 3; i++ {
		r := l.navigate("/", "cookie", cookie)
		if r.status() != 302 {
			t.Fatalf("login %d: %d", i, r.status())
		}
		lc := loopCookie(r)
		if !strings.HasPrefix(lc, "_oidc_session_loop="+strconv.Itoa(i)+".") {
			t.Fatalf("login %d: loop cookie %q", i, lc)
		}
		cookie = lc
	}
	r := l.navigate("/", "cookie", cookie)
	if r.status() != 429 || r.header("retry-after") == "" {
		t.Fatalf("fourth login: %d retry-after %q", r.status(), r.header("retry-after"))
	}
	if ra, _ := strconv.Atoi(r.header("retry-after")); ra < 1 || ra > 60 {
		t.Errorf("Retry-After %d outside the window", ra)
	}
	if got := l.counter("oidc_proxy.login.failed.loop"); got != 1 {
		t.Errorf("login.failed.loop = %d", got)
	}
	if got := l.counter("oidc_proxy.login.started"); got != 3 {
		t.Errorf("login.started = %d, want 3", got)
	}

	// The count is the browser's own: lowering it only helps itself, and junk is ignored.
	old := strconv.FormatInt(time.Now().Add(-2*time.Minute).Unix(), 10)
	for _, c := range []string{"_oidc_session_loop=3." + old, "_oidc_session_loop=junk", "_oidc_session_loop=-9.1"} {
		if r := l.navigate("/", "cookie", c); r.status() != 302 || !strings.HasPrefix(loopCookie(r), "_oidc_session_loop=1.") {
			t.Errorf("cookie %q: %d, loop cookie %q; want a new window", c, r.status(), loopCookie(r))
		}
	}
	// API requests are never redirected, so they do not count.
	if r := l.request("GET", "/api/x", "accept", "application/json", "cookie", cookie); r.status() != 401 {
		t.Errorf("API request: %d", r.status())
	}
}
