package keycloak_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// countEvents counts Keycloak events of type since a moment, for session sid (any when "").
func countEvents(t testing.TB, typ, sid string, since time.Time) int {
	t.Helper()
	ev, err := suite.kc.Events(context.Background(), typ)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ev {
		if e.Time >= since.UnixMilli()-1000 && (sid == "" || e.SessionID == sid) {
			n++
		}
	}
	return n
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, e := range a {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func assertNoSecrets(t testing.TB, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("Envoy's log holds a token or secret (%.12s…)", s)
		}
	}
}

// jwtPayload decodes a JWT's claims without verifying it.
func jwtPayload(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
