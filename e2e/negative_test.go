package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// upstreamRecorder wraps the app behind the proxy and records every request that reaches it,
// so a test can assert that an attack got nothing through.
type upstreamRecorder struct {
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct {
	method, path string
	header       http.Header
}

func (u *upstreamRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, recordedRequest{r.Method, r.URL.RequestURI(), r.Header.Clone()})
		u.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (u *upstreamRecorder) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func (u *upstreamRecorder) last() recordedRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return recordedRequest{}
	}
	return u.reqs[len(u.reqs)-1]
}

// untouched fails the test if any request reached the upstream since the count was before.
func (u *upstreamRecorder) untouched(t testing.TB, before int) {
	t.Helper()
	if n := u.count(); n != before {
		t.Errorf("%d request(s) reached the upstream, want none; last: %s %s", n-before, u.last().method, u.last().path)
	}
}

// startRecorded starts a stack whose upstream is recorded.
func startRecorded(t testing.TB, o stack.Options) (*stack.Stack, *upstreamRecorder) {
	t.Helper()
	up := &upstreamRecorder{}
	o.Upstream = up.wrap
	return start(t, o), up
}

// authorize navigates to path and returns the provider's authorization URL the proxy
// redirected to.
func (b *browser) authorize(s *stack.Stack, path string) string {
	b.t.Helper()
	r := b.get(s.URL + path)
	loc := r.header.Get("Location")
	if r.status != http.StatusFound || !strings.HasPrefix(loc, s.OP.Issuer()) {
		b.t.Fatalf("GET %s: %d to %q, want 302 to the provider; body %.300s", path, r.status, loc, r.body)
	}
	return loc
}

// providerLogin logs in at the provider (a fresh provider session) and returns the callback
// URL it redirects to, not yet visited.
func providerLogin(t testing.TB, s *stack.Stack, authz string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cb, err := s.OP.Login(ctx, authz)
	if err != nil {
		t.Fatalf("login at the provider: %v", err)
	}
	return cb
}

// withQuery returns rawURL with its query parameter name set to value.
func withQuery(t testing.TB, rawURL, name, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func queryParam(t testing.TB, rawURL, name string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

// metric reads a plugin counter (0 when it was never defined).
// metric reads a plugin counter from a stack, a proxy or the host.
func metric(m interface{ Metric(string) (int64, bool) }, name string) int64 {
	v, _ := m.Metric(name)
	return v
}

// setsSession reports whether a response sets (not clears) a session cookie.
func setsSession(r response) bool {
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "_oidc_session=") && !strings.HasPrefix(c, "_oidc_session=;") {
			return true
		}
	}
	return false
}

// wantRefused checks a refused callback: the status, no session, nothing upstream.
func wantRefused(t testing.TB, r response, status int, up *upstreamRecorder, before int) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %.300s", r.status, status, r.body)
	}
	if setsSession(r) {
		t.Errorf("a refused callback set a session cookie")
	}
	up.untouched(t, before)
}

