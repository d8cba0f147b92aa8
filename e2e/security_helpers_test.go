package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// secCase is one attack or fault of the security suite. Every case must be rejected as
// expected: the status is one of status, the upstream saw nothing (or, when reached is set,
// only what reached allows), no token or cookie the case used appears in the plugin's log,
// and no response carries an injected header.
type secCase struct {
	group, name string
	do          func(c *secCtx) response
	status      []int
	reached     func(c *secCtx, seen []http.Header) error
	check       func(c *secCtx, r response) error
}

// secCtx is what a case runs with.
type secCtx struct {
	t       *testing.T
	e       *secEnv
	secrets []string
}

// secret notes values that must never appear in the log (tokens, cookies, states, codes).
func (c *secCtx) secret(s ...string) {
	for _, v := range s {
		c.secrets = append(c.secrets, v)
		// A token's signature alone is as telling as the token.
		if i := strings.LastIndexByte(v, '.'); i > 0 && len(v)-i > 16 && strings.Count(v, ".") == 2 {
			c.secrets = append(c.secrets, v[i+1:])
		}
	}
}

// api sends an API request (Accept: JSON) with a bearer token ("" for none).
func (c *secCtx) api(path, token string, headers ...string) response {
	c.secret(token)
	return c.e.bearerGet(c.t, path, token, headers...)
}

// nav sends a browser navigation from a fresh browser.
func (c *secCtx) nav(path string, headers ...string) response {
	return newBrowser(c.t).get(c.e.fs.url+path, headers...)
}

// run runs the cases in order as subtests and returns how many were rejected as expected.
func (e *secEnv) run(t *testing.T, cases []secCase) (passed int) {
	for _, tc := range cases {
		ok := t.Run(tc.group+"/"+tc.name, func(t *testing.T) {
			c := &secCtx{t: t, e: e}
			logsBefore := len(e.fs.p.Logs())
			upBefore := e.up.count()
			r := tc.do(c)
			if !containsInt(tc.status, r.status) {
				t.Errorf("status %d, want %v; body %.300s", r.status, tc.status, r.body)
			}
			seen := e.up.since(upBefore)
			switch {
			case tc.reached == nil && len(seen) > 0:
				t.Errorf("%d request(s) reached the upstream, want none", len(seen))
			case tc.reached != nil:
				if err := tc.reached(c, seen); err != nil {
					t.Errorf("upstream: %v", err)
				}
			}
			if err := injected(r); err != nil {
				t.Error(err)
			}
			if tc.check != nil {
				if err := tc.check(c, r); err != nil {
					t.Error(err)
				}
			}
			logs := e.fs.p.Logs()
			for _, l := range logs[min(logsBefore, len(logs)):] {
				if os.Getenv("SECURITY_LOG") != "" { // SECURITY_LOG=1 go test -v: why each case was refused
					t.Log(l)
				}
				for _, s := range c.secrets {
					if len(s) >= 16 && strings.Contains(l, s) {
						t.Errorf("the plugin log holds a secret of this case (%.10s...): %.200s", s, l)
					}
				}
			}
		})
		if ok {
			passed++
		}
	}
	return passed
}

// injected fails for a response that carries what a CR/LF injection would add.
func injected(r response) error {
	for k, vs := range r.header {
		if strings.EqualFold(k, "X-Injected") {
			return fmt.Errorf("response has an injected header %s", k)
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") || strings.Contains(strings.ToLower(v), "injected=") {
				return fmt.Errorf("response header %s has injected content: %q", k, v)
			}
		}
	}
	return nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (u *secUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

func (u *secUpstream) since(n int) []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.reqs[n:]...)
}

// wantChallenge checks an RFC 6750 challenge with the given error ("" for none).
func wantChallenge(code string) func(*secCtx, response) error {
	return func(_ *secCtx, r response) error {
		h := r.header.Get("Www-Authenticate")
		if !strings.HasPrefix(h, `Bearer realm="`) {
			return fmt.Errorf("WWW-Authenticate %q, want a Bearer challenge", h)
		}
		switch {
		case code == "" && strings.Contains(h, "error="):
			return fmt.Errorf("WWW-Authenticate %q has an error; none was expected (no token sent)", h)
		case code != "" && !strings.Contains(h, `error="`+code+`"`):
			return fmt.Errorf("WWW-Authenticate %q, want error=%q", h, code)
		}
		if !strings.Contains(r.header.Get("Content-Type"), "json") {
			return fmt.Errorf("content type %q, want JSON", r.header.Get("Content-Type"))
		}
		return nil
	}
}

// noSession checks that a response did not set a session cookie.
func noSession(_ *secCtx, r response) error {
	if setsSession(r) {
		return fmt.Errorf("a session cookie was set")
	}
	return nil
}

// safeLocation checks that a post-login redirect goes to a same-origin path.
func safeLocation(_ *secCtx, r response) error {
	loc := r.header.Get("Location")
	u, err := url.Parse(loc)
	switch {
	case err != nil || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\"):
		return fmt.Errorf("Location %q is not a same-origin path", loc)
	case u.Scheme != "" || u.Host != "" || u.User != nil:
		return fmt.Errorf("Location %q leaves the origin", loc)
	case strings.ContainsAny(loc, "\r\n\t\\"):
		return fmt.Errorf("Location %q has control characters or a backslash", loc)
	}
	return nil
}

// identityHeaders are the headers only the proxy may set.
var identityHeaders = []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups",
	"X-Auth-Request-Preferred-Username", "X-Forwarded-Access-Token", "X-Forwarded-Id-Token"}

