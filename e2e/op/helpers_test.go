package op

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const testRedirect = "http://127.0.0.1:1/oauth2/callback"

func startOP(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noRedirectClient follows no redirects and keeps cookies.
func noRedirectClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type result struct {
	status int
	header http.Header
	body   string
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("not JSON (%d): %q", r.status, r.body)
	}
	return m
}

func do(t *testing.T, c *http.Client, req *http.Request) result {
	t.Helper()
	if c == nil {
		c = noRedirectClient(t)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, c *http.Client, u string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// post sends a form; user and pass, if set, go into a Basic header.
func post(t *testing.T, c *http.Client, u string, form url.Values, user, pass string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return do(t, c, req)
}

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := randomString(32)
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

func authorizeURL(s *Server, p pkce, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {testRedirect},
		"scope": {"openid profile email"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return s.Endpoints().Authorize + "?" + q.Encode()
}

func issue(t *testing.T, s *Server, scopes ...string) *TokenResponse {
	t.Helper()
	tr, err := s.IssueTokens(ctxT(t), testRedirect, scopes...)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	return tr
}

// verify checks a JWT against the provider's JWKS fetched over HTTP and
// returns its claims and kid.
func verify(t *testing.T, s *Server, raw string) (map[string]any, string, error) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(get(t, nil, s.Endpoints().JWKS).body), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, "", err
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return nil, kid, jose.ErrJWKSKidNotFound
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		return nil, kid, err
	}
	return claims, kid, nil
}

func mustVerify(t *testing.T, s *Server, raw string) map[string]any {
	t.Helper()
	c, _, err := verify(t, s, raw)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return c
}

func audOf(c map[string]any) []string {
	switch a := c["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func num(c map[string]any, k string) int64 {
	f, _ := c[k].(float64)
	return int64(f)
}
