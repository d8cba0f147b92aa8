package op

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func oboForm(assertion, scope string) url.Values {
	return url.Values{
		"grant_type":          {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"requested_token_use": {"on_behalf_of"},
		"assertion":           {assertion},
		"scope":               {scope},
	}
}

func TestOBOSuccess(t *testing.T) {
	s := startOP(t, Config{})
	tr := issue(t, s)
	e := s.Endpoints()
	for _, tc := range []struct {
		name, endpoint string
		form           url.Values
		user, pass     string
	}{
		{"entra endpoint, basic", e.EntraToken, oboForm(tr.AccessToken, "api://downstream/.default"), s.ClientID(), s.ClientSecret()},
		{"entra endpoint, post", e.EntraToken, withCreds(oboForm(tr.AccessToken, "api://downstream/.default"), s.ClientID(), s.ClientSecret()), "", ""},
		{"token endpoint", e.Token, oboForm(tr.AccessToken, "api://downstream/.default"), s.ClientID(), s.ClientSecret()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, nil, tc.endpoint, tc.form, tc.user, tc.pass)
			if r.status != http.StatusOK {
				t.Fatalf("OBO: %d %s", r.status, r.body)
			}
			res := r.json(t)
			for _, k := range []string{"token_type", "scope", "expires_in", "ext_expires_in", "access_token"} {
				if _, ok := res[k]; !ok {
					t.Errorf("response lacks %s: %v", k, res)
				}
			}
			if res["token_type"] != "Bearer" || res["scope"] != "api://downstream/.default" || num(res, "expires_in") < 290 {
				t.Errorf("response %v", res)
			}
			if _, ok := res["refresh_token"]; ok {
				t.Error("refresh_token without offline_access")
			}
			c := mustVerify(t, s, res["access_token"].(string))
			if !slices.Equal(audOf(c), []string{"api://downstream"}) || c["sub"] != "demo-user-0001" || c["azp"] != s.ClientID() {
				t.Errorf("OBO token claims %v", c)
			}
			if active, _, _ := s.Introspect(res["access_token"].(string)); !active {
				t.Error("OBO token is not active")
			}
		})
	}
	// offline_access adds a refresh token that redeems for the same audience.
	r := post(t, nil, e.EntraToken, oboForm(tr.AccessToken, "api://downstream/.default offline_access"), s.ClientID(), s.ClientSecret())
	rt, _ := r.json(t)["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh_token with offline_access: %s", r.body)
	}
	next, err := s.Refresh(ctxT(t), rt)
	if err != nil {
		t.Fatal(err)
	}
	if c := mustVerify(t, s, next.AccessToken); !slices.Equal(audOf(c), []string{"api://downstream"}) {
		t.Errorf("refreshed OBO token aud %v", c["aud"])
	}
	if c := s.Counts(); c.OBO != 4 || c.Token != 3 {
		t.Errorf("counts %+v", c)
	}
}

