package op

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// origin is what a token request stands for, whatever its type.
type origin struct {
	kind      string
	clientID  string
	userID    string
	sessionID string
	family    string
	audience  []string
	scopes    []string
	amr       []string
	authTime  time.Time
}

func originOf(req zop.TokenRequest) origin {
	o := origin{
		kind:     "other",
		userID:   req.GetSubject(),
		audience: slices.Clone(req.GetAudience()),
		scopes:   slices.Clone(req.GetScopes()),
	}
	switch r := req.(type) {
	case *authRequest:
		o.kind, o.clientID, o.sessionID, o.amr, o.authTime = "login", r.clientID, r.sessionID, r.GetAMR(), r.authTime
	case *refreshRequest:
		o.kind, o.clientID, o.sessionID, o.family, o.amr, o.authTime = "refresh", r.clientID, r.sessionID, r.family, r.amr, r.authTime
	case *oboRequest:
		o.kind, o.clientID, o.sessionID, o.authTime = "obo", r.clientID, r.sessionID, r.authTime
	case zop.TokenExchangeRequest:
		o.kind, o.clientID, o.authTime = "exchange", r.GetClientID(), r.GetAuthTime()
	}
	return o
}

// newAccessLocked records a new access token. s.mu must be held.
func (s *storage) newAccessLocked(o origin, now time.Time) *accessToken {
	at := &accessToken{
		id: randomString(16), kind: o.kind, clientID: o.clientID, userID: o.userID,
		sessionID: o.sessionID, family: o.family, audience: o.audience, scopes: o.scopes,
		issued: now, expires: now.Add(s.lifetimes.access),
	}
	if len(at.audience) == 0 {
		at.audience = []string{o.clientID}
	}
	s.access[at.id] = at
	return at
}

func (s *storage) CreateAccessToken(_ context.Context, req zop.TokenRequest) (string, time.Time, error) {
	o := originOf(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.newAccessLocked(o, time.Now())
	return at.id, at.expires, nil
}

// CreateAccessAndRefreshTokens issues an access token and a new refresh
// token. With currentRefreshToken set (the refresh_token grant) it rotates:
// the presented token is marked used and can never be redeemed again.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req zop.TokenRequest, current string) (string, string, time.Time, error) {
	o := originOf(req)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		st := s.refresh[current]
		if st != nil && st.used {
			// Lost a race with a concurrent use of the same token: a reuse.
			s.reuseLocked(st)
		}
		if st == nil || st.used || st.revoked || now.After(st.req.expires) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or was already used")
		}
		st.used = true
	}
	if o.family == "" {
		o.family = randomString(12)
	}
	rt := &refreshState{req: refreshRequest{
		token: randomString(32), family: o.family, clientID: o.clientID, userID: o.userID,
		sessionID: o.sessionID, audience: o.audience, scopes: o.scopes, amr: o.amr,
		authTime: o.authTime, expires: now.Add(s.lifetimes.refresh),
	}}
	s.refresh[rt.req.token] = rt
	issuedRefresh(ctx, rt.req.token) // bound to the request's DPoP key (dpop.go)
	at := s.newAccessLocked(o, now)
	return at.id, rt.req.token, at.expires, nil
}

// TokenRequestByRefreshToken looks a refresh token up. A token that was
// already rotated away counts as a reuse (and may revoke its family).
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (zop.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.refresh[token]
	switch {
	case st == nil:
		return nil, fmt.Errorf("%w: refresh token", ErrNotFound)
	case st.used:
		s.reuseLocked(st)
		return nil, fmt.Errorf("%w: refresh token was already used", ErrInactiveToken)
	case st.revoked || time.Now().After(st.req.expires):
		return nil, fmt.Errorf("%w: refresh token", ErrInactiveToken)
	}
	c := st.req
	return &c, nil
}

// reuseLocked counts the presentation of a rotated refresh token and, if
// configured, revokes its family. s.mu must be held.
func (s *storage) reuseLocked(st *refreshState) {
	s.stats.add(EndpointRefreshReuse)
	if s.policy.revokeFamilyOnReuse {
		s.revokeFamilyLocked(st.req.family)
	}
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, _, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A refresh token of another client is still a refresh token: RevokeToken refuses that
	// client. Answering ErrInvalidRefreshToken here made zitadel try the token as an
	// encrypted access token; its unauthenticated decryption sometimes "succeeds" on a
	// refresh token, and the foreign client's revocation was answered 200 (a flaky
	// TestRevocationAndIntrospection).
	if st, ok := s.refresh[token]; ok {
		return st.req.userID, token, nil
	}
	return "", "", zop.ErrInvalidRefreshToken
}

// RevokeToken revokes a refresh token (with every token of its login, RFC
// 7009 section 2.1) or one access token (by jti). Unknown tokens succeed.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.refresh[tokenOrID]; ok {
		if st.req.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
		}
		s.revokeFamilyLocked(st.req.family)
		return nil
	}
	if at, ok := s.access[tokenOrID]; ok {
		if at.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
		}
		at.revoked = true
	}
	return nil
}

func (s *storage) revokeFamilyLocked(family string) {
	for _, st := range s.refresh {
		if st.req.family == family {
			st.revoked = true
		}
	}
	for _, at := range s.access {
		if at.family == family {
			at.revoked = true
		}
	}
}

func (s *storage) revokeAllRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.refresh {
		st.revoked = true
	}
}

// activeAccess returns a copy of an unexpired, unrevoked access token.
func (s *storage) activeAccess(id string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[id]
	if !ok {
		return accessToken{}, fmt.Errorf("%w: access token", ErrNotFound)
	}
	if at.revoked || time.Now().After(at.expires) {
		return accessToken{}, fmt.Errorf("%w: access token", ErrInactiveToken)
	}
	return *at, nil
}
