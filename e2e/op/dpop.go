package op

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DPoP (RFC 9449) at the token and PAR endpoints, with Config.DPoP: a request with a DPoP
// header has its proof checked (typ dpop+jwt, an allowed asymmetric alg, a public jwk that
// verifies it, htm, htu, iat within dpopIATWindow, jti used once, nonce when required) and
// its tokens bound to the proof's key: the access token (a JWT) gets cnf.jkt, the answer
// token_type DPoP, and the refresh token is redeemed only with a proof by the same key. A
// push with a proof, or an authorization request or push with dpop_jkt, binds its
// authorization code to the key (RFC 9449 10, 10.1; the login is recognised at the token
// endpoint by its PKCE challenge). A request without a proof gets
// unbound tokens, except that a bound refresh token or code is refused without one. Proofs go through go-jose, independent of the plugin's own JOSE code.

// dpopIATWindow is how far a proof's iat may be from the provider's clock.
const dpopIATWindow = 60 * time.Second

var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.PS256, jose.EdDSA}

type dpopState struct {
	mu           sync.Mutex
	requireNonce bool
	nonce        string
	challenges   int // the next proofs answered use_dpop_nonce whatever they carry
	replays      int // the next proofs treated as replays
	jtis         map[string]time.Time
	refreshJKT   map[string]string // refresh token -> the thumbprint it is bound to
	pushedJKT    map[string]string // PKCE code_challenge of a login -> the thumbprint its code is bound to
	proofs       []DPoPProof
}

// DPoPProof is a proof the provider accepted, for tests that replay one.
type DPoPProof struct {
	Raw      string
	Endpoint Endpoint // EndpointToken or EndpointPAR
	JKT      string   // the RFC 7638 thumbprint of its key
	Nonce    string
}

func newDPoPState(requireNonce bool) *dpopState {
	return &dpopState{requireNonce: requireNonce, nonce: randomString(16), jtis: map[string]time.Time{}, refreshJKT: map[string]string{}, pushedJKT: map[string]string{}}
}

// dpopGrant travels in a token request's context: the proof's thumbprint, and the refresh
// token the storage issued, which is then bound to it.
type dpopGrant struct {
	jkt     string
	refresh string
}

type dpopGrantKey struct{}

func dpopGrantFrom(ctx context.Context) *dpopGrant {
	g, _ := ctx.Value(dpopGrantKey{}).(*dpopGrant)
	return g
}

// withCnf adds cnf.jkt to the claims of an access token issued for a request with a proof.
func withCnf(ctx context.Context, claims map[string]any) map[string]any {
	g := dpopGrantFrom(ctx)
	if g == nil {
		return claims
	}
	if claims == nil {
		claims = map[string]any{}
	}
	claims["cnf"] = map[string]any{"jkt": g.jkt}
	return claims
}

// issuedRefresh tells a request's grant which refresh token was issued to it.
func issuedRefresh(ctx context.Context, token string) {
	if g := dpopGrantFrom(ctx); g != nil {
		g.refresh = token
	}
}

// SetDPoPNonceRequired turns the nonce requirement on or off (Config.DPoPNonce).
func (s *Server) SetDPoPNonceRequired(on bool) {
	if d := s.dpop; d != nil {
		d.mu.Lock()
		d.requireNonce = on
		d.mu.Unlock()
	}
}

// InjectDPoPNonceChallenge makes the next n proofs be answered with use_dpop_nonce and a
// new nonce, whatever nonce they carry: a provider rotating its nonce under the client.
func (s *Server) InjectDPoPNonceChallenge(n int) {
	if d := s.dpop; d != nil {
		d.mu.Lock()
		d.challenges = n
		d.mu.Unlock()
	}
}

// InjectDPoPReplay makes the next n proofs be refused as replays (invalid_dpop_proof), as
// if their jti had been seen before.
func (s *Server) InjectDPoPReplay(n int) {
	if d := s.dpop; d != nil {
		d.mu.Lock()
		d.replays = n
		d.mu.Unlock()
	}
}

// DPoPProofs returns the proofs the provider accepted, oldest first.
func (s *Server) DPoPProofs() []DPoPProof {
	if s.dpop == nil {
		return nil
	}
	s.dpop.mu.Lock()
	defer s.dpop.mu.Unlock()
	return append([]DPoPProof(nil), s.dpop.proofs...)
}

// DPoPNonce is the provider's current nonce.
func (s *Server) DPoPNonce() string {
	if s.dpop == nil {
		return ""
	}
	s.dpop.mu.Lock()
	defer s.dpop.mu.Unlock()
	return s.dpop.nonce
}

