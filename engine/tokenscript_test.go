package engine

import (
	"strings"
	"testing"
	"time"
)

func TestTokenScriptNamesEndpointAndMargin(t *testing.T) {
	js := string(TokenScript("/auth/token", 90*time.Second))
	if !strings.Contains(js, `var tokenURL = "/auth/token", marginS = 90;`) {
		t.Fatalf("script:\n%.400s", js)
	}
	if strings.Contains(js, "__") {
		t.Error("a placeholder is left in the script")
	}
}

func TestReadRequestUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pairs [][2]string
		want  string
	}{
		{"http1", [][2]string{{":method", "GET"}, {":path", "/ws"}, {"connection", "Upgrade"}, {"upgrade", "websocket"}}, "websocket"},
		{"h2 extended connect", [][2]string{{":method", "CONNECT"}, {":protocol", "websocket"}, {":path", "/ws"}}, "websocket"},
		{"plain", [][2]string{{":method", "GET"}, {":path", "/"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadRequest(tc.pairs, nil).Upgrade; got != tc.want {
				t.Errorf("Upgrade %q, want %q", got, tc.want)
			}
		})
	}
}
