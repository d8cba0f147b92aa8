package oidc

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func header(r Request, name string) (string, int) {
	v, n := "", 0
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			v, n = h[1], n+1
		}
	}
	return v, n
}

// decodeBasic undoes RFC 6749 2.3.1 the way a conforming server does.
func decodeBasic(t *testing.T, authz string) (id, secret string) {
	t.Helper()
	raw, ok := strings.CutPrefix(authz, "Basic ")
	if !ok {
		t.Fatalf("not Basic: %q", authz)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	encID, encSecret, ok := strings.Cut(string(b), ":")
	if !ok {
		t.Fatal("no colon")
	}
	if id, err = url.QueryUnescape(encID); err != nil {
		t.Fatal(err)
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		t.Fatal(err)
	}
	return id, secret
}

func TestClientSecretBasicEncoding(t *testing.T) {
	tests := []struct {
		name, id, secret string
		wantHeader       string
	}{
		{"plain", "client", "secret", "Basic " + base64.StdEncoding.EncodeToString([]byte("client:secret"))},
		{"colon in id and secret", "urn:app:1", "a:b", "Basic " + base64.StdEncoding.EncodeToString([]byte("urn%3Aapp%3A1:a%3Ab"))},
		{"percent", "app", "100%sure", "Basic " + base64.StdEncoding.EncodeToString([]byte("app:100%25sure"))},
		{"spaces and plus", "my app", "a b+c", "Basic " + base64.StdEncoding.EncodeToString([]byte("my+app:a+b%2Bc"))},
		{"entra-style secret", "0b5c1a4e", "Xy8Q~a.b_c-D~e/F=", "Basic " + base64.StdEncoding.EncodeToString([]byte("0b5c1a4e:Xy8Q~a.b_c-D~e%2FF%3D"))},
		{"utf-8", "app", "pässwörd", "Basic " + base64.StdEncoding.EncodeToString([]byte("app:p%C3%A4ssw%C3%B6rd"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := CodeExchange("https://op/token", Client{ID: tt.id, Secret: tt.secret, AuthMethod: AuthClientSecretBasic}, "c", "v", "https://app/cb")
			got, n := header(r, "authorization")
			if n != 1 || got != tt.wantHeader {
				t.Fatalf("authorization = %q (%d), want %q", got, n, tt.wantHeader)
			}
			if id, secret := decodeBasic(t, got); id != tt.id || secret != tt.secret {
				t.Fatalf("decoded %q %q", id, secret)
			}
			if strings.Contains(string(r.Body), "client_secret") || strings.Contains(string(r.Body), "client_id") {
				t.Fatalf("credentials in body with basic: %s", r.Body)
			}
		})
	}
}

func TestTokenRequests(t *testing.T) {
	post := Client{ID: "cid", Secret: "s e:c%", AuthMethod: AuthClientSecretPost}
	basic := Client{ID: "cid", Secret: "sec"}
	public := Client{ID: "cid"}
	tests := []struct {
		name     string
		req      Request
		wantBody string
		wantAuth bool
	}{
		{"code exchange post", CodeExchange("https://op/token", post, "co/de+1", "verif", "https://app/cb?x=1"),
			"grant_type=authorization_code&code=co%2Fde%2B1&redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fx%3D1&code_verifier=verif&client_id=cid&client_secret=s+e%3Ac%25", false},
		{"code exchange default basic", CodeExchange("https://op/token", basic, "c", "v", "https://app/cb"),
			"grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fapp%2Fcb&code_verifier=v", true},
		{"code exchange public", CodeExchange("https://op/token", public, "c", "v", "https://app/cb"),
			"grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fapp%2Fcb&code_verifier=v&client_id=cid", false},
		{"refresh", Refresh("https://op/token", basic, "rt/1=", nil),
			"grant_type=refresh_token&refresh_token=rt%2F1%3D", true},
		{"refresh with scopes", Refresh("https://op/token", post, "rt", []string{"openid", "api://x/read", "bad scope"}),
			"grant_type=refresh_token&refresh_token=rt&scope=openid+api%3A%2F%2Fx%2Fread&client_id=cid&client_secret=s+e%3Ac%25", false},
		{"token exchange defaults", TokenExchange("https://op/token", basic, "sub.tok", Exchange{Audience: "db"}),
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=sub.tok" +
				"&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=db", true},
		{"token exchange full", TokenExchange("https://op/token", post, "st", Exchange{
			Audience: "a", Resource: "https://api/", Scope: "read write", SubjectTokenType: TokenTypeIDToken,
			RequestedTokenType: TokenTypeAccessToken, ActorToken: "act"}),
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=st" +
				"&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token" +
				"&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=a" +
				"&resource=https%3A%2F%2Fapi%2F&scope=read+write&actor_token=act" +
				"&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&client_id=cid&client_secret=s+e%3Ac%25", false},
		{"entra obo", EntraOBO("https://login/token", post, "eyJ.x.y", "https://database.windows.net/.default"),
			"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJ.x.y" +
				"&scope=https%3A%2F%2Fdatabase.windows.net%2F.default&requested_token_use=on_behalf_of&client_id=cid&client_secret=s+e%3Ac%25", false},
		{"revoke with hint", Revoke("https://op/revoke", basic, "rt", "refresh_token"), "token=rt&token_type_hint=refresh_token", true},
		{"revoke without hint", Revoke("https://op/revoke", public, "at", ""), "token=at&client_id=cid", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			if r.Method != "POST" || !strings.HasPrefix(r.URL, "https://") {
				t.Fatalf("method %q url %q", r.Method, r.URL)
			}
			if string(r.Body) != tt.wantBody {
				t.Fatalf("body\n got %s\nwant %s", r.Body, tt.wantBody)
			}
			if ct, n := header(r, "content-type"); n != 1 || ct != "application/x-www-form-urlencoded" {
				t.Fatalf("content-type %q", ct)
			}
			if a, n := header(r, "accept"); n != 1 || a != "application/json" {
				t.Fatalf("accept %q", a)
			}
			if _, n := header(r, "authorization"); (n == 1) != tt.wantAuth || n > 1 {
				t.Fatalf("authorization headers: %d", n)
			}
			if _, err := url.ParseQuery(string(r.Body)); err != nil {
				t.Fatalf("body does not parse: %v", err)
			}
		})
	}
}

func TestUserinfoRequest(t *testing.T) {
	tests := []struct {
		name, endpoint, token string
	}{
		{"plain", "https://graph.microsoft.com/oidc/userinfo", "at.1"},
		{"opaque token", "https://op/userinfo?x=1", "ya29.a0Af"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Userinfo(tt.endpoint, tt.token)
			if r.Method != "GET" || r.URL != tt.endpoint || r.Body != nil {
				t.Fatalf("%+v", r)
			}
			if a, n := header(r, "authorization"); n != 1 || a != "Bearer "+tt.token {
				t.Fatalf("authorization %q", a)
			}
		})
	}
}
