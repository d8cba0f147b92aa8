package demoapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// WhoAmI is what the app received, as /api/whoami answers it.
type WhoAmI struct {
	App    string    `json:"app"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Time   time.Time `json:"time"`
	User   User      `json:"user"`
	// Headers are the identity headers received (X-Auth-Request-* and
	// X-Forwarded-User/Email/Preferred-Username/Groups), token headers
	// excluded.
	Headers map[string]string `json:"headers"`
	// Tokens are the token headers received, by canonical header name.
	Tokens map[string]*TokenInfo `json:"tokens"`
	// Cookies are the names of the cookies received (never their values).
	Cookies []string `json:"cookies"`
	// KeysError says why the provider's keys could not be had, if so.
	KeysError string `json:"keys_error,omitempty"`
}

// User is who the request is for, from the identity headers, else from the
// ID token, else from the access token.
type User struct {
	Subject           string   `json:"sub,omitempty"`
	Name              string   `json:"name,omitempty"`
	Email             string   `json:"email,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Groups            []string `json:"groups,omitempty"`
	// Sources lists where the fields came from: "headers", a token header.
	Sources []string `json:"sources,omitempty"`
}

// TokenInfo is one token header, decoded.
type TokenInfo struct {
	Header string `json:"header"`
	Scheme string `json:"scheme,omitempty"` // of an Authorization header
	Raw    string `json:"raw,omitempty"`    // absent for non-Bearer Authorization
	JWT    bool   `json:"jwt"`
	// JOSEHeader and Claims are decoded without verification.
	JOSEHeader map[string]any `json:"jose_header,omitempty"`
	Claims     map[string]any `json:"claims,omitempty"`
	ExpiresAt  *time.Time     `json:"expires_at,omitempty"`
	// ExpiresIn is the whole seconds left until exp; negative once expired.
	ExpiresIn int64 `json:"expires_in"`
	Expired   bool  `json:"expired"`
	// SignatureValid: signed by a key the provider publishes right now.
	SignatureValid bool `json:"signature_valid"`
	// Verified: SignatureValid, iss is the provider, and within exp/nbf.
	Verified bool `json:"verified"`
	// Error says why the token is not Verified.
	Error string `json:"error,omitempty"`
}

var identityHeaders = []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-Groups"}

var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