func TestCallbackTamperedState(t *testing.T) {
	s, up := startRecorded(t, stack.Options{})
	b := newBrowser(t)
	cb := providerLogin(t, s, b.authorize(s, "/app1/"))
	st := queryParam(t, cb, "state")
	flip := []byte(st)
	i := len(flip) / 2
	flip[i] = "AB"[boolInt(flip[i] == 'A')]
	codes := s.OP.Counts().Code
	failed := metric(s, "oidc_proxy.login.failed.bad_state")
	for _, tc := range []struct{ name, state string }{
		{"one character changed", string(flip)},
		{"truncated", st[:len(st)-4]},
		{"another value", base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("x", 120)))},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			r := b.get(withQuery(t, cb, "state", tc.state))
			wantRefused(t, r, http.StatusBadRequest, up, before)
		})
	}
	if n := s.OP.Counts().Code; n != codes {
		t.Errorf("the code was redeemed %d time(s) for a tampered state; checks must run before the callout", n-codes)
	}
	if got := metric(s, "oidc_proxy.login.failed.bad_state"); got < failed+3 {
		t.Errorf("login.failed.bad_state went from %d to %d, want +3", failed, got)
	}
	// The untampered callback still works: a tampered copy did not use up the state.
	if r := b.get(cb); r.status != http.StatusFound || r.header.Get("Location") != "/app1/" {
		t.Errorf("the genuine callback after tampered ones: %d %q", r.status, r.header.Get("Location"))
	}
	assertNoSecretsInLogs(t, s, st, queryParam(t, cb, "code"))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCallbackReplayed(t *testing.T) {
	s, up := startRecorded(t, stack.Options{})
	b := newBrowser(t)
	cb := providerLogin(t, s, b.authorize(s, "/app1/x"))
	if r := b.get(cb); r.status != http.StatusFound || !setsSession(r) {
		t.Fatalf("first use of the callback: %d, session set %v; body %.300s", r.status, setsSession(r), r.body)
	}
	sess, _ := b.cookie(s, "_oidc_session")
	before := up.count()
	codes := s.OP.Counts().Code
	// The same browser, and a copy of its cookies in another one (a stolen browser profile
	// or a proxy log replayed).
	r := b.get(cb)
	wantRefused(t, r, http.StatusBadRequest, up, before)
	thief := newBrowser(t)
	u, _ := url.Parse(s.URL)
	thief.jar.SetCookies(u, b.jar.Cookies(u))
	thief.jar.SetCookies(u, []*http.Cookie{{Name: "_oidc_session", Value: "", MaxAge: -1}})
	r = thief.get(cb)
	wantRefused(t, r, http.StatusBadRequest, up, before)
	if n := s.OP.Counts().Code; n != codes {
		t.Errorf("a replayed callback reached the token endpoint %d time(s)", n-codes)
	}
	if got := metric(s, "oidc_proxy.login.failed.replay"); got < 2 {
		t.Errorf("login.failed.replay = %d, want 2", got)
	}
	assertNoSecretsInLogs(t, s, queryParam(t, cb, "state"), queryParam(t, cb, "code"), sess)
}

func TestCallbackFromAnotherBrowser(t *testing.T) {
	s, up := startRecorded(t, stack.Options{})
	victim := newBrowser(t)
	cb := providerLogin(t, s, victim.authorize(s, "/app1/"))
	before := up.count()

	// The attacker has the callback URL (leaked through a Referer, a log, or a login CSRF
	// the other way round) but not the victim's binding cookie.
	attacker := newBrowser(t)
	wantRefused(t, attacker.get(cb), http.StatusBadRequest, up, before)
	// Nor does their own binding cookie help.
	attacker.authorize(s, "/")
	if _, ok := attacker.cookie(s, "_oidc_session_bind"); !ok {
		t.Fatalf("no binding cookie after starting a login")
	}
	wantRefused(t, attacker.get(cb), http.StatusBadRequest, up, before)
	if got := metric(s, "oidc_proxy.login.failed.binding"); got < 2 {
		t.Errorf("login.failed.binding = %d, want 2", got)
	}
	// The victim's own login was not used up by the attempts.
	if r := victim.get(cb); r.status != http.StatusFound || !setsSession(r) {
		t.Errorf("the victim's callback after the attack: %d, session %v", r.status, setsSession(r))
	}
}

