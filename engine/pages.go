package engine

import (
	"html"
	"strconv"
	"strings"
)

const pageStyle = "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}code{background:#eee;padding:.1em .3em}</style>"

// ErrorJSON is the body of an error answered to an API client:
// {"error":code,"error_description":msg,"correlation_id":corr}.
func ErrorJSON(code, msg, corr string) []byte {
	var b strings.Builder
	b.WriteString(`{"error":`)
	b.WriteString(JSONString(code))
	b.WriteString(`,"error_description":`)
	b.WriteString(JSONString(msg))
	b.WriteString(`,"correlation_id":`)
	b.WriteString(JSONString(corr))
	b.WriteString("}")
	return []byte(b.String())
}

// ErrorPage is the HTML page of an error answered to a browser: the status, the message and
// the correlation id; for 400, 401 and 403 a link to signIn.
func ErrorPage(status int, msg, corr, signIn string) []byte {
	title := strconv.Itoa(status) + " " + StatusText(status)
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</title>" + pageStyle + "</head><body><h1>")
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

// RetryPage is the 503 page that reloads itself after seconds.
func RetryPage(msg, corr string, seconds int) []byte {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="`)
	b.WriteString(strconv.Itoa(seconds))
	b.WriteString(`"><title>503 Service Unavailable</title>` + pageStyle + `</head><body><h1>One moment</h1><p>`)
	b.WriteString(html.EscapeString(msg))
	b.WriteString("</p><p>Correlation id: <code>")
	b.WriteString(html.EscapeString(corr))
	b.WriteString("</code></p></body></html>")
	return []byte(b.String())
}

// SignedOutPage is the page of {prefix}/signed_out, with a link to signIn.
func SignedOutPage(signIn string) []byte {
	return []byte("<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed out</title>" + pageStyle + "</head><body>" +
		"<h1 id=\"signed-out\">You are signed out</h1><p>You can close this page.</p><p><a id=\"sign-in-again\" href=\"" +
		html.EscapeString(signIn) + "\">Sign in again</a></p></body></html>")
}

// SignOutConfirmPage asks the user to confirm a sign-out that another site started: a
// same-origin POST form to action ({prefix}/sign_out).
func SignOutConfirmPage(action string) []byte {
	return []byte("<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign out?</title>" + pageStyle + "</head><body>" +
		"<h1>Sign out?</h1><p>Another site asked to sign you out of this one. If you want to sign out, confirm here.</p>" +
		"<form id=\"sign-out\" method=\"post\" action=\"" + html.EscapeString(action) + "\"><button type=\"submit\">Sign out</button></form>" +
		"</body></html>")
}

// StatusText is the reason phrase of the statuses the plugin answers with, "Error" for others.
func StatusText(s int) string {
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
	case 408:
		return "Request Timeout"
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

// JSONString quotes s as a JSON string, with <, > and & escaped too (safe inside HTML).
func JSONString(s string) string {
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