// serveDPoP checks the proof of a token or PAR endpoint request and serves it with next,
// its tokens bound to the proof's key; a bad proof is answered here.
func (s *Server) serveDPoP(w http.ResponseWriter, r *http.Request, e Endpoint, next func(http.ResponseWriter, *http.Request)) {
	d := s.dpop
	_ = r.ParseForm()
	// boundTo is the key the grant is bound to: a refresh token's, or a pushed login's code.
	d.mu.Lock()
	boundTo, what := "", ""
	switch {
	case e == EndpointToken && r.PostForm.Get("grant_type") == "refresh_token":
		boundTo, what = d.refreshJKT[r.PostForm.Get("refresh_token")], "refresh token"
	case e == EndpointToken && r.PostForm.Get("grant_type") == "authorization_code":
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		boundTo, what = d.pushedJKT[base64.RawURLEncoding.EncodeToString(sum[:])], "authorization code"
	}
	d.mu.Unlock()
	proofs := r.Header.Values("DPoP")
	if len(proofs) == 0 {
		if e == EndpointPAR {
			d.bindCode(r.PostForm, "")
		}
		if boundTo != "" {
			dpopError(w, "invalid_dpop_proof", "the "+what+" is bound to a DPoP key: a proof is required", "")
			return
		}
		next(w, r)
		return
	}
	if len(proofs) > 1 {
		dpopError(w, "invalid_dpop_proof", "more than one DPoP header", "")
		return
	}
	htu := s.issuer + r.URL.Path
	jkt, nonce, code, desc := d.check(proofs[0], r.Method, htu, "", time.Now())
	if code != "" {
		dpopError(w, code, desc, nonce)
		return
	}
	d.mu.Lock()
	d.proofs = append(d.proofs, DPoPProof{Raw: proofs[0], Endpoint: e, JKT: jkt, Nonce: nonce})
	d.mu.Unlock()
	if e == EndpointPAR && !d.bindCode(r.PostForm, jkt) {
		dpopError(w, "invalid_dpop_proof", "dpop_jkt is not the thumbprint of the proof's key", nonce)
		return
	}
	if boundTo != "" && boundTo != jkt {
		dpopError(w, "invalid_dpop_proof", "the "+what+" is bound to another DPoP key", nonce)
		return
	}
	g := &dpopGrant{jkt: jkt}
	r = r.WithContext(context.WithValue(r.Context(), dpopGrantKey{}, g))
	rec := httptest.NewRecorder()
	next(rec, r)
	body := rec.Body.Bytes()
	var m map[string]any
	if rec.Code == http.StatusOK && json.Unmarshal(body, &m) == nil {
		if tt, _ := m["token_type"].(string); strings.EqualFold(tt, "Bearer") {
			m["token_type"] = "DPoP"
			body, _ = json.Marshal(m)
		}
	}
	if g.refresh != "" && rec.Code == http.StatusOK {
		d.mu.Lock()
		d.refreshJKT[g.refresh] = jkt
		d.mu.Unlock()
	}
	maps.Copy(w.Header(), rec.Header())
	if nonce != "" {
		w.Header().Set("DPoP-Nonce", nonce)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// bindCode binds the code of the login with params (an authorization request's or a push's)
// to a key, found again at the code exchange by the login's PKCE challenge: the key named
// by dpop_jkt (RFC 9449 10), else the push's proof key (proofJKT, RFC 9449 10.1). Both
// must agree; it reports false when they do not.
func (d *dpopState) bindCode(params url.Values, proofJKT string) bool {
	jkt := params.Get("dpop_jkt")
	if jkt != "" && proofJKT != "" && jkt != proofJKT {
		return false
	}
	if jkt == "" {
		jkt = proofJKT
	}
	if ch := params.Get("code_challenge"); ch != "" && jkt != "" {
		d.mu.Lock()
		d.pushedJKT[ch] = jkt
		d.mu.Unlock()
	}
	return true
}

// check verifies one proof. It returns the key's thumbprint and the nonce to send back, or
// an error code (invalid_dpop_proof, use_dpop_nonce) and description. ath is the access
// token's hash the proof must carry, "" at the token and PAR endpoints, where the nonce
// rules (and challenges) apply: the provider's resource (userinfo) demands no nonce.
func (d *dpopState) check(raw, method, htu, ath string, now time.Time) (jkt, nonce, code, desc string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	asNonce := ath == ""
	if asNonce && (d.requireNonce || d.challenges > 0) {
		nonce = d.nonce
	}
	bad := func(format string) (string, string, string, string) {
		return "", nonce, "invalid_dpop_proof", format
	}
	jws, err := jose.ParseSignedCompact(raw, dpopAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return bad("the proof is not a JWS with an allowed alg")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders["typ"].(string); typ != "dpop+jwt" {
		return bad("typ is not dpop+jwt")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return bad("no public jwk in the header")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return bad("the signature does not verify with the header's jwk")
	}
	var c struct {
		JTI   string      `json:"jti"`
		HTM   string      `json:"htm"`
		HTU   string      `json:"htu"`
		IAT   json.Number `json:"iat"`
		Nonce *string     `json:"nonce"`
		ATH   *string     `json:"ath"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("the claims are not a JSON object")
	}
	iat, err := c.IAT.Int64()
	switch {
	case c.JTI == "":
		return bad("no jti")
	case c.HTM != method:
		return bad("htm is not the request's method")
	case !sameHTU(c.HTU, htu):
		return bad("htu is not the endpoint's URL")
	case err != nil:
		return bad("iat is not an integer")
	case now.Sub(time.Unix(iat, 0)).Abs() > dpopIATWindow:
		return bad("iat is outside the accepted window")
	case ath == "" && c.ATH != nil:
		return bad("ath on a request without an access token")
	case ath != "" && (c.ATH == nil || *c.ATH != ath):
		return bad("ath is not the access token's hash")
	}
	if _, seen := d.jtis[c.JTI]; seen || d.replays > 0 {
		if d.replays > 0 {
			d.replays--
		}
		return bad("the proof was used before (jti)")
	}
	for j, exp := range d.jtis {
		if now.After(exp) {
			delete(d.jtis, j)
		}
	}
	d.jtis[c.JTI] = now.Add(2 * dpopIATWindow)
	if asNonce && d.challenges > 0 {
		d.challenges--
		d.nonce = randomString(16)
		return "", d.nonce, "use_dpop_nonce", "a new DPoP nonce is required (injected)"
	}
	if asNonce && d.requireNonce && (c.Nonce == nil || *c.Nonce != d.nonce) {
		return "", d.nonce, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof"
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("no thumbprint for the jwk")
	}
	return base64.RawURLEncoding.EncodeToString(tp), nonce, "", ""
}

// sameHTU compares a proof's htu with the endpoint URL, ignoring query and fragment and the
// case of scheme and host (RFC 9449 4.3, 9 of the checks).
func sameHTU(got, want string) bool {
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	return err1 == nil && err2 == nil && strings.EqualFold(g.Scheme, w.Scheme) && strings.EqualFold(g.Host, w.Host) && g.Path == w.Path
}

func dpopError(w http.ResponseWriter, code, desc, nonce string) {
	if nonce != "" {
		w.Header().Set("DPoP-Nonce", nonce)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	_, _ = w.Write(b)
}

// serveUserinfoDPoP serves the userinfo endpoint for a DPoP-bound access token (RFC 9449 7):
// "Authorization: DPoP <token>" with a proof by the key of the token's cnf.jkt, whose ath is
// the token's hash. A bound token sent as Bearer is refused; an unbound Bearer token is
// served as before. The library checks the token itself.
func (s *Server) serveUserinfoDPoP(w http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	jkt := tokenJKT(token)
	switch {
	case strings.EqualFold(scheme, "Bearer") && jkt != "":
		resourceError(w, "invalid_token", "a DPoP-bound token sent as Bearer")
		return
	case strings.EqualFold(scheme, "DPoP"):
		proofs := r.Header.Values("DPoP")
		if len(proofs) != 1 || jkt == "" {
			resourceError(w, "invalid_dpop_proof", "one DPoP proof and a bound token are required")
			return
		}
		sum := sha256.Sum256([]byte(token))
		got, _, code, desc := s.dpop.check(proofs[0], r.Method, s.issuer+r.URL.Path, base64.RawURLEncoding.EncodeToString(sum[:]), time.Now())
		if code == "" && got != jkt {
			code, desc = "invalid_dpop_proof", "the proof's key is not the token's cnf.jkt"
		}
		if code != "" {
			resourceError(w, "invalid_dpop_proof", desc)
			return
		}
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Del("DPoP")
	}
	s.provider.ServeHTTP(w, r)
}

// tokenJKT is the cnf.jkt of a JWT access token, read without verification (the library
// verifies the token after), or "".
func tokenJKT(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Cnf.JKT
}

func resourceError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("WWW-Authenticate", `DPoP error="`+code+`", algs="ES256 ES384 ES512 RS256 PS256 EdDSA"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	_, _ = w.Write(b)
}
