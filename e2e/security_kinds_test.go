package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The security suite's cases for issue 13's token-kind, algorithm-name, JSON-depth and
// bearer-edge fixes: ID tokens and explicitly typed tokens on bearer routes, typ at+jwt ID
// tokens at login, Ed448, provider bodies nested deep, several Authorization headers and a
// forged token flood.

// secControlsKinds checks that the requests these cases imitate, done right, are accepted.
func secControlsKinds(t *testing.T, e *secEnv) {
	t.Run("controls (token kinds)", func(t *testing.T) {
		rs, ed := e.issuers["rs"], e.issuers["ed"]
		edKey := ed.keys[0]
		for _, tc := range []struct{ name, path, token string }{
			{"alg Ed25519 (RFC 9864)", "/api/x", secJWS(t, secHeader("Ed25519", "ed-1"), e.claims(ed), "EdDSA", edKey.priv)},
			{"typ at+jwt", "/api/rs/x", secJWS(t, secHeader("RS256", "rs-1", "typ", "at+jwt"), e.claims(rs), "RS256", rs.keys[0].priv)},
			{"typ at+jwt on a require_typ route", "/api/at/x", secJWS(t, secHeader("RS256", "rs-1", "typ", "application/at+jwt"), e.claims(rs), "RS256", rs.keys[0].priv)},
			{"no typ", "/api/rs/x", secJWS(t, `{"alg":"RS256","kid":"rs-1"}`, e.claims(rs), "RS256", rs.keys[0].priv)},
			{"Keycloak access token (typ claim Bearer, nonce)", "/api/rs/x", e.token(t, rs, func(m map[string]any) { m["typ"], m["nonce"] = "Bearer", "n" })},
			{"ID token on an accept_id_tokens route", "/api/idok/x", e.token(t, rs, func(m map[string]any) { m["nonce"] = "n" })},
		} {
			r := e.bearerGet(t, tc.path, tc.token)
			// waitReady saw each issuer ready on one VM; the other may still be fetching keys.
			for deadline := time.Now().Add(5 * time.Second); r.status == http.StatusServiceUnavailable && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				r = e.bearerGet(t, tc.path, tc.token)
			}
			if r.status != http.StatusOK {
				t.Errorf("%s: %d %.200s", tc.name, r.status, r.body)
			}
		}
	})
}