// sign makes a JWT with the given key and kid.
func sign(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOBOErrors(t *testing.T) {
	s := startOP(t, Config{Clients: []Client{{ID: "other", Secret: "other-secret"}}})
	tr := issue(t, s)
	at := mustVerify(t, s, tr.AccessToken)
	cur := s.keys.current()
	now := time.Now()
	claims := func(mod func(*jwt.Claims)) jwt.Claims {
		c := jwt.Claims{
			Issuer: s.Issuer(), Subject: "demo-user-0001", Audience: jwt.Audience{s.ClientID()},
			Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now),
			ID: at["jti"].(string),
		}
		mod(&c)
		return c
	}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	expired := sign(t, cur.private, cur.kid, cur.alg, claims(func(c *jwt.Claims) {
		c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute))
		c.IssuedAt = jwt.NewNumericDate(now.Add(-time.Hour))
	}))
	revokedTr := issue(t, s)
	post(t, nil, s.Endpoints().Revocation, url.Values{"token": {revokedTr.AccessToken}}, s.ClientID(), s.ClientSecret())

	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		errCode    string
		aadsts     string
	}{
		{"expired assertion", oboForm(expired, "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_grant", "AADSTS500133: Assertion is not within its valid time range"},
		{"bad signature", oboForm(sign(t, foreign, cur.kid, cur.alg, claims(func(*jwt.Claims) {})), "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_grant", "AADSTS50013: Assertion failed signature validation"},
		{"unknown kid", oboForm(sign(t, foreign, "nope", cur.alg, claims(func(*jwt.Claims) {})), "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_grant", "AADSTS50013: Assertion failed signature validation. [Reason - The key was not found."},
		{"audience is another client", oboForm(tr.AccessToken, "api://x/.default"), "other", "other-secret", 400, "invalid_grant", "AADSTS50013: Assertion audience does not match"},
		{"foreign issuer", oboForm(sign(t, cur.private, cur.kid, cur.alg, claims(func(c *jwt.Claims) { c.Issuer = "https://evil" })), "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_grant", "AADSTS50013"},
		{"revoked assertion", oboForm(revokedTr.AccessToken, "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_grant", "AADSTS50173"},
		{"malformed", oboForm("abc.def", "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_request", "AADSTS50027"},
		{"wrong secret", oboForm(tr.AccessToken, "api://x/.default"), s.ClientID(), "nope", 401, "invalid_client", "AADSTS7000215"},
		{"unknown client", oboForm(tr.AccessToken, "api://x/.default"), "ghost", "x", 400, "unauthorized_client", "AADSTS700016"},
		{"no assertion", oboForm("", "api://x/.default"), s.ClientID(), s.ClientSecret(), 400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'assertion'."},
		{"no scope", oboForm(tr.AccessToken, ""), s.ClientID(), s.ClientSecret(), 400, "invalid_request", "AADSTS900144"},
		{"wrong grant", url.Values{"grant_type": {"client_credentials"}}, s.ClientID(), s.ClientSecret(), 400, "unsupported_grant_type", "AADSTS70003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, nil, s.Endpoints().EntraToken, tt.form, tt.user, tt.pass)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			res := r.json(t)
			desc, _ := res["error_description"].(string)
			if res["error"] != tt.errCode || !strings.HasPrefix(desc, tt.aadsts) {
				t.Errorf("error %v %q, want %s %q", res["error"], desc, tt.errCode, tt.aadsts)
			}
			codes, _ := res["error_codes"].([]any)
			for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
				if v, _ := res[k].(string); v == "" {
					t.Errorf("%s missing", k)
				}
			}
			if len(codes) != 1 || !strings.Contains(desc, "Trace ID: "+res["trace_id"].(string)) {
				t.Errorf("error_codes %v / description %q", codes, desc)
			}
		})
	}
	// The expired-assertion case, produced the natural way: a short access
	// token lifetime and a wait.
	s.SetLifetimes(time.Second, 0, 0)
	short := issue(t, s)
	time.Sleep(1100 * time.Millisecond)
	r := post(t, nil, s.Endpoints().EntraToken, oboForm(short.AccessToken, "api://x/.default"), s.ClientID(), s.ClientSecret())
	if d, _ := r.json(t)["error_description"].(string); r.status != 400 || !strings.HasPrefix(d, "AADSTS500133") {
		t.Errorf("naturally expired assertion: %d %s", r.status, r.body)
	}
}

func TestResourceOf(t *testing.T) {
	for _, tt := range []struct {
		scopes []string
		want   string
	}{
		{[]string{"api://downstream/.default"}, "api://downstream"},
		{[]string{"offline_access", "https://graph.example/User.Read"}, "https://graph.example"},
		{[]string{"api://bare"}, "api://bare"},
		{[]string{"openid", "custom"}, "custom"},
		{nil, ""},
	} {
		if got := resourceOf(tt.scopes); got != tt.want {
			t.Errorf("resourceOf(%q) = %q, want %q", tt.scopes, got, tt.want)
		}
	}
}
