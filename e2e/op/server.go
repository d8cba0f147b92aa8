package op

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// Paths the server adds to the library's endpoints.
const (
	loginPath      = "/login"
	loggedOutPath  = "/logged-out"
	entraTokenPath = "/entra/token"
)

// Server is a running OpenID Provider on loopback.
type Server struct {
	issuer     string
	ln         net.Listener
	httpServer *http.Server
	provider   *zop.Provider
	store      *storage
	keys       *keyRing
	stats      *stats
	clientID   string
	secret     string
	cookieName string

	noIDTokenOnRefresh atomic.Bool
	par                *parStore  // nil unless Config.PAR
	dpop               *dpopState // nil unless Config.DPoP
	requestKeys        atomic.Pointer[[]jose.JSONWebKey]

	closing   chan struct{}
	closeOnce sync.Once
	serveErr  chan error
}

// Endpoints are the absolute URLs of the provider's endpoints.
type Endpoints struct {
	Discovery, JWKS, Authorize, Login, Token, EntraToken string
	Introspection, Revocation, Userinfo, EndSession      string
}

// Start listens on cfg.Addr and serves the provider until Close.
func Start(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	keys, err := newKeyRing(cfg.SigningAlgorithm)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("op: listen: %w", err)
	}
	s := &Server{
		issuer:     "http://" + ln.Addr().String(),
		ln:         ln,
		keys:       keys,
		stats:      newStats(),
		clientID:   cfg.ClientID,
		secret:     cfg.ClientSecret,
		cookieName: "op_session_" + portOf(ln.Addr()),
		closing:    make(chan struct{}),
		serveErr:   make(chan error, 1),
	}
	s.noIDTokenOnRefresh.Store(cfg.NoIDTokenOnRefresh)
	s.SetRequestObjectKeys(cfg.RequestObjectKeys)
	if cfg.PAR || cfg.RequirePAR {
		s.par = &parStore{required: cfg.RequirePAR, requests: map[string]pushedRequest{}}
	}
	if cfg.DPoP {
		s.dpop = newDPoPState(cfg.DPoPNonce)
	}
	s.store = newStorage(cfg, keys, s.stats)
	if s.provider, err = newProvider(s.issuer, s.store, keys); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.httpServer = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(discard{}, "", 0), // injected faults make the server log noise
	}
	go func() { s.serveErr <- s.httpServer.Serve(ln) }()
	return s, nil
}

func newProvider(issuer string, store *storage, keys *keyRing) (*zop.Provider, error) {
	cfg := &zop.Config{
		DefaultLogoutRedirectURI: issuer + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		AuthMethodPrivateKeyJWT:  true,
		GrantTypeRefreshToken:    true,
		SupportedClaims:          append(append([]string{}, zop.DefaultSupportedClaims...), "groups", "sid"),
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail,
			oidc.ScopeOfflineAccess, "groups"},
	}
	if _, err := rand.Read(cfg.CryptoKey[:]); err != nil {
		return nil, err
	}
	alg := string(keys.alg)
	return zop.NewProvider(cfg, store, zop.StaticIssuer(issuer),
		zop.WithAllowInsecure(),
		zop.WithAccessTokenVerifierOpts(zop.WithSupportedAccessTokenSigningAlgorithms(alg)),
		zop.WithIDTokenHintVerifierOpts(zop.WithSupportedIDTokenHintSigningAlgorithms(alg)),
	)
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: Addr %q: %v", ErrConfig, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: Addr %q is not a loopback address", ErrConfig, addr)
	}
	return nil
}

func portOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprint(t.Port)
	}
	return strings.NewReplacer(":", "_", ".", "_").Replace(a.String())
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Issuer is the provider's issuer URL, http://127.0.0.1:PORT.
func (s *Server) Issuer() string { return s.issuer }

// Addr is the address the provider listens on, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ClientID and ClientSecret are the configured plugin client's credentials.
func (s *Server) ClientID() string     { return s.clientID }
func (s *Server) ClientSecret() string { return s.secret }

