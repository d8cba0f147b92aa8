package oidc

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r","id_token":"h.p.s","scope":"openid"}`))
	f.Add(200, "application/json", []byte(`{"access_token":"a","token_type":"bearer","expires_in":"3599"}`))
	f.Add(200, "text/html", []byte(`<html></html>`))
	f.Add(400, "application/json", []byte(aadstsBody))
	f.Add(400, "application/json", []byte(`{"error":"invalid_grant","error_description":"x\u0000\r\n"}`))
	f.Add(503, "", []byte(``))
	f.Add(200, "application/json", []byte(`{"access_token":"a","access_token":"b","token_type":"Bearer"}`))
	f.Add(200, "application/json", []byte(`{"access_token":"a","token_type":"N_A","issued_token_type":"urn:x","expires_in":-1}`))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		r, err := ParseTokenResponse(status, ct, body, 4096)
		if err != nil {
			if r != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("r=%v err=%v", r, err)
			}
			var te *TokenEndpointError
			if errors.As(err, &te) && (!printableBounded(te.Description, maxDescriptionLen+3) || !printableBounded(te.Code, maxCodeLen) || te.Code == "") {
				t.Fatalf("unsanitized error: %#v", te)
			}
			return
		}
		if status < 200 || status > 299 || len(body) > 4096 {
			t.Fatalf("accepted status %d / %d bytes", status, len(body))
		}
		if !isVSCHAR(r.AccessToken) || !strings.EqualFold(r.TokenType, "bearer") || r.ExpiresIn < 0 || (r.ExpiresIn != 0 && !r.HasExpiresIn) {
			t.Fatalf("accepted %+v", r)
		}
		// Round trip: the same values, re-encoded, parse to the same result.
		m := map[string]any{"access_token": r.AccessToken, "token_type": r.TokenType}
		for k, v := range map[string]string{"refresh_token": r.RefreshToken, "id_token": r.IDToken, "scope": r.Scope, "issued_token_type": r.IssuedTokenType} {
			if v != "" {
				m[k] = v
			}
		}
		if r.HasExpiresIn {
			m["expires_in"] = r.ExpiresIn
		}
		b, _ := json.Marshal(m)
		r2, err := ParseTokenResponse(200, "application/json", b, 0)
		if err != nil || *r2 != *r {
			t.Fatalf("round trip: %+v %v, want %+v", r2, err, r)
		}
	})
}

func printableBounded(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func FuzzParsePushResponse(f *testing.F) {
	f.Add(201, "application/json", []byte(`{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":60}`))
	f.Add(400, "application/json", []byte(`{"error":"invalid_request","error_description":"x"}`))
	f.Add(201, "application/json", []byte(`{"request_uri":"a","request_uri":"b","expires_in":"60"}`))
	f.Add(502, "text/html", []byte(`<html></html>`))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		r, err := ParsePushResponse(status, ct, body, 4096)
		if err != nil {
			if r != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("r=%v err=%v", r, err)
			}
			return
		}
		if r.RequestURI == "" || r.ExpiresIn <= 0 || !isVSCHAR(r.RequestURI) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzParseCallback(f *testing.F) {
	f.Add("code=c&state=s")
	f.Add("state=st1&session_state=5f3c&iss=https%3A%2F%2Fsso.example.com%2Frealms%2Fcorp&code=c.1.2")
	f.Add("error=access_denied&error_description=The+user+denied%0D%0Aaccess&state=st9")
	f.Add("code=c1&state=s&code=c2")
	f.Add("code=%zz&state=s")
	f.Add("&&code=c&state=s&x")
	md := &Metadata{Issuer: "https://sso.example.com/realms/corp"}
	f.Fuzz(func(t *testing.T, q string) {
		cb, err := ParseCallback(q, 1024, md)
		if err != nil {
			if cb != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("cb=%v err=%v", cb, err)
			}
			var ae *AuthorizationError
			if errors.As(err, &ae) && (ae.Code == "" || !printableBounded(ae.Description, maxDescriptionLen+3) || !printableBounded(ae.URI, maxErrorURILen+3)) {
				t.Fatalf("unsanitized error: %#v", ae)
			}
			return
		}
		if cb.Code == "" || cb.State == "" || (cb.Iss != "" && cb.Iss != md.Issuer) || len(q) > 1024 {
			t.Fatalf("accepted %q as %+v", q, cb)
		}
		// Round trip through a canonical encoding.
		v := url.Values{"code": {cb.Code}, "state": {cb.State}}
		if cb.Iss != "" {
			v.Set("iss", cb.Iss)
		}
		if cb2, err := ParseCallback(v.Encode(), 0, md); err != nil || *cb2 != *cb {
			t.Fatalf("round trip: %+v %v, want %+v", cb2, err, cb)
		}
		// Repeating a parameter of an accepted query is always rejected.
		if _, err := ParseCallback(q+"&state=x", 0, md); !errors.Is(err, ErrDuplicateParam) {
			t.Fatalf("duplicate state accepted: %v", err)
		}
	})
}

