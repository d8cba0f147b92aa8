package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// Back-channel logout in the security suite: logout tokens and requests that must be
// refused with 400 (405 for a GET) and end no session. Each case has its own victim, a
// session with its own sid and sub, that the token names; the case checks afterwards that
// the victim is still signed in. secControlsBackchannel proves that the same token, done
// right, does end the session it names.
//
// Nothing of these requests may reach the app, on either proxy: the suite runs as shipped,
// with allow_on_headers_stop_iteration on the Envoy Wasm filter and the plugin's
// endpoints.allow_on_headers_stop_iteration, so the headers are held until the body has been
// answered (filter/holdbody.go). Without them the headers of a plausible request may reach
// the app: headerhold_test.go.

// bclSeq makes every victim's sid and sub unique.
var bclSeq atomic.Int64

// bclVictim is a crafted session with a provider session id, and its cookies.
type bclVictim struct {
	sid, sub string
	cookies  []state.Cookie
}

func (e *secEnv) bclVictim(t testing.TB) bclVictim {
	n := bclSeq.Add(1)
	s := secSession([]string{"users"}, "Victim")
	s.Subject = fmt.Sprintf("bcl-user-%d", n)
	s.SessionID = fmt.Sprintf("bcl-sid-%d", n)
	s.Claims = []byte(fmt.Sprintf(`{"sub":%q,"groups":["users"]}`, s.Subject))
	return bclVictim{sid: s.SessionID, sub: s.Subject, cookies: e.goodSession(t, s)}
}

// signedIn is the victim's request to a session route: 200 while its session lives.
func (e *secEnv) signedIn(t testing.TB, v bclVictim) int {
	return newBrowser(t).get(e.fs.url+"/app/x", "Accept", "application/json", "Cookie", cookieHeader(v.cookies)).status
}

// logoutClaims are the claims of a valid logout token naming v.
func (e *secEnv) logoutClaims(v bclVictim) map[string]any {
	return map[string]any{
		"iss": e.op.issuer, "aud": stack.ClientID, "sub": v.sub, "sid": v.sid,
		"iat": time.Now().Unix(), "jti": "bcl-jti-" + randomHexN(8),
		"events": map[string]any{oidc.EventBackchannelLogout: map[string]any{}},
	}
}

// signLogout signs claims as a logout token (typ logout+jwt) with key and kid.
func signLogout(t testing.TB, key *rsa.PrivateKey, kid, typ string, claims map[string]any) string {
	t.Helper()
	return signTyped(t, jose.SigningKey{Algorithm: jose.RS256, Key: key}, kid, typ, claims)
}

// logoutToken is a logout token naming v, signed with the provider's key, claims edited.
func (e *secEnv) logoutToken(t testing.TB, v bclVictim, edit func(map[string]any)) string {
	c := e.logoutClaims(v)
	if edit != nil {
		edit(c)
	}
	return signLogout(t, e.op.key, e.op.kid, oidc.TypeLogoutToken, c)
}

// postLogout posts body to the back-channel logout endpoint as the provider would
// (chunked when chunked is set: no Content-Length).
func (e *secEnv) postLogout(t testing.TB, contentType string, body []byte, chunked bool) response {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(bytes.NewReader(body)) // not a type http.NewRequest sizes
	}
	req, err := http.NewRequest("POST", e.fs.url+"/oauth2/backchannel_logout", r)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST backchannel_logout: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	settleUpstream()
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// settleUpstream waits a moment after an answer, so that an upstream request the proxy had
// started with the request's headers (Envoy's router, once the headers continued) has
// reached the app before a test counts what reached it.
func settleUpstream() { time.Sleep(100 * time.Millisecond) }

func logoutForm(tok string) []byte { return []byte("logout_token=" + url.QueryEscape(tok)) }

const formType = "application/x-www-form-urlencoded"

// secControlsBackchannel: a valid logout token ends the session it names, and only that one.
func secControlsBackchannel(t *testing.T, e *secEnv) {
	t.Run("controls/backchannel logout", func(t *testing.T) {
		a, b := e.bclVictim(t), e.bclVictim(t)
		if st := e.signedIn(t, a); st != http.StatusOK {
			t.Fatalf("victim before any logout: %d", st)
		}
		before := e.up.count()
		if r := e.postLogout(t, formType, logoutForm(e.logoutToken(t, a, nil)), false); r.status != http.StatusOK {
			t.Fatalf("a valid logout token: %d %.300s", r.status, r.body)
		}
		if n := len(e.up.since(before)); n != 0 {
			t.Errorf("%d request(s) reached the upstream with the logout, want none (the headers are held for the body)", n)
		}
		if st := e.signedIn(t, a); st != http.StatusUnauthorized {
			t.Errorf("the session a valid logout token named: %d, want 401", st)
		}
		if st := e.signedIn(t, b); st != http.StatusOK {
			t.Errorf("another session after a's logout: %d, want 200", st)
		}
	})
}

