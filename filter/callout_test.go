package filter

import (
	"errors"
	"fmt"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

func TestRouterFailure(t *testing.T) {
	for _, tc := range []struct {
		status      int
		ctype, body string
		want        error
	}{
		{504, "text/plain", "upstream request timeout", errTimeout},
		{503, "text/plain", "upstream connect error or disconnect/reset before headers. reset reason: connection failure", errUnreachable},
		{503, "text/plain", "no healthy upstream", errUnreachable},
		{503, "text/html", "no healthy upstream", nil}, // the provider's own page
		{503, "text/plain", "maintenance", nil},
		{504, "text/plain", "gateway timeout from the provider's own proxy", nil},
		{500, "text/plain", "upstream request timeout", nil},
		{200, "text/plain", "upstream request timeout", nil},
	} {
		err := routerFailure(&calloutResponse{status: tc.status, contentType: tc.ctype, body: []byte(tc.body)})
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%d %s %q: %v, want %v", tc.status, tc.ctype, tc.body, err, tc.want)
		}
	}
	if !errors.Is(errTimeout, errUnreachable) || !errors.Is(errTimeout, oidc.ErrTimeout) || !oidc.IsTransient(errTimeout) {
		t.Error("errTimeout must be errUnreachable and oidc.ErrTimeout (transient)")
	}
}

func TestCalloutOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		r    *calloutResponse
		want string
	}{
		{nil, &calloutResponse{status: 200}, outcomeOK},
		{nil, &calloutResponse{status: 302}, outcomeOK},
		{errors.New("bad json"), &calloutResponse{status: 200}, outcomeInvalid},
		{nil, &calloutResponse{status: 400}, outcome4xx},
		{errors.New("invalid_grant"), &calloutResponse{status: 400}, outcome4xx},
		{nil, &calloutResponse{status: 503}, outcome5xx},
		{errTimeout, nil, outcomeTimeout},
		{fmt.Errorf("wrapped: %w", errTimeout), nil, outcomeTimeout},
		{errUnreachable, nil, outcomeUnreachable},
		{errors.New("dispatch failed"), nil, outcomeUnreachable},
	} {
		if got := calloutOutcome(tc.err, tc.r); got != tc.want {
			t.Errorf("calloutOutcome(%v, %+v) = %s, want %s", tc.err, tc.r, got, tc.want)
		}
	}
}