func kindAttacks(t *testing.T, e *secEnv) []secCase {
	rs, ed, op := e.issuers["rs"], e.issuers["ed"], e.op
	rsKey := rs.keys[0]
	invalid := func(name string, do func(*secCtx) response) secCase {
		return secCase{group: "bearer", name: name, do: do, status: []int{401}, check: wantChallenge("invalid_token")}
	}
	typed := func(path, typ string, edit func(map[string]any)) func(*secCtx) response {
		return func(c *secCtx) response {
			m := e.claims(rs)
			if edit != nil {
				edit(m)
			}
			return c.api(path, secJWS(c.t, secHeader("RS256", "rs-1", "typ", typ), m, "RS256", rsKey.priv))
		}
	}
	nonce := func(m map[string]any) { m["nonce"] = "n-" + randomHexN(4) }
	// login runs a login whose ID token has this header (signed by the provider's key).
	login := func(header string) func(*secCtx) response {
		return func(c *secCtx) response {
			b := newBrowser(c.t)
			l := e.fs.begin(c.t, b, "/app/kinds")
			tok := secJWS(c.t, header, op.claims(l.nonce), "RS256", op.key)
			c.secret(tok, l.state)
			return e.fs.finish(c.t, l, tok)
		}
	}
	refused := func(name string, do func(*secCtx) response) secCase {
		return secCase{group: "id_token", name: name, do: do, status: []int{401}, check: noSession}
	}
	twoHeaders := func(path string, values ...string) func(*secCtx) response {
		return func(c *secCtx) response {
			c.secret(values...)
			req, err := http.NewRequest("GET", e.fs.url+path, nil)
			if err != nil {
				c.t.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			for _, v := range values {
				req.Header.Add("Authorization", v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				c.t.Fatalf("GET %s: %v", path, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
		}
	}
	return []secCase{
		// Item 3: token kinds on bearer routes.
		invalid("ID token (nonce) as a bearer token", typed("/api/rs/x", "JWT", nonce)),
		invalid("ID token (at_hash) as a bearer token", typed("/api/rs/x", "JWT", func(m map[string]any) { m["at_hash"] = "x" })),
		invalid("Keycloak ID token (typ claim ID) as a bearer token", typed("/api/rs/x", "JWT", func(m map[string]any) { m["typ"] = "ID" })),
		invalid("typ logout+jwt as a bearer token", typed("/api/rs/x", "logout+jwt", nil)),
		invalid("typ JWT on a require_typ at+jwt route", typed("/api/at/x", "JWT", nil)),
		invalid("typ logout+jwt on an accept_id_tokens route", typed("/api/idok/x", "logout+jwt", nonce)),
		// Item 3: at login.
		refused("ID token with typ at+jwt", login(secHeader("RS256", op.kid, "typ", "at+jwt"))),
		refused("ID token with typ application/AT+JWT", login(secHeader("RS256", op.kid, "typ", "application/AT+JWT"))),
		// Item 4: Ed448 is not supported, whatever the signature.
		invalid("alg Ed448 with the issuer's Ed25519 kid", func(c *secCtx) response {
			return c.api("/api/x", secJWS(c.t, secHeader("Ed448", "ed-1"), e.claims(ed), "EdDSA", ed.keys[0].priv))
		}),
		refused("ID token with alg Ed448", login(secHeader("Ed448", op.kid))),
		// Item 8: provider bodies nested 50,000 deep.
		{group: "provider", name: "token endpoint answers JSON nested 50,000 deep", status: []int{502}, check: noSession,
			do: func(c *secCtx) response {
				b := newBrowser(c.t)
				l := e.fs.begin(c.t, b, "/app/deep")
				op.setFault("token", faultDeep, 0)
				defer op.setFault("token", "", 0)
				c.secret(l.state)
				return e.fs.finish(c.t, l, signRS256(c.t, op.key, op.kid, op.claims(l.nonce)))
			}},
		{group: "bearer", name: "issuer whose discovery nests 50,000 deep", status: []int{503},
			do: func(c *secCtx) response { return c.api("/api/x", e.token(c.t, e.issuers["deep"], nil)) }},
		{group: "bearer", name: "issuer whose JWKS nests 50,000 deep", status: []int{503},
			do: func(c *secCtx) response { return c.api("/api/x", e.token(c.t, e.issuers["deepjwks"], nil)) }},
		// Item 10: bearer edges.
		{group: "bearer", name: "two Authorization headers, forged then good", status: []int{400}, check: wantChallenge("invalid_request"),
			do: func(c *secCtx) response {
				return twoHeaders("/api/rs/x", "Bearer "+e.token(c.t, rs, func(m map[string]any) { m["sub"] = "admin"; m["exp"] = 1 }), "Bearer "+e.token(c.t, rs, nil))(c)
			}},
		{group: "bearer", name: "two Authorization headers, good then Basic", status: []int{400}, check: wantChallenge("invalid_request"),
			do: func(c *secCtx) response {
				return twoHeaders("/mixed/x", "Bearer "+e.token(c.t, rs, nil), "Basic YWRtaW46YWRtaW4=")(c)
			}},
		{group: "bearer", name: "forged token repeated 30 times: verified about once per VM", status: []int{401}, check: wantChallenge("invalid_token"),
			do: func(c *secCtx) response {
				tok := e.token(c.t, rs, nil)
				tok = tok[:strings.LastIndexByte(tok, '.')+1] + b64u.EncodeToString(make([]byte, 256))
				before, _ := e.fs.p.Metric("oidc_proxy.bearer.reject_cache_hit")
				var r response
				const n = 30
				for range n {
					if r = c.api("/api/rs/x", tok); r.status != 401 {
						return r
					}
				}
				after, _ := e.fs.p.Metric("oidc_proxy.bearer.reject_cache_hit")
				// Each VM verifies it once (within the minute); the rest are answered from the cache.
				if verified := n - int(after-before); verified > 4 {
					c.t.Errorf("a forged token sent %d times was verified %d times", n, verified)
				}
				return r
			}},
		{group: "bearer", name: "expired token repeated: the same answer each time", status: []int{401}, check: wantChallenge("invalid_token"),
			do: func(c *secCtx) response {
				tok := e.token(c.t, rs, func(m map[string]any) {
					m["iat"], m["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
				})
				var r response
				for range 5 {
					r = c.api("/api/rs/x", tok)
					if !strings.Contains(r.header.Get("Www-Authenticate"), "expired") {
						c.t.Errorf("repeated expired token: %q", r.header.Get("Www-Authenticate"))
						return r
					}
				}
				return r
			}},
	}
}