// sealState seals a login state with the stack's current key, as the plugin would, so tests
// can present states the plugin itself would never issue (expired, from the future).
func sealState(t testing.TB, s *stack.Stack, ls state.LoginState, expires time.Time) string {
	t.Helper()
	secret, err := base64.RawURLEncoding.DecodeString(s.Keys[0].Secret)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := state.NewSealer([]state.Key{{ID: s.Keys[0].ID, Secret: secret}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ls.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealer.Seal(state.PurposeState, "_oidc_session_bind", plain, expires)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestCallbackExpiredState(t *testing.T) {
	s, up := startRecorded(t, stack.Options{Configure: func(c map[string]any) {
		c["login"] = map[string]any{"state_lifetime": "30s"}
	}})
	b := newBrowser(t)
	b.authorize(s, "/") // gets the browser a binding cookie
	binding, ok := b.cookie(s, "_oidc_session_bind")
	if !ok {
		t.Fatal("no binding cookie")
	}
	now := time.Now()
	login := func(issued time.Time) state.LoginState {
		return state.LoginState{Verifier: strings.Repeat("v", 43), Nonce: "n0nce-for-the-test", ReturnPath: "/",
			IssuedAt: issued.Truncate(time.Second), BindingHash: state.BindingHash(binding)}
	}
	callback := func(st string) response {
		return b.get(s.URL + "/oauth2/callback?code=some-code&state=" + url.QueryEscape(st))
	}
	codes := s.OP.Counts().Code

	before := up.count()
	expired := sealState(t, s, login(now.Add(-2*time.Minute)), now.Add(-90*time.Second))
	r := callback(expired)
	wantRefused(t, r, http.StatusBadRequest, up, before)
	if !strings.Contains(r.body, "took too long") {
		t.Errorf("expired state: the page does not say the sign-in took too long: %.300s", r.body)
	}
	if got := metric(s, "oidc_proxy.login.failed.expired_state"); got != 1 {
		t.Errorf("login.failed.expired_state = %d, want 1", got)
	}
	// Sealed to live longer than login.state_lifetime (a replica with a longer setting, or
	// a lifetime shortened since): the issued_at window still applies.
	stale := sealState(t, s, login(now.Add(-2*time.Minute)), now.Add(time.Hour))
	wantRefused(t, callback(stale), http.StatusBadRequest, up, before)
	if got := metric(s, "oidc_proxy.login.failed.expired_state"); got != 2 {
		t.Errorf("login.failed.expired_state = %d, want 2", got)
	}
	future := sealState(t, s, login(now.Add(time.Hour)), now.Add(time.Hour+30*time.Second))
	wantRefused(t, callback(future), http.StatusBadRequest, up, before)
	if n := s.OP.Counts().Code; n != codes {
		t.Errorf("expired or future states reached the token endpoint %d time(s)", n-codes)
	}

	// Control: the same construction within its lifetime passes every state check and is
	// stopped only by the provider, which never issued that code.
	fresh := sealState(t, s, login(now), now.Add(30*time.Second))
	r = callback(fresh)
	wantRefused(t, r, http.StatusBadGateway, up, before)
	if n := s.OP.Counts().Code; n != codes+1 {
		t.Errorf("a fresh test-sealed state should reach the token endpoint once, got %d", n-codes)
	}
}

func TestCallbackOversizedQuery(t *testing.T) {
	s, up := startRecorded(t, stack.Options{})
	b := newBrowser(t)
	cb := providerLogin(t, s, b.authorize(s, "/"))
	before := up.count()
	codes := s.OP.Counts().Code
	for _, tc := range []struct{ name, url string }{
		{"query over limits.max_query_bytes", cb + "&pad=" + strings.Repeat("a", 9000)},
		{"state over limits.max_state_bytes", withQuery(t, cb, "state", strings.Repeat("A", 5000))},
		{"too many parameters", cb + strings.Repeat("&p=1", 40)},
		{"duplicate state", cb + "&state=x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantRefused(t, b.get(tc.url), http.StatusBadRequest, up, before)
		})
	}
	if n := s.OP.Counts().Code; n != codes {
		t.Errorf("oversized callbacks reached the token endpoint %d time(s)", n-codes)
	}
}

// TestOpenRedirectInReturnPath completes a login for each hostile return target and checks
// that the browser is sent back to a same-origin path.
func TestOpenRedirectInReturnPath(t *testing.T) {
	s, up := startRecorded(t, stack.Options{})
	for _, tc := range []struct {
		name, path, want string
	}{
		{"control", "/oauth2/sign_in?rd=%2Fapp1%2Fpage%3Fx%3D1", "/app1/page?x=1"},
		{"scheme-relative", "/oauth2/sign_in?rd=//evil.com", "/"},
		{"backslash", "/oauth2/sign_in?rd=/%5Cevil.com", "/"},
		{"scheme without slashes", "/oauth2/sign_in?rd=https:evil.com", "/"},
		{"absolute URL", "/oauth2/sign_in?rd=https%3A%2F%2Fevil.com%2F", "/"},
		{"encoded slashes", "/oauth2/sign_in?rd=%2F%2Fevil.com", "/"},
		{"double-encoded slashes", "/oauth2/sign_in?rd=/%252F%252Fevil.com", "/"},
		{"tab between slashes", "/oauth2/sign_in?rd=/%09/evil.com", "/"},
		{"javascript", "/oauth2/sign_in?rd=javascript:alert(1)", "/"},
		// Envoy merges the slashes first (merge_slashes in envoy.yaml): a same-origin path.
		{"protected path itself", "//evil.com/x", map[bool]string{true: "/evil.com/x", false: "/"}[onEnvoy()]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			b := newBrowser(t)
			cb := providerLogin(t, s, b.authorize(s, tc.path))
			r := b.get(cb)
			loc := r.header.Get("Location")
			if r.status != http.StatusFound || loc != tc.want {
				t.Errorf("after login: %d to %q, want 302 to %q", r.status, loc, tc.want)
			}
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("Location %q is not a same-origin path", loc)
			}
			up.untouched(t, before)
		})
	}
}