func FuzzParseDiscovery(f *testing.F) {
	for _, name := range []string{"discovery_keycloak.json", "discovery_entra_v2.json", "discovery_google.json", "discovery_entra_common.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"issuer":"https://accounts.google.com","issuer":"x"}`))
	f.Add([]byte(`{"issuer":"https://accounts.google.com","authorization_endpoint":"https://a/","token_endpoint":"https://a/t","jwks_uri":"https://a/k","response_types_supported":["code"],"subject_types_supported":[],"id_token_signing_alg_values_supported":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := ParseDiscovery(body, googleIssuer, false)
		if err != nil {
			if md != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("md=%v err=%v", md, err)
			}
			return
		}
		if md.Issuer != googleIssuer {
			t.Fatalf("issuer %q", md.Issuer)
		}
		a := md.MTLSEndpointAliases
		for _, e := range []string{a.TokenEndpoint, a.RevocationEndpoint, a.IntrospectionEndpoint, a.PushedAuthorizationRequestEndpoint, a.UserinfoEndpoint} {
			if u, err := url.Parse(e); e != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
				t.Fatalf("mTLS alias %q accepted", e)
			}
		}
		for _, e := range []string{md.AuthorizationEndpoint, md.TokenEndpoint, md.JWKSURI} {
			u, err := url.Parse(e)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				t.Fatalf("endpoint %q accepted", e)
			}
		}
		// Round trip: the parsed metadata, re-encoded, parses the same.
		b, _ := json.Marshal(map[string]any{
			"issuer": md.Issuer, "authorization_endpoint": md.AuthorizationEndpoint, "token_endpoint": md.TokenEndpoint,
			"jwks_uri": md.JWKSURI, "response_types_supported": md.ResponseTypesSupported,
			"subject_types_supported": nonNil(md.SubjectTypesSupported), "id_token_signing_alg_values_supported": nonNil(md.IDTokenSigningAlgValuesSupported),
		})
		md2, err := ParseDiscovery(b, googleIssuer, false)
		if err != nil || md2.TokenEndpoint != md.TokenEndpoint || md2.JWKSURI != md.JWKSURI {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func FuzzSafeReturnPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b?c=d#e", "//evil.com", `/\evil.com`, "https:evil.com", "/%2F%2Fevil.com", "/%5Cevil.com",
		"\t//evil", "/ok?next=//x", "/.//evil.com", "/%252F%252Fevil", "/a/../..//b", "/100%25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, ok := SafeReturnPath(raw, 512)
		if !ok {
			if p != "" {
				t.Fatalf("rejected with a value %q", p)
			}
			return
		}
		assertSafePath(t, p)
		if p2, ok2 := SafeReturnPath(p, 512); !ok2 || p2 != p {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, p, p2, ok2)
		}
	})
}

// FuzzIDTokenBitFlip: flipping any bit of a valid ID token makes it fail
// (strict base64url gives each segment exactly one spelling).
func FuzzIDTokenBitFlip(f *testing.F) {
	key := newECKey(f, "k")
	v := newValidator(key)
	token := key.sign(f, baseClaims())
	if _, err := v.Validate(token, testNonce, ""); err != nil {
		f.Fatal(err)
	}
	for _, pos := range []uint{0, 10, uint(len(token) / 2), uint(len(token) - 1)} {
		f.Add(pos, uint8(0))
	}
	f.Fuzz(func(t *testing.T, pos uint, bit uint8) {
		b := []byte(token)
		b[pos%uint(len(b))] ^= 1 << (bit % 8)
		if _, err := v.Validate(string(b), testNonce, ""); err == nil {
			t.Fatalf("flipped bit %d of byte %d accepted", bit%8, pos%uint(len(b)))
		}
	})
}
