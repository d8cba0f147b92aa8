package op

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// ServeHTTP counts the request, applies an injected fault, and routes it to
// the login form, the on-behalf-of handler or the library.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoints := s.classify(r)
	for _, e := range endpoints {
		s.stats.add(e)
	}
	f, ok := s.stats.take(endpoints...)
	if ok && f.Kind == FaultEditJSON {
		rec := httptest.NewRecorder()
		s.route(rec, r)
		writeEdited(w, rec, f.Edit)
		return
	}
	if ok && f.apply(w, r, s.closing) {
		return
	}
	s.route(w, r)
}

// writeEdited sends rec's answer, its JSON object changed by edit when it is a 2xx one.
func writeEdited(w http.ResponseWriter, rec *httptest.ResponseRecorder, edit func(map[string]any)) {
	body := rec.Body.Bytes()
	var m map[string]any
	if rec.Code/100 == 2 && edit != nil && json.Unmarshal(body, &m) == nil {
		edit(m)
		body, _ = json.Marshal(m)
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := s.provider
	if s.dpop != nil && r.URL.Path == p.AuthorizationEndpoint().Relative() {
		s.dpop.bindCode(r.URL.Query(), "") // dpop_jkt (dpop.go)
	}
	switch path := r.URL.Path; {
	case s.dpop != nil && path == parPath && s.par != nil:
		s.serveDPoP(w, r, EndpointPAR, s.servePAR)
	case s.dpop != nil && path == p.TokenEndpoint().Relative():
		s.serveDPoP(w, r, EndpointToken, s.serveToken)
	case s.dpop != nil && path == p.UserinfoEndpoint().Relative():
		s.serveUserinfoDPoP(w, r)
	case s.par != nil && path == parPath:
		s.servePAR(w, r)
	case s.par != nil && path == oidc.DiscoveryEndpoint:
		s.serveDiscoveryWithPAR(w, r)
	case s.par != nil && path == p.AuthorizationEndpoint().Relative():
		s.serveAuthorizeWithPAR(w, r)
	case path == p.AuthorizationEndpoint().Relative() && r.URL.Query().Get("request") != "":
		s.serveAuthorizeWithRequest(w, r)
	case path == "/":
		s.serveIndex(w, r)
	case path == loginPath:
		s.handleLogin(w, r)
	case path == loggedOutPath:
		s.serveLoggedOut(w, r)
	case path == entraTokenPath:
		s.handleOBO(w, r)
	case path == p.TokenEndpoint().Relative():
		s.serveToken(w, r)
	case path == p.IntrospectionEndpoint().Relative():
		postCredentialsToBasic(r)
		p.ServeHTTP(w, r)
	case path == p.EndSessionEndpoint().Relative():
		s.serveEndSession(w, r)
	default:
		p.ServeHTTP(w, r)
	}
}

// classify names the endpoints a request counts for, most specific first.
func (s *Server) classify(r *http.Request) []Endpoint {
	p := s.provider
	switch r.URL.Path {
	case oidc.DiscoveryEndpoint:
		return []Endpoint{EndpointDiscovery}
	case p.KeysEndpoint().Relative():
		return []Endpoint{EndpointJWKS}
	case p.AuthorizationEndpoint().Relative():
		return []Endpoint{EndpointAuthorize}
	case loginPath:
		return []Endpoint{EndpointLogin}
	case entraTokenPath:
		return []Endpoint{EndpointOBO}
	case parPath:
		return []Endpoint{EndpointPAR}
	case p.TokenEndpoint().Relative():
		_ = r.ParseForm() // the library reads r.Form later; a bad body fails there
		switch {
		case isOBO(r):
			return []Endpoint{EndpointOBO, EndpointToken}
		case r.PostForm.Get("grant_type") == string(oidc.GrantTypeCode):
			return []Endpoint{EndpointCode, EndpointToken}
		case r.PostForm.Get("grant_type") == string(oidc.GrantTypeRefreshToken):
			return []Endpoint{EndpointRefresh, EndpointToken}
		case r.PostForm.Get("grant_type") == string(oidc.GrantTypeTokenExchange):
			return []Endpoint{EndpointTokenExchange, EndpointToken}
		}
		return []Endpoint{EndpointToken}
	case p.IntrospectionEndpoint().Relative():
		return []Endpoint{EndpointIntrospection}
	case p.RevocationEndpoint().Relative():
		return []Endpoint{EndpointRevocation}
	case p.UserinfoEndpoint().Relative():
		return []Endpoint{EndpointUserinfo}
	case p.EndSessionEndpoint().Relative():
		return []Endpoint{EndpointEndSession}
	}
	return nil
}

func isOBO(r *http.Request) bool {
	return r.PostForm.Get("grant_type") == string(oidc.GrantTypeBearer) &&
		r.PostForm.Get("requested_token_use") == "on_behalf_of"
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	switch {
	case isOBO(r):
		s.handleOBO(w, r)
	case r.PostForm.Get("grant_type") == string(oidc.GrantTypeTokenExchange):
		postCredentialsToBasic(r)
		resourceToAudience(r)
		s.provider.ServeHTTP(w, r)
	case r.PostForm.Get("grant_type") == string(oidc.GrantTypeRefreshToken) && s.noIDTokenOnRefresh.Load():
		serveWithoutIDToken(w, r, s.provider)
	default:
		s.provider.ServeHTTP(w, r)
	}
}

// postCredentialsToBasic moves client_secret_post credentials into a Basic
// header for the library's handlers that only read Basic (token exchange,
// introspection).
func postCredentialsToBasic(r *http.Request) {
	_ = r.ParseForm()
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if r.Header.Get("Authorization") != "" || id == "" || secret == "" {
		return
	}
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
}

// resourceToAudience lets an RFC 8693 request name its target by resource
// alone: without audience, the resource URIs become the issued token's aud
// (the library only maps audience).
func resourceToAudience(r *http.Request) {
	if len(r.Form["audience"]) == 0 && len(r.Form["resource"]) > 0 {
		r.Form["audience"] = r.Form["resource"]
	}
}

// serveWithoutIDToken serves h and drops id_token from a successful JSON
// answer.
func serveWithoutIDToken(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			delete(m, "id_token")
			if b, err := json.Marshal(m); err == nil {
				body = b
			}
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// serveEndSession hands the browser's session id to the storage and clears
// the session cookie once the session ended.
func (s *Server) serveEndSession(w http.ResponseWriter, r *http.Request) {
	state := &endSessionState{}
	if c, err := r.Cookie(s.cookieName); err == nil {
		state.cookieSID = c.Value
	}
	r = r.WithContext(context.WithValue(r.Context(), endSessionKey{}, state))
	s.provider.ServeHTTP(&clearCookieWriter{ResponseWriter: w, state: state, clear: s.clearCookie}, r)
}

type clearCookieWriter struct {
	http.ResponseWriter
	state       *endSessionState
	clear       func(http.ResponseWriter)
	wroteHeader bool
}

func (w *clearCookieWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if w.state.ended {
			w.clear(w.ResponseWriter)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *clearCookieWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
