package oidc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Fuzz targets for the provider responses not covered by FuzzParseTokenResponse: token
// exchange (RFC 8693), userinfo and revocation. Each must never panic, reject oversized or
// non-2xx input, sanitize what it reports from the provider, and accept only what a
// re-encoding of its result accepts again.

func FuzzParseExchangeResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"access_token":"a","token_type":"N_A","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","expires_in":60}`))
	f.Add(200, "application/json", []byte(`{"access_token":"a","token_type":"Bearer"}`))
	f.Add(400, "application/json", []byte(`{"error":"invalid_target","error_description":"no\r\nway"}`))
	f.Add(200, "application/json; charset=utf-8", []byte(`{"access_token":"a","token_type":"Bearer","issued_token_type":"x","issued_token_type":"y"}`))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		r, err := ParseExchangeResponse(status, ct, body, 4096)
		if err != nil {
			if r != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("r=%v err=%v", r, err)
			}
			var te *TokenEndpointError
			if errors.As(err, &te) && (!printableBounded(te.Description, maxDescriptionLen+3) || !printableBounded(te.Code, maxCodeLen)) {
				t.Fatalf("unsanitized error: %#v", te)
			}
			return
		}
		if status < 200 || status > 299 || len(body) > 4096 || r.IssuedTokenType == "" || r.AccessToken == "" {
			t.Fatalf("accepted status %d, %d bytes: %+v", status, len(body), r)
		}
		m := map[string]any{"access_token": r.AccessToken, "token_type": r.TokenType, "issued_token_type": r.IssuedTokenType}
		for k, v := range map[string]string{"refresh_token": r.RefreshToken, "id_token": r.IDToken, "scope": r.Scope} {
			if v != "" {
				m[k] = v
			}
		}
		if r.HasExpiresIn {
			m["expires_in"] = r.ExpiresIn
		}
		b, _ := json.Marshal(m)
		if r2, err := ParseExchangeResponse(200, "application/json", b, 0); err != nil || *r2 != *r {
			t.Fatalf("round trip: %+v %v, want %+v", r2, err, r)
		}
	})
}

func FuzzParseUserinfoResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"sub":"u1","email":"a@b"}`), "u1")
	f.Add(200, "application/json", []byte(`{"sub":"u2"}`), "u1")
	f.Add(200, "application/jwt", []byte(`a.b.c`), "u1")
	f.Add(401, "application/json", []byte(`{}`), "u1")
	f.Add(200, "application/json", []byte(`{"sub":"u1","sub":"u1"}`), "u1")
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte, sub string) {
		out, err := ParseUserinfoResponse(status, ct, body, 4096, sub)
		if err != nil {
			if out != nil || !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Fatalf("out=%q err=%v", out, err)
			}
			return
		}
		if status < 200 || status > 299 || len(body) > 4096 || sub == "" {
			t.Fatalf("accepted status %d, %d bytes, expected sub %q", status, len(body), sub)
		}
		var m map[string]any
		if json.Unmarshal(out, &m) != nil || m["sub"] != sub {
			t.Fatalf("accepted a body that is not an object with sub %q: %q", sub, out)
		}
	})
}

func FuzzParseRevokeResponse(f *testing.F) {
	f.Add(200, "", []byte(``))
	f.Add(400, "application/json", []byte(`{"error":"unsupported_token_type"}`))
	f.Add(503, "application/json", []byte(`{"error":"temporarily_unavailable","error_description":"\u0000"}`))
	f.Add(400, "text/html", []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		err := ParseRevokeResponse(status, ct, body)
		if (err == nil) != (status >= 200 && status <= 299) {
			t.Fatalf("status %d: err %v", status, err)
		}
		var te *TokenEndpointError
		if errors.As(err, &te) && (te.Code == "" || !printableBounded(te.Description, maxDescriptionLen+3) || !printableBounded(te.Code, maxCodeLen)) {
			t.Fatalf("unsanitized error: %#v", te)
		}
	})
}
