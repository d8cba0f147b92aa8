package sessionmint

import (
	"strings"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

const (
	testKeyID  = "k1"
	testSecret = "c2Vzc2lvbm1pbnQtdGVzdC1rZXktMzItYnl0ZXMhISE" // 32 bytes
)

func testSession() *state.Session {
	now := time.Now().Truncate(time.Second)
	return &state.Session{Version: 1, Subject: "user-1", SessionID: "sid-login", Issuer: "https://op.example",
		Claims: []byte(`{"sub":"user-1"}`), IDToken: "id." + strings.Repeat("i", 1500),
		AccessToken: "at." + strings.Repeat("a", 3000), RefreshToken: "rt",
		IDTokenExpiry: now.Add(time.Hour), AccessTokenExpiry: now.Add(time.Hour),
		IssuedAt: now, Expiry: now.Add(24 * time.Hour)}
}

// A minted session is the login's session under another id, in its own sealed bytes, with
// the login's other cookies after its chunks.
func TestMintFromLogin(t *testing.T) {
	sl, err := NewSealer(testKeyID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	login, err := sl.Cookie(testSession())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(login, CookieName+"_1=") {
		t.Fatalf("a 4.5 KB session should take several chunks: %.80q", login)
	}
	for _, tt := range []struct {
		name, header, other string
	}{
		{name: "session only", header: login},
		{name: "other cookies", header: "theme=dark; " + login, other: "theme=dark"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := FromLogin(testKeyID, testSecret, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			if m.Template.SessionID != "sid-login" || m.Template.AccessToken != testSession().AccessToken {
				t.Fatalf("template = %+v", m.Template)
			}
			got, err := m.MintN("x", 2)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] == got[1] {
				t.Fatal("two minted sessions are the same cookie")
			}
			for i, c := range got {
				if tt.other != "" && !strings.HasSuffix(c, "; "+tt.other) {
					t.Errorf("mint %d does not end in the login's other cookies: ...%q", i, c[max(0, len(c)-40):])
				}
				back, err := FromLogin(testKeyID, testSecret, c)
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"x-0", "x-1"}[i]; back.Template.SessionID != want {
					t.Errorf("mint %d opens with session id %q, want %q", i, back.Template.SessionID, want)
				}
			}
		})
	}
}

// A login that left no session, or one sealed with another key, is an error.
func TestFromLoginRefuses(t *testing.T) {
	if _, err := FromLogin(testKeyID, testSecret, "theme=dark"); err == nil {
		t.Error("no session cookie: no error")
	}
	other, err := NewSealer("k2", "b3RoZXIta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMhISE")
	if err != nil {
		t.Fatal(err)
	}
	c, err := other.Cookie(testSession())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromLogin(testKeyID, testSecret, c); err == nil {
		t.Error("a session sealed with another key: no error")
	}
}