// backchannelAttacks are the logout tokens and requests that must be refused.
func backchannelAttacks(t *testing.T, e *secEnv) []secCase {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// refused: a 400 invalid_request JSON, never cached, with a correlation id; the victim
	// still signed in.
	refused := func(v *bclVictim) func(*secCtx, response) error {
		return func(c *secCtx, r response) error {
			if r.status == http.StatusBadRequest && !strings.Contains(r.body, `"error":"invalid_request"`) {
				return fmt.Errorf("body %.200s, want an invalid_request error", r.body)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				return fmt.Errorf("Cache-Control %q, want no-store", cc)
			}
			if r.header.Get("X-Correlation-Id") == "" {
				return fmt.Errorf("no X-Correlation-Id")
			}
			if st := c.e.signedIn(c.t, *v); st != http.StatusOK {
				return fmt.Errorf("the victim's session after the refused logout: %d, want 200 (it was ended)", st)
			}
			return nil
		}
	}
	// token: a case posting one logout token built for its victim.
	token := func(name string, build func(c *secCtx, v bclVictim) string) secCase {
		v := &bclVictim{}
		return secCase{group: "backchannel", name: name, status: []int{400}, check: refused(v),
			do: func(c *secCtx) response {
				*v = c.e.bclVictim(c.t)
				tok := build(c, *v)
				c.secret(tok)
				return c.e.postLogout(c.t, formType, logoutForm(tok), false)
			}}
	}
	edit := func(name string, f func(map[string]any)) secCase {
		return token(name, func(c *secCtx, v bclVictim) string { return c.e.logoutToken(c.t, v, f) })
	}
	// request: a case posting a request built around a valid logout token for its victim.
	request := func(name string, status int, post func(c *secCtx, tok string) response) secCase {
		v := &bclVictim{}
		return secCase{group: "backchannel", name: name, status: []int{status}, check: refused(v),
			do: func(c *secCtx) response {
				*v = c.e.bclVictim(c.t)
				tok := c.e.logoutToken(c.t, *v, nil)
				c.secret(tok)
				return post(c, tok)
			}}
	}
	event := oidc.EventBackchannelLogout
	cases := []secCase{
		edit("with a nonce (an ID token)", func(m map[string]any) { m["nonce"] = "n-1" }),
		edit("without events", func(m map[string]any) { delete(m, "events") }),
		edit("events member not an object", func(m map[string]any) { m["events"] = map[string]any{event: "yes"} }),
		edit("another event only", func(m map[string]any) {
			m["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}),
		edit("another aud", func(m map[string]any) { m["aud"] = "another-client" }),
		edit("another iss", func(m map[string]any) { m["iss"] = e.op.issuer + "/other" }),
		edit("iat 10 minutes old", func(m map[string]any) { m["iat"] = time.Now().Add(-10 * time.Minute).Unix() }),
		edit("iat in the future", func(m map[string]any) { m["iat"] = time.Now().Add(10 * time.Minute).Unix() }),
		edit("without iat", func(m map[string]any) { delete(m, "iat") }),
		edit("exp passed", func(m map[string]any) { m["exp"] = time.Now().Add(-5 * time.Minute).Unix() }),
		edit("without jti", func(m map[string]any) { delete(m, "jti") }),
		edit("neither sid nor sub", func(m map[string]any) { delete(m, "sid"); delete(m, "sub") }),
		edit("sid not a string", func(m map[string]any) { m["sid"] = 42 }),
		token("typ at+jwt (an access token)", func(c *secCtx, v bclVictim) string {
			return signLogout(c.t, c.e.op.key, c.e.op.kid, "at+jwt", c.e.logoutClaims(v))
		}),
		token("alg none", func(c *secCtx, v bclVictim) string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"logout+jwt"}`))
			p, _ := json.Marshal(c.e.logoutClaims(v))
			return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
		}),
		token("signed by an unknown key", func(c *secCtx, v bclVictim) string {
			return signLogout(c.t, otherKey, "bcl-unknown-key", oidc.TypeLogoutToken, c.e.logoutClaims(v))
		}),
		token("signed by another key under the provider's kid", func(c *secCtx, v bclVictim) string {
			return signLogout(c.t, otherKey, c.e.op.kid, oidc.TypeLogoutToken, c.e.logoutClaims(v))
		}),
		token("HS256 with the provider's public key as secret", func(c *secCtx, v bclVictim) string {
			pub, _ := json.Marshal(jose.JSONWebKey{Key: &c.e.op.key.PublicKey, KeyID: c.e.op.kid})
			opts := (&jose.SignerOptions{}).WithType(oidc.TypeLogoutToken).WithHeader("kid", c.e.op.kid)
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, opts)
			if err != nil {
				c.t.Fatal(err)
			}
			payload, _ := json.Marshal(c.e.logoutClaims(v))
			jws, err := s.Sign(payload)
			if err != nil {
				c.t.Fatal(err)
			}
			out, _ := jws.CompactSerialize()
			return out
		}),
		token("payload swapped under a valid signature", func(c *secCtx, v bclVictim) string {
			other := c.e.logoutToken(c.t, c.e.bclVictim(c.t), nil)
			parts := strings.Split(other, ".")
			p, _ := json.Marshal(c.e.logoutClaims(v))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
		}),
		{group: "backchannel", name: "replayed jti", status: []int{400},
			do: func(c *secCtx) response {
				tok := c.e.logoutToken(c.t, c.e.bclVictim(c.t), nil)
				c.secret(tok)
				if r := c.e.postLogout(c.t, formType, logoutForm(tok), false); r.status != http.StatusOK {
					c.t.Fatalf("the first delivery: %d %.200s", r.status, r.body)
				}
				return c.e.postLogout(c.t, formType, logoutForm(tok), false)
			},
			check: func(_ *secCtx, r response) error {
				if !strings.Contains(r.body, "already used") {
					return fmt.Errorf("body %.200s, want the replay named", r.body)
				}
				return nil
			}},
		request("oversized body (Content-Length)", 400, func(c *secCtx, tok string) response {
			return c.e.postLogout(c.t, formType, append(logoutForm(tok), []byte("&pad="+strings.Repeat("a", 70<<10))...), false)
		}),
		request("oversized body (chunked)", 400, func(c *secCtx, tok string) response {
			return c.e.postLogout(c.t, formType, append(logoutForm(tok), []byte("&pad="+strings.Repeat("a", 70<<10))...), true)
		}),
		request("JSON content type", 400, func(c *secCtx, tok string) response {
			b, _ := json.Marshal(map[string]string{"logout_token": tok})
			return c.e.postLogout(c.t, "application/json", b, false)
		}),
		request("form body as text/plain", 400, func(c *secCtx, tok string) response {
			return c.e.postLogout(c.t, "text/plain", logoutForm(tok), false)
		}),
		request("no content type", 400, func(c *secCtx, tok string) response {
			return c.e.postLogout(c.t, "", logoutForm(tok), false)
		}),
		request("logout_token twice", 400, func(c *secCtx, tok string) response {
			return c.e.postLogout(c.t, formType, append(logoutForm(tok), []byte("&"+string(logoutForm(tok)))...), false)
		}),
		request("empty body", 400, func(c *secCtx, _ string) response {
			return c.e.postLogout(c.t, formType, nil, false)
		}),
		request("GET with the token in the query", 405, func(c *secCtx, tok string) response {
			return newBrowser(c.t).get(c.e.fs.url+"/oauth2/backchannel_logout?"+string(logoutForm(tok)), "Accept", "application/json")
		}),
	}
	// A POST whose body does not begin for 3 s (past the plugin's 2 s hold): a local 408, and
	// the app never sees its headers (they are held for the body). On Envoy only: e2e/host
	// reads a request's whole body before the plugin sees its headers.
	if onEnvoy() {
		cases = append(cases, secCase{group: "backchannel", name: "slow body", status: []int{http.StatusRequestTimeout},
			do: func(c *secCtx) response {
				return slowPost(c.t, c.e.fs.url+"/oauth2/backchannel_logout", formType, 3*time.Second)
			}})
	}
	return cases
}

// slowPost sends the headers of a POST announcing a 20-byte body, waits, and reads the
// answer (the body is sent after the answer, if the connection is still open).
func slowPost(t testing.TB, rawURL, contentType string, wait time.Duration) response {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: 20\r\n\r\n", u.RequestURI(), u.Host, contentType)
	time.Sleep(wait)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to a slow POST: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}
