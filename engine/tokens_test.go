package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

func TestRefreshDue(t *testing.T) {
	now := time.Unix(1700000000, 0)
	margin := time.Minute
	login := now.Add(-10 * time.Minute)
	base := state.Session{
		IDToken: "id", RefreshToken: "rt", IssuedAt: login,
		AccessTokenExpiry: now.Add(time.Hour), IDTokenExpiry: now.Add(time.Hour),
	}
	tests := []struct {
		name    string
		refresh bool
		wantID  bool
		mod     func(s *state.Session)
		want    bool
	}{
		{name: "fresh tokens", refresh: true, wantID: true, want: false},
		{name: "access token within the margin", refresh: true, mod: func(s *state.Session) { s.AccessTokenExpiry = now.Add(30 * time.Second) }, want: true},
		{name: "access token expired", refresh: true, mod: func(s *state.Session) { s.AccessTokenExpiry = now.Add(-time.Hour) }, want: true},
		{
			name: "access token shorter-lived than twice the margin, before half-life", refresh: true,
			mod: func(s *state.Session) {
				s.IssuedAt = now.Add(-20 * time.Second)
				s.AccessTokenExpiry = now.Add(40 * time.Second)
			},
			want: false,
		},
		{
			name: "access token shorter-lived than twice the margin, past half-life", refresh: true,
			mod: func(s *state.Session) {
				s.IssuedAt = now.Add(-31 * time.Second)
				s.AccessTokenExpiry = now.Add(29 * time.Second)
			},
			want: true,
		},
		{name: "access token expiry unknown", refresh: true, mod: func(s *state.Session) { s.AccessTokenExpiry = time.Time{} }, want: false},
		{name: "refresh off", refresh: false, mod: func(s *state.Session) { s.AccessTokenExpiry = now }, want: false},
		{name: "no refresh token", refresh: true, mod: func(s *state.Session) { s.AccessTokenExpiry = now; s.RefreshToken = "" }, want: false},
		{name: "ID token due, forwarded", refresh: true, wantID: true, mod: func(s *state.Session) { s.IDTokenExpiry = now.Add(time.Second) }, want: true},
		{name: "ID token due, not forwarded", refresh: true, wantID: false, mod: func(s *state.Session) { s.IDTokenExpiry = now.Add(time.Second) }, want: false},
		{
			// The last refresh (at IssuedAt) did not renew it: do not refresh for it again.
			name: "ID token not renewed by the last refresh", refresh: true, wantID: true,
			mod: func(s *state.Session) {
				s.IDTokenExpiry = now.Add(time.Second)
				s.IssuedAt = now.Add(-20 * time.Second)
			},
			want: false,
		},
		{
			name: "ID token lifetime shorter than the margin", refresh: true, wantID: true,
			mod:  func(s *state.Session) { s.IssuedAt = now; s.IDTokenExpiry = now.Add(30 * time.Second) },
			want: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := config.Session{Refresh: tc.refresh, RefreshMargin: margin}
			s := base
			if tc.mod != nil {
				tc.mod(&s)
			}
			if got := RefreshDue(sc, &s, now, tc.wantID); got != tc.want {
				t.Errorf("RefreshDue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTokenJSON(t *testing.T) {
	now := time.Unix(1700000000, 0)
	s := &state.Session{AccessToken: "at", RefreshToken: "rt", IDToken: "idt",
		AccessTokenExpiry: now.Add(90 * time.Second), IDTokenExpiry: now.Add(-time.Second)}
	for _, withRefresh := range []bool{false, true} {
		var got map[string]any
		if err := json.Unmarshal(TokenJSON(s, now, withRefresh), &got); err != nil {
			t.Fatal(err)
		}
		if got["access_token"] != "at" || got["token_type"] != "Bearer" || got["expires_in"] != 90.0 || got["expires_at"] != float64(now.Unix()+90) {
			t.Errorf("access token fields: %v", got)
		}
		if _, ok := got["id_token"]; ok {
			t.Errorf("an expired ID token is in the answer: %v", got)
		}
		if _, ok := got["refresh_token"]; ok != withRefresh {
			t.Errorf("refresh token present=%v, want %v", ok, withRefresh)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		name, site, origin string
		want               bool
	}{
		{"fetch metadata same-origin", "same-origin", "", true},
		{"fetch metadata cross-site", "cross-site", "https://app.example", false},
		{"fetch metadata same-site", "same-site", "", false},
		{"typed into the address bar", "none", "", false},
		{"origin only, ours", "", "https://app.example", true},
		{"origin only, ours in upper case", "", "https://APP.example", true},
		{"origin only, another", "", "https://evil.example", false},
		{"origin only, another port", "", "https://app.example:8443", false},
		{"origin null", "", "null", false},
		{"no evidence", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SameOrigin(tc.site, tc.origin, "https", "app.example"); got != tc.want {
				t.Errorf("sameOrigin = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCrossSite: only evidence of another site counts (Fetch Metadata first; then an Origin
// other than ours); a request without either is not cross-site (sign-out links keep working).
func TestCrossSite(t *testing.T) {
	tests := []struct {
		name, site, origin string
		want               bool
	}{
		{"fetch metadata cross-site", "cross-site", "", true},
		{"fetch metadata cross-site, our origin", "cross-site", "https://app.example", true},
		{"fetch metadata same-site", "same-site", "https://other.app.example", false},
		{"fetch metadata same-origin", "same-origin", "https://app.example", false},
		{"typed into the address bar", "none", "", false},
		{"origin only, ours", "", "https://APP.example", false},
		{"origin only, another", "", "https://evil.example", true},
		{"origin only, another scheme", "", "http://app.example", true},
		{"origin null", "", "null", true},
		{"no evidence", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CrossSite(tc.site, tc.origin, "https", "app.example"); got != tc.want {
				t.Errorf("CrossSite = %v, want %v", got, tc.want)
			}
		})
	}
}
