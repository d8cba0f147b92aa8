package filter

import (
	"encoding/hex"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// failure is a request the filter answers itself with an error. It is the one shape every
// error on the request path is turned into; respond renders it.
type failure struct {
	status     int
	code       string // stable machine code, e.g. "invalid_state"; also the JSON "error"
	msg        string // what the user is told; never holds a token or provider raw text
	reason     string // login failure reason for metrics, when this ends a login
	err        error  // logged with the correlation id; never holds a token
	retryAfter int    // seconds, for 429 and 503
}

// respond sends f as a local response: JSON for API clients, a small HTML page for browsers.
// It logs one line with the correlation id shown to the user.
func (h *httpContext) respond(f failure) types.Action {
	corr := h.correlationID()
	if f.reason != "" {
		h.p.metrics.loginFail(f.reason)
	}
	var detail []any
	if f.err != nil {
		detail = []any{"err", f.err}
	}
	if f.reason != "" {
		// A login that ends here is a security event: one audit line.
		auditWarn("login_failed", append([]any{"reason", f.reason, "code", f.code, "status", f.status, "corr", corr,
			"method", h.req.method, "path", h.req.pathOnly}, detail...)...)
	} else {
		logAt(levelWarn, f.code, append([]any{"status", f.status, "corr", corr, "method", h.req.method, "path", h.req.pathOnly}, detail...)...)
	}
	headers := [][2]string{
		{"cache-control", "no-store"},
		{"x-correlation-id", corr},
	}
	if f.retryAfter > 0 {
		headers = append(headers, [2]string{"retry-after", strconv.Itoa(f.retryAfter)})
	}
	if f.status == 401 {
		headers = append(headers, [2]string{"www-authenticate", `Bearer realm="oidc-proxy"`})
	}
	headers = append(headers, h.setCookies...)
	var body []byte
	if h.isAPI() {
		headers = append(headers, [2]string{"content-type", "application/json"})
		body = jsonError(f.code, f.msg, corr)
	} else {
		headers = append(headers, [2]string{"content-type", "text/html; charset=utf-8"})
		body = htmlPage(f.status, f.msg, corr, h.p.cfg.SignInPath())
	}
	return h.sendLocal(f.status, headers, body)
}

// redirect answers with a 302 to location, with any cookies the request has set.
func (h *httpContext) redirect(location string) types.Action {
	headers := make([][2]string, 0, 3+len(h.setCookies))
	headers = append(headers, [2]string{"location", location}, [2]string{"cache-control", "no-store"})
	headers = append(headers, h.setCookies...)
	return h.sendLocal(302, headers, nil)
}

// sendJSON answers 200 with a JSON body that must not be cached.
func (h *httpContext) sendJSON(body []byte) types.Action {
	headers := [][2]string{
		{"content-type", "application/json"},
		{"cache-control", "no-store"},
		{"pragma", "no-cache"},
	}
	headers = append(headers, h.setCookies...)
	return h.sendLocal(200, headers, body)
}

// sendLocal sends a local response. The cookies queued so far go with it and are then
// dropped: like Envoy, the host runs a local reply through this filter's response callbacks,
// which must not add them a second time.
func (h *httpContext) sendLocal(status int, headers [][2]string, body []byte) types.Action {
	h.setCookies = nil
	if err := proxywasm.SendHttpResponse(uint32(status), headers, body, -1); err != nil {
		logAt(levelError, "sending a local response failed", "status", status, "corr", h.correlationID(), "err", err)
	}
	return types.ActionPause
}

// correlationID is the request's x-request-id when it is a sane token (Envoy sets one), else
// a random id; it is fixed for the request once chosen.
func (h *httpContext) correlationID() string {
	if h.corr != "" {
		return h.corr
	}
	if id := h.req.requestID; id != "" && len(id) <= 64 && isToken(id) {
		h.corr = id
		return id
	}
	var b [8]byte
	if _, err := io.ReadFull(h.p.rand, b[:]); err != nil {
		h.corr = "unknown"
		return h.corr
	}
	h.corr = hex.EncodeToString(b[:])
	return h.corr
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func jsonError(code, msg, corr string) []byte {
	var b strings.Builder
	b.WriteString(`{"error":`)
	b.WriteString(jsonString(code))
	b.WriteString(`,"error_description":`)
	b.WriteString(jsonString(msg))
	b.WriteString(`,"correlation_id":`)
	b.WriteString(jsonString(corr))
	b.WriteString("}")
	return []byte(b.String())
}

func htmlPage(status int, msg, corr, signIn string) []byte {
	title := strconv.Itoa(status) + " " + statusText(status)
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</title><style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}code{background:#eee;padding:.1em .3em}</style></head><body><h1>")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</h1><p>")
	b.WriteString(html.EscapeString(msg))
	b.WriteString("</p><p>Correlation id: <code>")
	b.WriteString(html.EscapeString(corr))
	b.WriteString("</code></p>")
	if status == 400 || status == 401 || status == 403 {
		b.WriteString(`<p><a href="`)
		b.WriteString(html.EscapeString(signIn))
		b.WriteString(`">Sign in again</a></p>`)
	}
	b.WriteString("</body></html>")
	return []byte(b.String())
}

// signedOutPage is the page of {prefix}/signed_out.
func signedOutPage(signIn string) []byte {
	return []byte("<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed out</title>" +
		"<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}</style></head><body>" +
		"<h1 id=\"signed-out\">You are signed out</h1><p>You can close this page.</p><p><a id=\"sign-in-again\" href=\"" + html.EscapeString(signIn) + "\">Sign in again</a></p></body></html>")
}

func statusText(s int) string {
	switch s {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return "Error"
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x2028 || r == 0x2029 || r == '<' || r == '>' || r == '&':
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)))
			b.WriteString(h)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