func (a *app) tokenHeaders() []string {
	var out []string
	for _, h := range append(slices.Clone(DefaultTokenHeaders), a.cfg.TokenHeaders...) {
		if h = http.CanonicalHeaderKey(h); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// inspect decodes everything the request carries.
func (a *app) inspect(r *http.Request) *WhoAmI {
	now := a.cfg.Now()
	w := &WhoAmI{
		App: a.name, Method: r.Method, Path: r.URL.Path, Time: now.UTC(),
		Headers: map[string]string{}, Tokens: map[string]*TokenInfo{}, Cookies: []string{},
	}
	tokenHeaders := a.tokenHeaders()
	for name, vals := range r.Header {
		if (strings.HasPrefix(name, "X-Auth-Request-") || slices.Contains(identityHeaders, name)) && !slices.Contains(tokenHeaders, name) {
			w.Headers[name] = strings.Join(vals, ", ")
		}
	}
	for _, c := range r.Cookies() {
		w.Cookies = append(w.Cookies, c.Name)
	}
	sort.Strings(w.Cookies)

	keys := a.keys.once(r.Context())
	for _, h := range tokenHeaders {
		v := r.Header.Get(h)
		if v == "" {
			continue
		}
		w.Tokens[h] = inspectToken(h, v, keys, a.cfg.Issuer, now)
	}
	if _, err := keys(); err != nil && len(w.Tokens) > 0 {
		w.KeysError = err.Error()
	}
	w.User = userOf(w, tokenHeaders)
	return w
}

func inspectToken(header, value string, keys func() (*jose.JSONWebKeySet, error), issuer string, now time.Time) *TokenInfo {
	t := &TokenInfo{Header: header, Raw: value}
	if header == "Authorization" {
		scheme, rest, _ := strings.Cut(value, " ")
		t.Scheme = scheme
		if !strings.EqualFold(scheme, "Bearer") {
			t.Raw = ""
			t.Error = "not a Bearer token"
			return t
		}
		t.Raw = strings.TrimSpace(rest)
	}
	tok, err := jwt.ParseSigned(t.Raw, allowedAlgs)
	if err != nil {
		t.Error = "not a JWT (opaque or malformed): " + err.Error()
		return t
	}
	t.JWT = true
	hdr := tok.Headers[0]
	t.JOSEHeader = map[string]any{"alg": hdr.Algorithm}
	if hdr.KeyID != "" {
		t.JOSEHeader["kid"] = hdr.KeyID
	}
	for k, v := range hdr.ExtraHeaders {
		t.JOSEHeader[string(k)] = v
	}
	var std jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&t.Claims, &std); err != nil {
		t.Error = "claims do not decode: " + err.Error()
		return t
	}
	if std.Expiry != nil {
		exp := std.Expiry.Time().UTC()
		t.ExpiresAt = &exp
		t.ExpiresIn = int64(exp.Sub(now).Truncate(time.Second) / time.Second)
		t.Expired = !now.Before(exp)
	}

	set, err := keys()
	if err != nil {
		t.Error = "cannot get the provider's keys: " + err.Error()
		return t
	}
	if err := verifySignature(tok, set); err != nil {
		t.Error = err.Error()
		return t
	}
	t.SignatureValid = true
	switch {
	case issuer != "" && std.Issuer != issuer:
		t.Error = fmt.Sprintf("issuer is %q, want %q", std.Issuer, issuer)
	case std.Expiry == nil:
		t.Error = "no exp claim"
	case t.Expired:
		t.Error = fmt.Sprintf("expired %d s ago", -t.ExpiresIn)
	case std.NotBefore != nil && now.Before(std.NotBefore.Time()):
		t.Error = "not valid yet (nbf in the future)"
	default:
		t.Verified = true
	}
	return t
}

func verifySignature(tok *jwt.JSONWebToken, set *jose.JSONWebKeySet) error {
	kid := tok.Headers[0].KeyID
	candidates := set.Keys
	if kid != "" {
		candidates = set.Key(kid)
		if len(candidates) == 0 {
			return fmt.Errorf("key %q is not published by the provider", kid)
		}
	}
	for _, k := range candidates {
		var sink map[string]any
		if tok.Claims(k.Key, &sink) == nil {
			return nil
		}
	}
	return errors.New("signature does not verify against the published keys")
}

// userOf picks the user from identity headers, then from the tokens.
func userOf(w *WhoAmI, tokenHeaders []string) User {
	var u User
	addSource := func(source string) {
		if !slices.Contains(u.Sources, source) {
			u.Sources = append(u.Sources, source)
		}
	}
	set := func(dst *string, v, source string) {
		if *dst == "" && v != "" {
			*dst = v
			addSource(source)
		}
	}
	h := func(names ...string) string {
		for _, n := range names {
			if v := w.Headers[n]; v != "" {
				return v
			}
		}
		return ""
	}
	set(&u.Email, h("X-Auth-Request-Email", "X-Forwarded-Email"), "headers")
	set(&u.PreferredUsername, h("X-Auth-Request-Preferred-Username", "X-Forwarded-Preferred-Username"), "headers")
	set(&u.Subject, h("X-Auth-Request-User", "X-Forwarded-User"), "headers")
	set(&u.Name, h("X-Auth-Request-Name"), "headers")
	if g := h("X-Auth-Request-Groups", "X-Forwarded-Groups"); g != "" {
		for _, p := range strings.Split(g, ",") {
			if p = strings.TrimSpace(p); p != "" {
				u.Groups = append(u.Groups, p)
			}
		}
		addSource("headers")
	}
	order := append([]string{"X-Forwarded-Id-Token"}, tokenHeaders...)
	for _, name := range order {
		t := w.Tokens[name]
		if t == nil || t.Claims == nil {
			continue
		}
		str := func(k string) string { s, _ := t.Claims[k].(string); return s }
		set(&u.Subject, str("sub"), name)
		set(&u.Email, str("email"), name)
		set(&u.Name, str("name"), name)
		set(&u.PreferredUsername, str("preferred_username"), name)
		if len(u.Groups) == 0 {
			if gs, ok := t.Claims["groups"].([]any); ok {
				for _, g := range gs {
					if s, ok := g.(string); ok {
						u.Groups = append(u.Groups, s)
					}
				}
				addSource(name)
			}
		}
	}
	return u
}

// keySource finds the provider's keys: Config.Keys, or JWKSURL, or the
// issuer's discovery document (its jwks_uri is remembered).
type keySource struct {
	cfg Config

	mu      sync.Mutex
	jwksURI string
}

// once returns a getter that fetches the keys at most once per request.
func (k *keySource) once(ctx context.Context) func() (*jose.JSONWebKeySet, error) {
	return sync.OnceValues(func() (*jose.JSONWebKeySet, error) { return k.fetch(ctx) })
}

func (k *keySource) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	if k.cfg.Keys != nil {
		return k.cfg.Keys(ctx)
	}
	uri, err := k.uri(ctx)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := k.getJSON(ctx, uri, &set); err != nil {
		return nil, err
	}
	return &set, nil
}

func (k *keySource) uri(ctx context.Context) (string, error) {
	if k.cfg.JWKSURL != "" {
		return k.cfg.JWKSURL, nil
	}
	if k.cfg.Issuer == "" {
		return "", errors.New("no Issuer, JWKSURL or Keys configured")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.jwksURI == "" {
		var d struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := k.getJSON(ctx, strings.TrimSuffix(k.cfg.Issuer, "/")+"/.well-known/openid-configuration", &d); err != nil {
			return "", err
		}
		if d.JWKSURI == "" {
			return "", errors.New("discovery document has no jwks_uri")
		}
		k.jwksURI = d.JWKSURI
	}
	return k.jwksURI, nil
}

func (k *keySource) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}
