package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHTMLPageAndJSONString(t *testing.T) {
	page := string(ErrorPage(429, `Too many <attempts> & "quotes"`, "c-1", "/oauth2/sign_in"))
	for _, want := range []string{"<title>429 Too Many Requests</title>", "Too many &lt;attempts&gt; &amp; &#34;quotes&#34;", "<code>c-1</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q: %s", want, page)
		}
	}
	if strings.Contains(page, "sign_in") {
		t.Errorf("a 429 page links to sign in again (it would loop): %s", page)
	}
	for in, want := range map[string]string{
		`a"b\c`:       `"a\"b\\c"`,
		"<script>&":   `"\u003cscript\u003e\u0026"`,
		"line\nbreak": `"line\u000abreak"`,
		"\u2028":      `"\u2028"`,
		"ünïcödé":     `"ünïcödé"`,
		"":            `""`,
	} {
		got := JSONString(in)
		if got != want {
			t.Errorf("JSONString(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back != in {
			t.Errorf("JSONString(%q) does not round-trip: %v %q", in, err, back)
		}
	}
}

func TestPages(t *testing.T) {
	var m map[string]string
	if err := json.Unmarshal(ErrorJSON("invalid_request", "bad <input>", "c-1"), &m); err != nil ||
		m["error"] != "invalid_request" || m["error_description"] != "bad <input>" || m["correlation_id"] != "c-1" {
		t.Errorf("ErrorJSON: %v %v", m, err)
	}
	if p := string(ErrorPage(401, "m", "c", "/oauth2/sign_in?rd=%2F&x=<y>")); !strings.Contains(p, `href="/oauth2/sign_in?rd=%2F&amp;x=&lt;y&gt;"`) {
		t.Errorf("a 401 page's sign-in link: %s", p)
	}
	if p := string(RetryPage("wait <here>", "c-2", 3)); !strings.Contains(p, `content="3"`) || !strings.Contains(p, "wait &lt;here&gt;") || !strings.Contains(p, "c-2") {
		t.Errorf("RetryPage: %s", p)
	}
	if p := string(SignedOutPage(`/s?a="b"`)); !strings.Contains(p, "You are signed out") || !strings.Contains(p, `href="/s?a=&#34;b&#34;"`) {
		t.Errorf("SignedOutPage: %s", p)
	}
	for code, want := range map[int]string{400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
		405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
		503: "Service Unavailable", 504: "Gateway Timeout", 418: "Error"} {
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}
