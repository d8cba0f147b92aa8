package op

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// Errors the storage returns to the library (which maps them to OAuth
// errors) and to callers of the test helpers.
var (
	ErrUnknownClient  = errors.New("op: unknown client")
	ErrBadSecret      = errors.New("op: wrong client secret")
	ErrNotFound       = errors.New("op: not found")
	ErrInactiveToken  = errors.New("op: token revoked or expired")
	ErrNotImplemented = errors.New("op: not implemented")
)

// codeLifetime bounds how long an authorization code can be redeemed.
const codeLifetime = 10 * time.Minute

// storage is the in-memory state of the provider. It implements zitadel's
// op.Storage, op.TokenExchangeStorage, op.CanSetUserinfoFromRequest,
// op.CanGetPrivateClaimsFromRequest and op.CanTerminateSessionFromRequest.
// One mutex guards every map; values handed to the library are copies.
type storage struct {
	keys    *keyRing
	stats   *stats
	clients map[string]Client
	users   []User
	policy  policy

	mu           sync.Mutex
	lifetimes    lifetimes
	authRequests map[string]*authRequest
	codes        map[string]string // code -> auth request id
	access       map[string]*accessToken
	refresh      map[string]*refreshState
	sessions     map[string]*loginSession
	noAuthTime   bool // ID tokens of new logins carry no auth_time (SetNoAuthTime)
}

type lifetimes struct{ access, id, refresh time.Duration }

// policy holds the behaviour switches from Config.
type policy struct {
	loopbackRedirects   bool
	requireOffline      bool
	allowNoPKCE         bool
	revokeFamilyOnReuse bool
}

func newStorage(cfg Config, keys *keyRing, st *stats) *storage {
	s := &storage{
		keys:  keys,
		stats: st,
		clients: map[string]Client{cfg.ClientID: {
			ID: cfg.ClientID, Secret: cfg.ClientSecret, JWKS: cfg.ClientJWKS,
			RedirectURIs: cfg.RedirectURIs, PostLogoutRedirectURIs: cfg.PostLogoutRedirectURIs,
		}},
		users: slices.Clone(cfg.Users),
		policy: policy{
			loopbackRedirects:   !cfg.StrictRedirectURIs,
			requireOffline:      cfg.RequireOfflineAccess,
			allowNoPKCE:         cfg.AllowNoPKCE,
			revokeFamilyOnReuse: cfg.RevokeFamilyOnRefreshReuse,
		},
		lifetimes:    lifetimes{cfg.AccessTokenLifetime, cfg.IDTokenLifetime, cfg.RefreshTokenLifetime},
		authRequests: map[string]*authRequest{},
		codes:        map[string]string{},
		access:       map[string]*accessToken{},
		refresh:      map[string]*refreshState{},
		sessions:     map[string]*loginSession{},
	}
	for _, c := range cfg.Clients {
		s.clients[c.ID] = c
	}
	return s
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *storage) currentLifetimes() lifetimes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lifetimes
}

func (s *storage) user(id string) (User, bool) {
	for _, u := range s.users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// checkPassword finds the user by username and compares the password in
// constant time.
func (s *storage) checkPassword(username, password string) (User, bool) {
	for _, u := range s.users {
		if u.Username == username {
			ok := subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1
			return u, ok
		}
	}
	return User{}, false
}

// --- clients ---------------------------------------------------------------

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (zop.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownClient, clientID)
	}
	return &client{
		id: c.ID, secret: c.Secret, privateKeyJWT: c.JWKS != nil,
		redirects: c.RedirectURIs, postLogout: c.PostLogoutRedirectURIs,
		loopbackAllowed: s.policy.loopbackRedirects,
		idTokenLifetime: s.currentLifetimes().id,
	}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	c, ok := s.clients[clientID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownClient, clientID)
	}
	if subtle.ConstantTimeCompare([]byte(c.Secret), []byte(clientSecret)) != 1 {
		return fmt.Errorf("%w for client %q", ErrBadSecret, clientID)
	}
	return nil
}

// --- authorization requests --------------------------------------------------

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, userID string) (zop.AuthRequest, error) {
	if !s.policy.allowNoPKCE {
		if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
			return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
		}
	}
	scopes := slices.Clone([]string(req.Scopes))
	if !s.policy.requireOffline && !hasScope(scopes, oidc.ScopeOfflineAccess) {
		scopes = append(scopes, oidc.ScopeOfflineAccess)
	}
	a := &authRequest{
		id:           randomString(16),
		created:      time.Now(),
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       scopes,
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		prompt:       slices.Clone([]string(req.Prompt)),
		maxAge:       req.MaxAge,
		loginHint:    req.LoginHint,
		hintSubject:  userID,
	}
	if len(req.ACRValues) > 0 {
		a.acr = req.ACRValues[0] // every class is met by the password login; a request without acr_values gets no acr
	}
	if req.CodeChallenge != "" {
		a.codeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.mu.Lock()
	s.authRequests[a.id] = a
	s.mu.Unlock()
	c := *a
	return &c, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (zop.AuthRequest, error) {
	a, ok := s.authRequestCopy(id)
	if !ok {
		return nil, fmt.Errorf("%w: auth request", ErrNotFound)
	}
	return a, nil
}

// authRequestCopy returns a snapshot of the auth request.
func (s *storage) authRequestCopy(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return nil, false
	}
	c := *a
	return &c, true
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (zop.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[s.codes[code]]
	if !ok || !a.done || time.Since(a.created) > codeLifetime {
		return nil, fmt.Errorf("%w: authorization code", ErrNotFound)
	}
	c := *a
	return &c, nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return fmt.Errorf("%w: auth request", ErrNotFound)
	}
	a.code = code
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code was redeemed: the code is single
// use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authRequests[id]; ok {
		delete(s.codes, a.code)
	}
	delete(s.authRequests, id)
	return nil
}

// completeAuthRequest marks the request as authenticated by the session's
// user.
func (s *storage) completeAuthRequest(id string, sess loginSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return fmt.Errorf("%w: auth request", ErrNotFound)
	}
	a.done, a.userID, a.sessionID, a.authTime = true, sess.userID, sess.id, sess.authTime
	if s.noAuthTime {
		a.authTime = time.Time{}
	}
	return nil
}

// --- keys --------------------------------------------------------------------

func (s *storage) SigningKey(context.Context) (zop.SigningKey, error) { return s.keys.current(), nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.keys.alg}, nil
}

func (s *storage) KeySet(context.Context) ([]zop.Key, error) { return s.keys.published(), nil }

// GetKeyByIDAndClientID finds a private_key_jwt client's public key.
func (s *storage) GetKeyByIDAndClientID(_ context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, ok := s.clients[clientID]
	if !ok || c.JWKS == nil {
		return nil, fmt.Errorf("%w: %q has no keys", ErrUnknownClient, clientID)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return nil, err
	}
	if k := set.Key(keyID); len(k) > 0 {
		return &k[0], nil
	}
	return nil, fmt.Errorf("%w: no key %q for %q", ErrUnknownClient, keyID, clientID)
}

// --- not supported -------------------------------------------------------------

func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

func (s *storage) Health(context.Context) error { return nil }

// The library discovers optional features by interface.
var (
	_ zop.Storage                        = (*storage)(nil)
	_ zop.TokenExchangeStorage           = (*storage)(nil)
	_ zop.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ zop.CanGetPrivateClaimsFromRequest = (*storage)(nil)
	_ zop.CanTerminateSessionFromRequest = (*storage)(nil)
	_ zop.HasRedirectGlobs               = (*client)(nil)
)
