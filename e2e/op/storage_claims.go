package op

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// setUserinfo fills info for the user as the scopes allow. groups and the
// user's extra Claims are always included.
func (s *storage) setUserinfo(info *oidc.UserInfo, userID string, scopes []string) error {
	u, ok := s.user(userID)
	if !ok {
		return fmt.Errorf("%w: user %q", ErrNotFound, userID)
	}
	info.Subject = u.ID
	if hasScope(scopes, oidc.ScopeProfile) {
		info.Name, info.GivenName, info.FamilyName = u.Name, u.GivenName, u.FamilyName
		info.PreferredUsername = u.Username
	}
	if hasScope(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
	}
	if len(u.Groups) > 0 {
		info.AppendClaims("groups", slices.Clone(u.Groups))
	}
	for k, v := range u.Claims {
		info.AppendClaims(k, v)
	}
	return nil
}

// userClaims are the identity claims put into every access token.
func (s *storage) userClaims(userID string) map[string]any {
	u, ok := s.user(userID)
	if !ok {
		return nil
	}
	c := map[string]any{"preferred_username": u.Username}
	if u.Email != "" {
		c["email"] = u.Email
	}
	if u.Name != "" {
		c["name"] = u.Name
	}
	if len(u.Groups) > 0 {
		c["groups"] = slices.Clone(u.Groups)
	}
	maps.Copy(c, u.Claims)
	return c
}

func sessionIDOf(req any) string {
	switch r := req.(type) {
	case *authRequest:
		return r.sessionID
	case *refreshRequest:
		return r.sessionID
	}
	return ""
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest
// does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims and its sid.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req zop.IDTokenRequest, scopes []string) error {
	if err := s.setUserinfo(info, req.GetSubject(), scopes); err != nil {
		return err
	}
	if sid := sessionIDOf(req); sid != "" {
		info.AppendClaims("sid", sid)
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	at, err := s.activeAccess(tokenID)
	if err != nil {
		return err
	}
	return s.setUserinfo(info, subject, at.scopes)
}

// SetIntrospectionFromToken answers RFC 7662 for an active access token;
// an error makes the library answer {"active": false}.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	at, err := s.activeAccess(tokenID)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, subject, []string{oidc.ScopeProfile, oidc.ScopeEmail}); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = at.scopes
	resp.ClientID = at.clientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(at.expires)
	resp.IssuedAt = oidc.FromTime(at.issued)
	resp.NotBefore = oidc.FromTime(at.issued)
	resp.Audience = at.audience
	resp.Issuer = zop.IssuerFromContext(ctx)
	resp.JWTID = at.id
	if at.sessionID != "" {
		if resp.Claims == nil {
			resp.Claims = map[string]any{}
		}
		resp.Claims["sid"] = at.sessionID
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	return s.userClaims(userID), nil
}

// GetPrivateClaimsFromRequest adds the user's identity claims and sid to
// JWT access tokens.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req zop.TokenRequest, _ []string) (map[string]any, error) {
	c := s.userClaims(req.GetSubject())
	if sid := sessionIDOf(req); sid != "" {
		if c == nil {
			c = map[string]any{}
		}
		c["sid"] = sid
	}
	return withCnf(ctx, c), nil
}

// --- RFC 8693 token exchange ------------------------------------------------------

// ValidateTokenExchangeRequest accepts a subject token this provider issued
// and still considers active. The requested audience becomes the aud of the
// issued token; without scope the subject token's scopes carry over. As in
// Keycloak's standard token exchange, an access token is only exchanged by a
// client in its aud: a client that merely holds someone else's token cannot.
func (s *storage) ValidateTokenExchangeRequest(_ context.Context, req zop.TokenExchangeRequest) error {
	switch req.GetRequestedTokenType() {
	case "", oidc.JWTTokenType:
		// Our access tokens are JWTs.
		req.SetRequestedTokenType(oidc.AccessTokenType)
	case oidc.AccessTokenType, oidc.RefreshTokenType, oidc.IDTokenType:
	default:
		return oidc.ErrInvalidRequest().WithDescription("requested_token_type is not supported")
	}
	if req.GetExchangeSubjectTokenType() == oidc.AccessTokenType {
		at, err := s.activeAccess(req.GetExchangeSubjectTokenIDOrToken())
		if err != nil {
			return oidc.ErrInvalidRequest().WithDescription("subject_token is not active").WithParent(err)
		}
		if !slices.Contains(at.audience, req.GetClientID()) {
			return oidc.ErrAccessDenied().WithDescription("the client is not within the subject_token's audience")
		}
		if len(req.GetScopes()) == 0 {
			req.SetCurrentScopes(at.scopes)
		}
	}
	if _, ok := s.user(req.GetSubject()); !ok {
		return oidc.ErrInvalidRequest().WithDescription("subject_token names an unknown user")
	}
	return nil
}

func (s *storage) CreateTokenExchangeRequest(context.Context, zop.TokenExchangeRequest) error {
	return nil
}

func (s *storage) GetPrivateClaimsFromTokenExchangeRequest(ctx context.Context, req zop.TokenExchangeRequest) (map[string]any, error) {
	return withCnf(ctx, s.userClaims(req.GetSubject())), nil
}

func (s *storage) SetUserinfoFromTokenExchangeRequest(_ context.Context, info *oidc.UserInfo, req zop.TokenExchangeRequest) error {
	return s.setUserinfo(info, req.GetSubject(), req.GetScopes())
}