// forgedHeaders sends a value for each identity header.
func forgedHeaders() []string {
	var h []string
	for _, n := range identityHeaders {
		h = append(h, n, "forged-"+strings.ToLower(n))
	}
	return h
}

// underscored is headers (name, value pairs) with each name's hyphens as underscores.
func underscored(headers []string) []string {
	out := append([]string(nil), headers...)
	for i := 0; i < len(out); i += 2 {
		out[i] = strings.ReplaceAll(out[i], "-", "_")
	}
	return out
}

// noForgedSpelling accepts no upstream request (a proxy that refuses underscores) or one in
// which no header that a CGI-style app reads as an identity header (X_Auth_Request_Groups is
// HTTP_X_AUTH_REQUEST_GROUPS, like X-Auth-Request-Groups) carries a forged value.
func noForgedSpelling(_ *secCtx, seen []http.Header) error {
	if len(seen) > 1 {
		return fmt.Errorf("%d upstream requests, want at most 1", len(seen))
	}
	for _, h := range seen {
		for k, vs := range h {
			cgi := strings.ReplaceAll(strings.ToLower(k), "_", "-")
			for _, n := range identityHeaders {
				if cgi != strings.ToLower(n) {
					continue
				}
				for _, v := range vs {
					if strings.HasPrefix(v, "forged-") {
						return fmt.Errorf("the app received the client's %s as %s", n, k)
					}
				}
			}
		}
	}
	return nil
}

// onlyProxyValues accepts one upstream request whose identity headers are absent or equal
// to want (header -> value), and never a forged value.
func onlyProxyValues(want map[string]string) func(*secCtx, []http.Header) error {
	return func(_ *secCtx, seen []http.Header) error {
		if len(seen) != 1 {
			return fmt.Errorf("%d upstream requests, want 1", len(seen))
		}
		h := seen[0]
		for _, n := range identityHeaders {
			vs := h.Values(n)
			for _, v := range vs {
				if strings.HasPrefix(v, "forged-") {
					return fmt.Errorf("the app received the client's %s", n)
				}
			}
			if w, ok := want[n]; ok && (len(vs) != 1 || vs[0] != w) {
				return fmt.Errorf("the app received %s = %q, want %q", n, vs, w)
			}
			if _, ok := want[n]; !ok && len(vs) > 0 {
				return fmt.Errorf("the app received %s = %q, want none", n, vs)
			}
		}
		if v := h.Values("X-Injected"); len(v) > 0 {
			return fmt.Errorf("the app received an injected header: %q", v)
		}
		return nil
	}
}

// sealer opens and seals with the plugin's session key, for states and sessions the plugin
// itself would never issue.
func (e *secEnv) sealer(t testing.TB, id string) *state.Sealer {
	t.Helper()
	secret, err := base64.RawURLEncoding.DecodeString(e.key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if id != e.key.ID { // another key: another secret
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	s, err := state.NewSealer([]state.Key{{ID: id, Secret: secret}}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// secSession is a good session for the suite's user; extra claims are merged in.
func secSession(groups []string, name string) *state.Session {
	now := time.Now()
	claims := fmt.Sprintf(`{"sub":"sess-user","email":"sess@example.com","groups":%s,"name":%q}`, jsonStrings(groups), name)
	return &state.Session{Version: 1, Subject: "sess-user", Issuer: "fake", Claims: []byte(claims),
		AccessToken: "opaque-session-access-token-" + randomHexN(8), AccessTokenExpiry: now.Add(time.Hour),
		IssuedAt: now, Expiry: now.Add(time.Hour)}
}

func jsonStrings(list []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}

func randomHexN(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// sessionCookies seals s like the plugin (purpose, cookie name and key id as given) and
// splits it into the session cookie's chunks.
func (e *secEnv) sessionCookies(t testing.TB, s *state.Session, p state.Purpose, name, keyID string, expiry time.Time) []state.Cookie {
	t.Helper()
	plain, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := e.sealer(t, keyID).Seal(p, name, plain, expiry)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := state.CookieCodec{Name: "_oidc_session"}.Split(sealed)
	if err != nil {
		t.Fatal(err)
	}
	return chunks
}

// goodSession is sessionCookies for a session the plugin accepts.
func (e *secEnv) goodSession(t testing.TB, s *state.Session) []state.Cookie {
	return e.sessionCookies(t, s, state.PurposeSession, "_oidc_session", e.key.ID, s.Expiry)
}

func cookieHeader(cs []state.Cookie) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}

func cookieValues(cs []state.Cookie) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Value
	}
	return out
}

// flip changes one character in the middle of s to another base64url character.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// secAnnounce prints the suite's closing line. go test keeps a passing package's output to
// itself, so when SECURITY_REPORT names a file the line is also written there: `make test`
// sets it and prints the file after the run (and fails if the suite did not run).
func secAnnounce(line string) {
	fmt.Println(line)
	if p := os.Getenv("SECURITY_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(line+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "security report:", err)
		}
	}
}

func purposeOf(p string) state.Purpose {
	switch p {
	case "state":
		return state.PurposeState
	case "binding":
		return state.PurposeBinding
	}
	return state.PurposeSession
}

// sealState seals a login state for l's login as the plugin would (with the binding cookie
// value bind), but with the purpose, name, key and times given.
func (e *secEnv) sealState(t testing.TB, l fakeLogin, bind, purpose, name, keyID string, issued, expires time.Time) string {
	t.Helper()
	ls := state.LoginState{Verifier: strings.Repeat("v", 43), Nonce: l.nonce, ReturnPath: "/", IssuedAt: issued,
		BindingHash: state.BindingHash(bind)}
	plain, err := ls.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := e.sealer(t, keyID).Seal(purposeOf(purpose), name, plain, expires)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}
