package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/config"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

func TestPushAuthorization(t *testing.T) {
	const ep = "https://op.example.com/par"
	tests := []struct {
		name     string
		mode     string
		endpoint string
		required bool
		want     bool
		wantErr  error
	}{
		{"auto with endpoint", config.PARAuto, ep, false, true, nil},
		{"auto without endpoint", config.PARAuto, "", false, false, nil},
		{"auto required without endpoint", config.PARAuto, "", true, false, ErrNoPushEndpoint},
		{"always with endpoint", config.PARAlways, ep, false, true, nil},
		{"always without endpoint", config.PARAlways, "", false, false, ErrNoPushEndpoint},
		{"never with endpoint", config.PARNever, ep, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PushAuthorization(tt.mode, tt.endpoint, tt.required)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSessionEnd(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := &state.Session{AuthTime: now.Add(-time.Hour), Expiry: now.Add(10 * time.Hour)}
	tests := []struct {
		name   string
		s      *state.Session
		maxAge time.Duration
		want   time.Time
	}{
		{"off", s, 0, s.Expiry},
		{"max_age sooner", s, 2 * time.Hour, now.Add(time.Hour)},
		{"expiry sooner", s, 20 * time.Hour, s.Expiry},
		{"max_age passed", s, 30 * time.Minute, now.Add(-30 * time.Minute)},
		{"no auth_time", &state.Session{Expiry: s.Expiry}, time.Hour, time.Time{}},
		{"no auth_time, off", &state.Session{Expiry: s.Expiry}, 0, s.Expiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SessionEnd(tt.s, tt.maxAge); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