// Endpoints returns the absolute URLs of the provider's endpoints.
func (s *Server) Endpoints() Endpoints {
	p := s.provider
	return Endpoints{
		Discovery:     s.issuer + oidc.DiscoveryEndpoint,
		JWKS:          p.KeysEndpoint().Absolute(s.issuer),
		Authorize:     p.AuthorizationEndpoint().Absolute(s.issuer),
		Login:         s.issuer + loginPath,
		Token:         p.TokenEndpoint().Absolute(s.issuer),
		EntraToken:    s.issuer + entraTokenPath,
		Introspection: p.IntrospectionEndpoint().Absolute(s.issuer),
		Revocation:    p.RevocationEndpoint().Absolute(s.issuer),
		Userinfo:      p.UserinfoEndpoint().Absolute(s.issuer),
		EndSession:    p.EndSessionEndpoint().Absolute(s.issuer),
	}
}

// Close stops the server at once: open connections are closed and injected
// sleeps end.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		err = s.httpServer.Close()
		if serr := <-s.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	})
	return err
}

// RotateKey adds a new signing key with a new kid and signs with it from now
// on. The old keys stay in the JWKS until RemoveOldKeys.
func (s *Server) RotateKey() (kid string) {
	kid, err := s.keys.rotate()
	if err != nil {
		panic(fmt.Sprintf("op: generating a key: %v", err)) // crypto/rand failed
	}
	return kid
}

// RemoveOldKeys unpublishes every key but the current signing key, so tokens
// signed before the last RotateKey no longer verify.
func (s *Server) RemoveOldKeys() { s.keys.removeOld() }

// JWKS returns the published keys, as the JWKS endpoint would, without a
// request (so without counting one).
func (s *Server) JWKS() jose.JSONWebKeySet { return s.keys.jwks() }

// KeySet is JWKS in the shape of demoapp.Config.Keys.
func (s *Server) KeySet(context.Context) (*jose.JSONWebKeySet, error) {
	set := s.keys.jwks()
	return &set, nil
}

// KeyID is the kid of the current signing key.
func (s *Server) KeyID() string { return s.keys.current().kid }

// Counts returns the requests received per endpoint.
func (s *Server) Counts() Counts { return s.stats.snapshot() }

// ResetCounts sets every count to zero.
func (s *Server) ResetCounts() { s.stats.reset() }

// SetFault makes requests for endpoint fail as f says. For a token request
// a fault set on its grant (EndpointRefresh, ...) wins over one set on
// EndpointToken. A Fault with Kind FaultNone clears the endpoint's fault.
func (s *Server) SetFault(endpoint Endpoint, f Fault) { s.stats.setFault(endpoint, f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.stats.clearFaults() }

// SetLifetimes changes the lifetimes of tokens issued from now on. A zero
// duration leaves that lifetime unchanged.
func (s *Server) SetLifetimes(access, id, refresh time.Duration) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	l := &s.store.lifetimes
	for _, p := range []struct {
		dst *time.Duration
		v   time.Duration
	}{{&l.access, access}, {&l.id, id}, {&l.refresh, refresh}} {
		if p.v > 0 {
			*p.dst = p.v
		}
	}
}

// Lifetimes returns the current access, ID and refresh token lifetimes.
func (s *Server) Lifetimes() (access, id, refresh time.Duration) {
	l := s.store.currentLifetimes()
	return l.access, l.id, l.refresh
}

// SetNoIDTokenOnRefresh switches whether refresh_token grant responses omit
// id_token.
func (s *Server) SetNoIDTokenOnRefresh(omit bool) { s.noIDTokenOnRefresh.Store(omit) }

// SetNoAuthTime switches whether the ID tokens of logins completed from now on omit
// auth_time (OIDC Core makes it optional unless max_age was requested).
func (s *Server) SetNoAuthTime(omit bool) {
	s.store.mu.Lock()
	s.store.noAuthTime = omit
	s.store.mu.Unlock()
}

// SetRequestObjectKeys replaces the client's request object keys (Config.RequestObjectKeys).
func (s *Server) SetRequestObjectKeys(keys []jose.JSONWebKey) { s.requestKeys.Store(&keys) }

// RevokeAllRefreshTokens makes every refresh token issued so far invalid, as
// an administrator revoking sessions at the provider would.
func (s *Server) RevokeAllRefreshTokens() { s.store.revokeAllRefreshTokens() }

// EndSessions logs every browser out of the provider (and revokes the
// tokens issued under those sessions): the next authorize shows the form.
func (s *Server) EndSessions() { s.store.endAllSessions() }
