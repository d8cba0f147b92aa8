package op

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// handleLogin serves the login form. GET shows it, or completes the request
// at once when the browser has a session that satisfies prompt and max_age;
// POST checks the credentials, starts a session and returns to the library's
// authorize callback.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		s.loginGet(w, r)
	case http.MethodPost:
		s.loginPost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) loginGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.store.authRequestCopy(r.URL.Query().Get("authRequestID"))
	if !ok {
		s.renderPage(w, http.StatusBadRequest, "Login request not found",
			"This login request is unknown or has expired. Start again from the application.")
		return
	}
	if sess, ok := s.sessionFromCookie(r); ok && sessionSatisfies(a, sess, time.Now()) {
		s.complete(w, r, a.id, sess)
		return
	}
	if slices.Contains(a.prompt, oidc.PromptNone) {
		_ = s.store.DeleteAuthRequest(r.Context(), a.id)
		zop.AuthRequestError(w, r, a, oidc.ErrLoginRequired(), s.provider)
		return
	}
	s.renderLogin(w, http.StatusOK, a, a.loginHint, "")
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	a, ok := s.store.authRequestCopy(r.PostForm.Get("authRequestID"))
	if !ok {
		s.renderPage(w, http.StatusBadRequest, "Login request not found",
			"This login request is unknown or has expired. Start again from the application.")
		return
	}
	username := r.PostForm.Get("username")
	u, ok := s.store.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		s.renderLogin(w, http.StatusUnauthorized, a, username, "Invalid username or password.")
		return
	}
	sess := s.store.newSession(u.ID)
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName, Value: sess.id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	s.complete(w, r, a.id, sess)
}

// complete marks the auth request done and sends the browser to the
// library's callback, which redirects to the client with the code.
func (s *Server) complete(w http.ResponseWriter, r *http.Request, id string, sess loginSession) {
	if err := s.store.completeAuthRequest(id, sess); err != nil {
		s.renderPage(w, http.StatusBadRequest, "Login request not found", "This login request has expired.")
		return
	}
	callback := s.provider.AuthorizationEndpoint().Relative() + "/callback?id=" + url.QueryEscape(id)
	http.Redirect(w, r, callback, http.StatusFound)
}

func (s *Server) sessionFromCookie(r *http.Request) (loginSession, bool) {
	c, err := r.Cookie(s.cookieName)
	if err != nil {
		return loginSession{}, false
	}
	return s.store.session(c.Value)
}

// sessionSatisfies reports whether an existing session may answer the
// request without showing the form.
func sessionSatisfies(a *authRequest, sess loginSession, now time.Time) bool {
	if slices.Contains(a.prompt, oidc.PromptLogin) {
		return false
	}
	if a.maxAge != nil && now.Sub(sess.authTime) > time.Duration(*a.maxAge)*time.Second {
		return false
	}
	return a.hintSubject == "" || a.hintSubject == sess.userID
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, a *authRequest, username, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "login", map[string]any{
		"ID": a.id, "Client": a.clientID, "Username": username, "Error": errMsg,
		"Hint": s.store.users[0].Username == DemoUsername,
	})
}

func (s *Server) renderPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "page", map[string]any{"Title": title, "Text": text})
}

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pages.ExecuteTemplate(w, "index", map[string]any{"Issuer": s.issuer, "E": s.Endpoints()})
}

func (s *Server) serveLoggedOut(w http.ResponseWriter, _ *http.Request) {
	s.renderPage(w, http.StatusOK, "Signed out", "You are signed out of the test provider.")
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.}} · test OpenID Provider</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0} label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #c3c7cf;border-radius:4px}
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#2557d6;color:#fff;border:0;border-radius:4px;cursor:pointer}
.err{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:4px} .muted{color:#667085;font-size:.9rem}
code{background:#eef0f3;padding:0 .2rem;border-radius:3px}
</style></head><body><main>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "login"}}{{template "head" "Sign in"}}
<h1>Sign in</h1>
<p class="muted">to continue to <code>{{.Client}}</code></p>
{{if .Error}}<p class="err" id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}" autofocus required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="submit" type="submit">Sign in</button>
</form>
{{if .Hint}}<p class="muted">Test user: <code>demo</code> / <code>demo</code></p>{{end}}
{{template "foot"}}{{end}}

{{define "page"}}{{template "head" .Title}}<h1>{{.Title}}</h1><p>{{.Text}}</p>{{template "foot"}}{{end}}

{{define "index"}}{{template "head" "Provider"}}
<h1>Test OpenID Provider</h1>
<p>Issuer <code>{{.Issuer}}</code></p>
<ul>
<li><a href="{{.E.Discovery}}">Discovery document</a></li>
<li><a href="{{.E.JWKS}}">JWKS</a></li>
</ul>
{{template "foot"}}{{end}}
`))
