package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/oidc"
)

func TestClassifyRefreshAndExchange(t *testing.T) {
	te := func(status int, code string) error {
		return fmt.Errorf("refresh: %w", &oidc.TokenEndpointError{Status: status, Code: code})
	}
	for _, c := range []struct {
		name            string
		err             error
		refresh, exch   FlightStatus
		refCode, exCode string
	}{
		{"invalid_grant", te(400, "invalid_grant"), FlightEnded, FlightDenied, "invalid_grant", "invalid_grant"},
		{"consent_required", te(400, "consent_required"), FlightFailed, FlightDenied, "consent_required", "consent_required"},
		{"invalid_client", te(401, "invalid_client"), FlightFailed, FlightFailed, "invalid_client", "invalid_client"},
		{"temporarily_unavailable", te(400, "temporarily_unavailable"), FlightTransient, FlightTransient, "temporarily_unavailable", "temporarily_unavailable"},
		{"503 with a body", te(503, "server_error"), FlightTransient, FlightTransient, "server_error", "server_error"},
		{"502 without a body", &oidc.HTTPError{Status: 502}, FlightTransient, FlightFailed, "", ""},
		{"timeout", oidc.ErrTimeout, FlightTransient, FlightFailed, "", ""},
		{"use_dpop_nonce after the retry", te(400, "use_dpop_nonce"), FlightTransient, FlightFailed, "use_dpop_nonce", "use_dpop_nonce"},
		{"a malformed success answer", errors.New("oidc: no access_token"), FlightTransient, FlightFailed, "", ""},
	} {
		if s, code := ClassifyRefresh(c.err); s != c.refresh || code != c.refCode {
			t.Errorf("%s: refresh %d %q, want %d %q", c.name, s, code, c.refresh, c.refCode)
		}
		if s, code := ClassifyExchange(c.err); s != c.exch || code != c.exCode {
			t.Errorf("%s: exchange %d %q, want %d %q", c.name, s, code, c.exch, c.exCode)
		}
	}
}