// TestForgedIdentityHeaders sends the identity headers only the proxy may set.
func TestForgedIdentityHeaders(t *testing.T) {
	s, up := startRecorded(t, stack.Options{})
	forged := []string{
		"X-Auth-Request-User", "admin",
		"X-Auth-Request-Email", "admin@example.com",
		"X-Auth-Request-Groups", "admins",
		"X-Forwarded-Access-Token", "forged-access-token-value",
		"X-Forwarded-Id-Token", "forged-id-token-value",
	}
	anon := newBrowser(t)

	// A pass-through path reaches the app, without any of them.
	before := up.count()
	r := anon.get(s.URL+"/healthz", forged...)
	if up.count() != before+1 {
		t.Fatalf("the pass-through request did not reach the upstream (status %d)", r.status)
	}
	for i := 0; i < len(forged); i += 2 {
		if v := up.last().header.Values(forged[i]); len(v) != 0 {
			t.Errorf("the app received the client's %s: %q", forged[i], v)
		}
	}

	// Without a session, a protected path gets nowhere near the app.
	before = up.count()
	if r := anon.api(s.URL + "/api/whoami"); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous API call: %d, want 401", r.status)
	}
	hdrs := append([]string{"Accept", "application/json", "Sec-Fetch-Mode", "cors"}, forged...)
	if r := anon.get(s.URL+"/api/whoami", hdrs...); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous API call with forged identity: %d, want 401", r.status)
	}
	if r := anon.get(s.URL+"/app1/", forged...); r.status != http.StatusFound {
		t.Errorf("anonymous navigation with forged identity: %d, want 302", r.status)
	}
	up.untouched(t, before)

	// With a session, the app sees the real values, once.
	b := newBrowser(t)
	b.login(s, "/")
	r = b.get(s.URL+"/api/whoami", hdrs...)
	if r.status != http.StatusOK {
		t.Fatalf("whoami with a session: %d %.300s", r.status, r.body)
	}
	seen := up.last().header
	if got := seen.Values("X-Auth-Request-User"); len(got) != 1 || got[0] != "demo-user-0001" {
		t.Errorf("X-Auth-Request-User at the app: %q, want the session's subject once", got)
	}
	if got := seen.Values("X-Auth-Request-Email"); len(got) != 1 || got[0] != "demo@example.com" {
		t.Errorf("X-Auth-Request-Email at the app: %q", got)
	}
	if got := seen.Values("X-Auth-Request-Groups"); len(got) != 1 || got[0] != "users,admins" {
		t.Errorf("X-Auth-Request-Groups at the app: %q, want the session's groups only", got)
	}
	for _, h := range []string{"X-Forwarded-Access-Token", "X-Forwarded-Id-Token"} {
		got := seen.Values(h)
		if len(got) != 1 || strings.HasPrefix(got[0], "forged") || strings.Count(got[0], ".") != 2 {
			t.Errorf("%s at the app: %d value(s), want the session's one JWT", h, len(got))
		}
	}
}
