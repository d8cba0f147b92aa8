package oidc

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPushAuthorization(t *testing.T) {
	p := AuthParams{ClientID: "app", RedirectURI: "https://app.example.com/cb", State: "st", Nonce: "n",
		CodeChallenge: "ch", MaxAge: time.Hour, Extra: map[string]string{"login_hint": "a@b"}}
	tests := []struct {
		name       string
		client     Client
		wantAuthz  bool
		wantSecret bool
	}{
		{"basic", Client{ID: "app", Secret: "s:%"}, true, false},
		{"post", Client{ID: "app", Secret: "s", AuthMethod: AuthClientSecretPost}, false, true},
		{"public", Client{ID: "app", AuthMethod: AuthNone}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := PushAuthorization("https://op.example.com/par", tt.client, p)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "POST" || req.URL != "https://op.example.com/par" {
				t.Fatalf("request %s %s", req.Method, req.URL)
			}
			form, err := url.ParseQuery(string(req.Body))
			if err != nil {
				t.Fatal(err)
			}
			if got := form["client_id"]; len(got) != 1 || got[0] != "app" {
				t.Errorf("client_id %q, want exactly one", got)
			}
			for k, want := range map[string]string{"response_type": "code", "redirect_uri": p.RedirectURI, "scope": "openid",
				"state": "st", "nonce": "n", "code_challenge": "ch", "code_challenge_method": "S256", "max_age": "3600", "login_hint": "a@b"} {
				if form.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, form.Get(k), want)
				}
			}
			if (form.Get("client_secret") != "") != tt.wantSecret {
				t.Errorf("client_secret in body: %v", form.Get("client_secret") != "")
			}
			hasAuthz := false
			for _, h := range req.Headers {
				hasAuthz = hasAuthz || h[0] == "authorization"
			}
			if hasAuthz != tt.wantAuthz {
				t.Errorf("authorization header: %v", hasAuthz)
			}
		})
	}
	if _, err := PushAuthorization("https://op.example.com/par", Client{ID: "app"}, AuthParams{ClientID: "app"}); !errors.Is(err, ErrMissingParam) {
		t.Errorf("incomplete params: %v", err)
	}
	if _, err := PushAuthorization("ftp://op.example.com/par", Client{ID: "app"}, p); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("bad endpoint: %v", err)
	}
}

func TestPushRequestObject(t *testing.T) {
	req, err := PushRequestObject("https://op.example.com/par", Client{ID: "app", Secret: "s", AuthMethod: AuthClientSecretPost}, "a.b.c")
	if err != nil {
		t.Fatal(err)
	}
	if string(req.Body) != "client_id=app&request=a.b.c&client_secret=s" {
		t.Errorf("body %q", req.Body)
	}
	if _, err := PushRequestObject("https://op.example.com/par", Client{ID: "app"}, ""); !errors.Is(err, ErrMissingParam) {
		t.Errorf("empty request object: %v", err)
	}
}

func TestPushedAuthorizeURL(t *testing.T) {
	got, err := PushedAuthorizeURL("https://op.example.com/auth?tenant=x&client_id=evil", "app one", "urn:ietf:params:oauth:request_uri:abc")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://op.example.com/auth?tenant=x&client_id=app+one&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if _, err := PushedAuthorizeURL("https://op.example.com/auth", "app", ""); !errors.Is(err, ErrMissingParam) {
		t.Errorf("no request_uri: %v", err)
	}
}

func TestParsePushResponse(t *testing.T) {
	const uri = "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c"
	tests := []struct {
		name   string
		status int
		ct     string
		body   string
		want   error // nil: success
	}{
		{"created", 201, "application/json", `{"request_uri":"` + uri + `","expires_in":60}`, nil},
		{"ok 200", 200, "application/json; charset=utf-8", `{"request_uri":"` + uri + `","expires_in":"60"}`, nil},
		{"error body", 400, "application/json", `{"error":"invalid_request","error_description":"bad redirect_uri"}`, ErrTokenEndpoint},
		{"unauthorized client", 401, "application/json", `{"error":"invalid_client"}`, ErrTokenEndpoint},
		{"html error", 502, "text/html", `<html>bad gateway</html>`, ErrHTTPStatus},
		{"json 500 without error", 500, "application/json", `{}`, ErrHTTPStatus},
		{"not json", 201, "application/json", `request_uri=x`, ErrNotJSON},
		{"html content type", 201, "text/html", `{"request_uri":"x","expires_in":60}`, ErrNotJSON},
		{"missing request_uri", 201, "application/json", `{"expires_in":60}`, ErrMissingParam},
		{"empty request_uri", 201, "application/json", `{"request_uri":"","expires_in":60}`, ErrMissingParam},
		{"request_uri not a string", 201, "application/json", `{"request_uri":5,"expires_in":60}`, ErrMalformed},
		{"request_uri with newline", 201, "application/json", `{"request_uri":"a\nb","expires_in":60}`, ErrMalformed},
		{"request_uri too long", 201, "application/json", `{"request_uri":"` + strings.Repeat("a", 1025) + `","expires_in":60}`, ErrMalformed},
		{"missing expires_in", 201, "application/json", `{"request_uri":"` + uri + `"}`, ErrMissingParam},
		{"zero expires_in", 201, "application/json", `{"request_uri":"` + uri + `","expires_in":0}`, ErrMalformed},
		{"negative expires_in", 201, "application/json", `{"request_uri":"` + uri + `","expires_in":-5}`, ErrMalformed},
		{"duplicate request_uri", 201, "application/json", `{"request_uri":"a","request_uri":"b","expires_in":60}`, ErrDuplicateParam},
		{"too large", 201, "application/json", `{"request_uri":"` + strings.Repeat("a", 200) + `","expires_in":60}`, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := 4096
			if tt.want == ErrTooLarge {
				limit = 128
			}
			r, err := ParsePushResponse(tt.status, tt.ct, []byte(tt.body), limit)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if r.RequestURI != uri || r.ExpiresIn != 60 {
					t.Fatalf("got %+v", r)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
