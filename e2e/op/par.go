package op

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Pushed authorization requests (RFC 9126), which the library does not serve: a confidential
// client posts its authorization request to /par and gets a request_uri; the browser then
// brings only client_id and request_uri to the authorization endpoint, where the stored
// request is put back in place of the query (single use, 60 s).

const (
	parPath          = "/par"
	parLifetime      = 60 * time.Second
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
)

type pushedRequest struct {
	clientID string
	params   url.Values
	expires  time.Time
}

type parStore struct {
	required bool
	mu       sync.Mutex
	requests map[string]pushedRequest
}

func parError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// servePAR authenticates the client as the token endpoint does (Basic or post) and stores
// the request.
func (s *Server) servePAR(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		parError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		parError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if err := s.store.AuthorizeClientIDSecret(r.Context(), id, secret); err != nil {
		parError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if form.Get("client_id") != "" && form.Get("client_id") != id {
		parError(w, http.StatusBadRequest, "invalid_request", "client_id differs from the authenticated client")
		return
	}
	if form.Has("request_uri") {
		parError(w, http.StatusBadRequest, "invalid_request", "request_uri is not allowed in a pushed request")
		return
	}
	params, err := s.requestParams(form, id)
	if err != nil {
		parError(w, http.StatusBadRequest, "invalid_request_object", err.Error())
		return
	}
	params.Del("client_secret")
	params.Set("client_id", id)
	uri := requestURIPrefix + randomString(24)
	s.par.mu.Lock()
	s.par.requests[uri] = pushedRequest{clientID: id, params: params, expires: time.Now().Add(parLifetime)}
	s.par.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"request_uri": uri, "expires_in": int(parLifetime / time.Second)})
}

// requestParams are the authorization request's parameters as sent: the form itself, or,
// when it carries a request object, the object's claims once a registered key of the client
// verifies it (RFC 9101 6: iss the client, aud this issuer, exp not passed).
func (s *Server) requestParams(form url.Values, clientID string) (url.Values, error) {
	out := url.Values{}
	raw := form.Get("request")
	if raw == "" {
		for k, v := range form {
			out[k] = append([]string(nil), v...)
		}
		return out, nil
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256})
	if err != nil {
		return nil, errors.New("request object is not a signed JWT")
	}
	var payload []byte
	for _, k := range *s.requestKeys.Load() {
		if p, err := jws.Verify(k.Key); err == nil {
			payload = p
			break
		}
	}
	if payload == nil {
		return nil, errors.New("request object signature not verified by any key of the client")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errors.New("request object claims are not a JSON object")
	}
	exp, _ := claims["exp"].(float64)
	switch {
	case claims["iss"] != clientID || claims["client_id"] != clientID:
		return nil, errors.New("request object iss or client_id is not the client")
	case claims["aud"] != s.issuer:
		return nil, errors.New("request object aud is not this issuer")
	case time.Unix(int64(exp), 0).Before(time.Now()):
		return nil, errors.New("request object expired")
	}
	for k, v := range claims {
		switch k {
		case "iss", "aud", "exp", "iat", "nbf", "jti":
			continue
		}
		switch v := v.(type) {
		case string:
			out.Set(k, v)
		case float64:
			out.Set(k, strconv.FormatInt(int64(v), 10))
		}
	}
	return out, nil
}

// serveAuthorizeWithRequest expands a request object sent by value at the authorization
// endpoint, or refuses it.
func (s *Server) serveAuthorizeWithRequest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params, err := s.requestParams(q, q.Get("client_id"))
	if err != nil {
		s.renderPage(w, http.StatusBadRequest, "Bad request", "invalid_request_object: "+err.Error())
		return
	}
	s.serveAuthorizeParams(w, r, params)
}

func (s *Server) serveAuthorizeParams(w http.ResponseWriter, r *http.Request, params url.Values) {
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = params.Encode()
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	r2.Form, r2.PostForm = nil, nil
	s.provider.ServeHTTP(w, r2)
}

// serveAuthorizeWithPAR puts a pushed request back in place of the query, or refuses a
// request that was not pushed when the provider requires PAR.
func (s *Server) serveAuthorizeWithPAR(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	uri := q.Get("request_uri")
	if uri == "" && q.Get("request") != "" {
		s.serveAuthorizeWithRequest(w, r)
		return
	}
	if uri == "" {
		if s.par.required {
			s.renderPage(w, http.StatusBadRequest, "Bad request", "This provider requires pushed authorization requests (RFC 9126).")
			return
		}
		s.provider.ServeHTTP(w, r)
		return
	}
	s.par.mu.Lock()
	pr, ok := s.par.requests[uri]
	delete(s.par.requests, uri) // single use
	s.par.mu.Unlock()
	switch {
	case !ok:
		s.renderPage(w, http.StatusBadRequest, "Bad request", "Unknown or already used request_uri.")
		return
	case time.Now().After(pr.expires):
		s.renderPage(w, http.StatusBadRequest, "Bad request", "The request_uri has expired.")
		return
	case q.Get("client_id") != pr.clientID:
		s.renderPage(w, http.StatusBadRequest, "Bad request", "client_id does not match the pushed request.")
		return
	}
	s.serveAuthorizeParams(w, r, pr.params)
}

// serveDiscoveryWithPAR adds the PAR members to the library's discovery document.
func (s *Server) serveDiscoveryWithPAR(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	s.provider.ServeHTTP(rec, r)
	writeEdited(w, rec, func(m map[string]any) {
		m["pushed_authorization_request_endpoint"] = s.issuer + parPath
		m["require_pushed_authorization_requests"] = s.par.required
	})
}
