package op

import (
	"context"
	"time"

	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// loginSession is a user's login at the provider, kept by a browser cookie.
// While it lives, authorize requests complete without the form.
type loginSession struct {
	id       string
	userID   string
	authTime time.Time
}

func (s *storage) newSession(userID string) loginSession {
	sess := &loginSession{id: randomString(18), userID: userID, authTime: time.Now()}
	s.mu.Lock()
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	return *sess
}

func (s *storage) session(id string) (loginSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return loginSession{}, false
	}
	return *sess, true
}

// endSessionLocked forgets the login session and revokes every token issued
// under it. s.mu must be held.
func (s *storage) endSessionLocked(sid string) {
	delete(s.sessions, sid)
	for _, st := range s.refresh {
		if st.req.sessionID == sid {
			st.revoked = true
		}
	}
	for _, at := range s.access {
		if at.sessionID == sid {
			at.revoked = true
		}
	}
}

func (s *storage) endUserSessionsLocked(userID string) {
	for sid, sess := range s.sessions {
		if sess.userID == userID {
			s.endSessionLocked(sid)
		}
	}
}

// endAllSessions logs every browser out.
func (s *storage) endAllSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid := range s.sessions {
		s.endSessionLocked(sid)
	}
}

// TerminateSession ends every session of the user (used by the library only
// when TerminateSessionFromRequest is absent).
func (s *storage) TerminateSession(_ context.Context, userID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endUserSessionsLocked(userID)
	return nil
}

// endSessionKey carries the browser's session id into
// TerminateSessionFromRequest and reports back whether it ended.
type endSessionKey struct{}

type endSessionState struct {
	cookieSID string
	ended     bool
}

// TerminateSessionFromRequest ends the session of the browser's cookie and
// the one named by the id_token_hint's sid; with neither, every session of
// the hinted user.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *zop.EndSessionRequest) (string, error) {
	state, _ := ctx.Value(endSessionKey{}).(*endSessionState)
	var sids []string
	if state != nil && state.cookieSID != "" {
		sids = append(sids, state.cookieSID)
	}
	if req.IDTokenHintClaims != nil {
		if sid, ok := req.IDTokenHintClaims.Claims["sid"].(string); ok && sid != "" {
			sids = append(sids, sid)
		}
	}
	s.mu.Lock()
	for _, sid := range sids {
		s.endSessionLocked(sid)
	}
	if len(sids) == 0 && req.UserID != "" {
		s.endUserSessionsLocked(req.UserID)
	}
	s.mu.Unlock()
	if state != nil {
		state.ended = true
	}
	return req.RedirectURI, nil
}
