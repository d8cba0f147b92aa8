package op

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// oboRequest is an on-behalf-of grant being served; it implements zitadel's
// op.TokenRequest so the storage records its tokens like any other.
type oboRequest struct {
	clientID  string
	userID    string
	sessionID string
	audience  []string
	scopes    []string
	authTime  time.Time
}

func (o *oboRequest) GetSubject() string    { return o.userID }
func (o *oboRequest) GetAudience() []string { return o.audience }
func (o *oboRequest) GetScopes() []string   { return o.scopes }

// aadError is an Entra ID (AADSTS) token endpoint error.
type aadError struct {
	status int
	kind   string // the OAuth error code
	code   int    // the AADSTS number
	msg    string
}

// oboResponse is Microsoft's documented on-behalf-of success response.
type oboResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// handleOBO serves the Entra-style on-behalf-of grant: grant_type=jwt-bearer,
// requested_token_use=on_behalf_of, assertion (an access token issued here
// whose aud includes the calling client), scope, and client credentials
// (Basic or form). The issued access token's aud is the scope's resource
// ("api://downstream/.default" gives "api://downstream").
func (s *Server) handleOBO(w http.ResponseWriter, r *http.Request) {
	resp, aerr := s.obo(r)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if aerr != nil {
		writeAADError(w, aerr)
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) obo(r *http.Request) (*oboResponse, *aadError) {
	if r.Method != http.MethodPost {
		return nil, &aadError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a " + r.Method + " request."}
	}
	if err := r.ParseForm(); err != nil {
		return nil, &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body could not be parsed."}
	}
	f := r.PostForm
	if f.Get("grant_type") != string(oidc.GrantTypeBearer) {
		return nil, &aadError{http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '" + f.Get("grant_type") + "'."}
	}
	clientID, aerr := s.oboClient(r)
	if aerr != nil {
		return nil, aerr
	}
	for _, p := range []string{"requested_token_use", "assertion", "scope"} {
		if f.Get(p) == "" {
			return nil, &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: '" + p + "'."}
		}
	}
	if f.Get("requested_token_use") != "on_behalf_of" {
		return nil, &aadError{http.StatusBadRequest, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid. requested_token_use must be on_behalf_of."}
	}
	subject, aerr := s.verifyAssertion(f.Get("assertion"), clientID)
	if aerr != nil {
		return nil, aerr
	}
	return s.issueOBO(r, clientID, subject, strings.Fields(f.Get("scope")))
}

// oboClient authenticates the client by Basic or by form parameters.
func (s *Server) oboClient(r *http.Request) (string, *aadError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return "", &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."}
	}
	if _, ok := s.store.clients[id]; !ok {
		return "", &aadError{http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '" + id + "' was not found in the directory."}
	}
	if secret == "" {
		return "", &aadError{http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	if s.store.AuthorizeClientIDSecret(r.Context(), id, secret) != nil {
		return "", &aadError{http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + id + "'."}
	}
	return id, nil
}

// verifyAssertion checks the assertion as Entra does: signature by a
// published key, issuer, time range, audience, and that it is still active
// here. It returns the subject and the record of the token.
func (s *Server) verifyAssertion(raw, clientID string) (accessToken, *aadError) {
	malformed := &aadError{http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed."}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{s.keys.alg})
	if err != nil || len(tok.Headers) != 1 {
		return accessToken{}, malformed
	}
	kid := tok.Headers[0].KeyID
	var key any
	for _, k := range s.keys.published() {
		if k.ID() == kid {
			key = k.Key()
		}
	}
	if key == nil {
		return accessToken{}, &aadError{http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '" + kid + "']"}
	}
	var c jwt.Claims
	if err := tok.Claims(key, &c); err != nil {
		return accessToken{}, &aadError{http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]"}
	}
	if c.Issuer != s.issuer {
		return accessToken{}, &aadError{http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation. [Reason - The issuer '" + c.Issuer + "' is not trusted.]"}
	}
	now := time.Now()
	if c.Expiry == nil || now.After(c.Expiry.Time()) || (c.NotBefore != nil && now.Before(c.NotBefore.Time())) {
		exp := "none"
		if c.Expiry != nil {
			exp = c.Expiry.Time().UTC().Format(aadTime)
		}
		return accessToken{}, &aadError{http.StatusBadRequest, "invalid_grant", 500133, fmt.Sprintf(
			"Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: %s, expiry time of assertion %s.",
			now.UTC().Format(aadTime), exp)}
	}
	if !c.Audience.Contains(clientID) {
		return accessToken{}, &aadError{http.StatusBadRequest, "invalid_grant", 50013, fmt.Sprintf(
			"Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Id URIs of this web API.",
			strings.Join(c.Audience, ","), clientID)}
	}
	at, err := s.store.activeAccess(c.ID)
	if err != nil || at.userID != c.Subject {
		return accessToken{}, &aadError{http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."}
	}
	return at, nil
}

const aadTime = "2006-01-02T15:04:05.0000000Z"

func (s *Server) issueOBO(r *http.Request, clientID string, subject accessToken, scopes []string) (*oboResponse, *aadError) {
	req := &oboRequest{
		clientID: clientID, userID: subject.userID, sessionID: subject.sessionID,
		audience: []string{resourceOf(scopes)}, scopes: scopes, authTime: subject.issued,
	}
	var (
		id, refresh string
		exp         time.Time
		err         error
	)
	if hasScope(scopes, oidc.ScopeOfflineAccess) {
		id, refresh, exp, err = s.store.CreateAccessAndRefreshTokens(r.Context(), req, "")
	} else {
		id, exp, err = s.store.CreateAccessToken(r.Context(), req)
	}
	if err != nil {
		return nil, &aadError{http.StatusInternalServerError, "server_error", 90100, "An internal error occurred."}
	}
	claims := oidc.NewAccessTokenClaims(s.issuer, subject.userID, req.audience, exp, id, clientID, 0)
	claims.Scopes = scopes
	claims.Claims = s.store.userClaims(subject.userID)
	if claims.Claims == nil {
		claims.Claims = map[string]any{}
	}
	claims.Claims["azp"] = clientID
	claims.Claims["oid"] = subject.userID
	claims.Claims["scp"] = strings.Join(scopes, " ")
	signer, err := zop.SignerFromKey(s.keys.current())
	if err != nil {
		return nil, &aadError{http.StatusInternalServerError, "server_error", 90100, "An internal error occurred."}
	}
	token, err := crypto.Sign(claims, signer)
	if err != nil {
		return nil, &aadError{http.StatusInternalServerError, "server_error", 90100, "An internal error occurred."}
	}
	secs := int64(time.Until(exp).Round(time.Second) / time.Second)
	return &oboResponse{
		TokenType: oidc.BearerToken, Scope: strings.Join(scopes, " "),
		ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: token, RefreshToken: refresh,
	}, nil
}

// resourceOf is the audience an Entra scope names: the part before the last
// path slash of the first resource-qualified scope ("api://x/.default" gives
// "api://x"), else the first scope that is not an OpenID Connect one.
func resourceOf(scopes []string) string {
	for _, sc := range scopes {
		start := 0
		if i := strings.Index(sc, "://"); i >= 0 {
			start = i + len("://")
		}
		if j := strings.LastIndex(sc[start:], "/"); j > 0 {
			return sc[:start+j]
		}
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess:
		default:
			return sc
		}
	}
	return ""
}

func writeAADError(w http.ResponseWriter, e *aadError) {
	trace, corr := uuid(), uuid()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": e.kind,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.code, e.msg, trace, corr, ts),
		"error_codes":    []int{e.code},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
	})
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
