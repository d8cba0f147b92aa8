package op

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
)

// Errors of the client-side helpers.
var (
	ErrLoginFailed = errors.New("op: login failed")
	ErrNoCode      = errors.New("op: no authorization code in the callback")
)

// TokenResponse is a token endpoint answer.
type TokenResponse struct {
	AccessToken     string `json:"access_token"`
	IDToken         string `json:"id_token,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// TokenError is an OAuth error answer of the token endpoint.
type TokenError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("op: token endpoint: %d %s: %s", e.Status, e.Code, e.Description)
}

// Login drives the login form over HTTP as the first configured user (demo /
// demo by default) with a fresh cookie jar. It GETs authorizeURL, submits the
// form if the provider shows it, and returns the URL the provider finally
// redirects to off the provider: the client's redirect_uri with code and
// state (or error).
func (s *Server) Login(ctx context.Context, authorizeURL string) (string, error) {
	u := s.store.users[0]
	return s.LoginAs(ctx, nil, authorizeURL, u.Username, u.Password)
}

// LoginAs is Login with given credentials and HTTP client; the client's
// cookie jar keeps the provider session across calls (nil: a fresh jar).
func (s *Server) LoginAs(ctx context.Context, c *http.Client, authorizeURL, username, password string) (string, error) {
	if c == nil {
		jar, _ := cookiejar.New(nil)
		c = &http.Client{Jar: jar}
	}
	own := *c
	host := strings.TrimPrefix(s.issuer, "http://")
	own.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("op: too many redirects")
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return "", err
	}
	for range 3 {
		resp, err := own.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return "", fmt.Errorf("%w: redirect without Location", ErrLoginFailed)
			}
			return loc.String(), nil
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == loginPath:
			form := url.Values{
				"authRequestID": {resp.Request.URL.Query().Get("authRequestID")},
				"username":      {username},
				"password":      {password},
			}
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.issuer+loginPath, strings.NewReader(form.Encode()))
			if err != nil {
				return "", err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			return "", fmt.Errorf("%w: %s %s: %d %.200q", ErrLoginFailed, resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body)
		}
	}
	return "", fmt.Errorf("%w: the form was shown again", ErrLoginFailed)
}

// IssueTokens runs the authorization code flow with PKCE for the configured
// client as the first user, over HTTP, and returns the token response. The
// redirect URI is never contacted: the code is read from the redirect. Scopes
// default to openid profile email.
func (s *Server) IssueTokens(ctx context.Context, redirectURI string, scopes ...string) (*TokenResponse, error) {
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email"}
	}
	verifier, state, nonce := randomString(32), randomString(12), randomString(12)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {s.clientID}, "redirect_uri": {redirectURI},
		"scope": {strings.Join(scopes, " ")}, "state": {state}, "nonce": {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	cb, err := s.Login(ctx, s.Endpoints().Authorize+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	cbURL, err := url.Parse(cb)
	if err != nil {
		return nil, err
	}
	code := cbURL.Query().Get("code")
	if code == "" || cbURL.Query().Get("state") != state {
		return nil, fmt.Errorf("%w: %s", ErrNoCode, cbURL.RawQuery)
	}
	return s.token(ctx, url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier},
	})
}

// Refresh redeems a refresh token for the configured client over HTTP.
func (s *Server) Refresh(ctx context.Context, refreshToken string) (*TokenResponse, error) {
	return s.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (s *Server) token(ctx context.Context, form url.Values) (*TokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoints().Token, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, te)
		return nil, te
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("op: token response: %w", err)
	}
	return &tr, nil
}

// Introspect asks the provider's introspection endpoint (RFC 7662) about a
// token, in process: it is neither counted nor faulted. claims is the whole
// introspection answer.
func (s *Server) Introspect(token string) (active bool, claims map[string]any, err error) {
	form := url.Values{"token": {token}}
	req := httptest.NewRequest(http.MethodPost, s.Endpoints().Introspection, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.secret))
	rec := httptest.NewRecorder()
	s.provider.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return false, nil, fmt.Errorf("op: introspection: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &claims); err != nil {
		return false, nil, fmt.Errorf("op: introspection: %w", err)
	}
	active, _ = claims["active"].(bool)
	return active, claims, nil
}
