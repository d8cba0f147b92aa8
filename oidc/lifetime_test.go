package oidc

import (
	"encoding/base64"
	"errors"
	"strconv"
	"testing"
	"time"
)

func unsignedJWT(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"at+jwt"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
}

func TestAccessTokenExpiry(t *testing.T) {
	now := time.Unix(1700000000, 0)
	exp := func(d time.Duration) string {
		return unsignedJWT(`{"sub":"u","exp":` + strconv.FormatInt(now.Add(d).Unix(), 10) + `}`)
	}
	for _, tc := range []struct {
		name    string
		tr      TokenResponse
		want    time.Time
		expired bool
	}{
		{"expires_in wins over exp", TokenResponse{AccessToken: exp(time.Hour), ExpiresIn: 120, HasExpiresIn: true}, now.Add(120 * time.Second), false},
		{"exp of a JWT without expires_in", TokenResponse{AccessToken: exp(10 * time.Minute)}, now.Add(10 * time.Minute), false},
		{"opaque token without expires_in: the default", TokenResponse{AccessToken: "opaque-xyz"}, now.Add(5 * time.Minute), false},
		{"JWT without exp: the default", TokenResponse{AccessToken: unsignedJWT(`{"sub":"u"}`)}, now.Add(5 * time.Minute), false},
		{"expires_in 0", TokenResponse{AccessToken: "opaque", HasExpiresIn: true}, time.Time{}, true},
		{"exp in the past", TokenResponse{AccessToken: exp(-time.Minute)}, time.Time{}, true},
		{"exp now", TokenResponse{AccessToken: exp(0)}, time.Time{}, true},
	} {
		t.Run(tc.name+", no default", func(t *testing.T) {
			got, err := AccessTokenExpiry(&tc.tr, now, 0)
			switch {
			case tc.expired:
				if !errors.Is(err, ErrTokenExpired) {
					t.Fatalf("got %v, %v; want ErrTokenExpired", got, err)
				}
			case tc.want.Equal(now.Add(5 * time.Minute)):
				if err != nil || !got.IsZero() {
					t.Fatalf("got %v, %v; want the zero time (unknown)", got, err)
				}
			case err != nil || !got.Equal(tc.want):
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
		t.Run(tc.name, func(t *testing.T) {
			got, err := AccessTokenExpiry(&tc.tr, now, 5*time.Minute)
			if tc.expired {
				if !errors.Is(err, ErrTokenExpired) || !got.IsZero() {
					t.Fatalf("got %v, %v; want ErrTokenExpired", got, err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
