package op_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/demoapp"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/op"
)

// A provider with short-lived access tokens, a login without a browser, a
// refresh, and the demo app verifying the result with the provider's keys.
func Example() {
	s, err := op.Start(op.Config{AccessTokenLifetime: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	tokens, err := s.IssueTokens(ctx, "http://127.0.0.1:8080/oauth2/callback")
	if err != nil {
		log.Fatal(err)
	}
	refreshed, err := s.Refresh(ctx, tokens.RefreshToken)
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Refresh(ctx, tokens.RefreshToken) // rotated: reuse fails
	fmt.Println("reuse:", err != nil, "counted:", s.Counts().RefreshReuse)

	app := demoapp.Handler(demoapp.Config{Issuer: s.Issuer(), Keys: s.KeySet})
	req := httptest.NewRequest("GET", "/app2/api/whoami", nil)
	req.Header.Set("X-Forwarded-Access-Token", refreshed.AccessToken)
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.Len() > 0)
	// Output:
	// reuse: true counted: 1
	// 200 true
}
