package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/envoyrig"
)

// bearerAudience is the audience the plugin's bearer route and jwt_authn require.
const bearerAudience = "bench-api"

// token signs an RS256 access token for bearerAudience with the given jti, valid for an hour,
// with the claims an Entra ID or Keycloak access token typically carries.
func token(is *envoyrig.Issuer, jti string) (string, error) {
	now := time.Now()
	return is.Sign("rs", map[string]any{
		"iss": is.URL(), "aud": bearerAudience, "sub": "0b3c2f9e-7a51-4c4e-9d1e-5f1a2b3c4d5e",
		"azp": "bench-client", "jti": jti, "iat": now.Add(-time.Minute).Unix(),
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"scope": "openid profile email api.read api.write", "preferred_username": "demo@example.com",
		"email": "demo@example.com", "name": "Demo User", "tid": "9188040d-6c67-4c5b-b112-36a304b66dad",
		"roles": []string{"reader", "writer"}, "ver": "2.0",
	})
}

// tokens signs n distinct tokens (jti prefix-0 .. prefix-(n-1)) on all CPUs.
func tokens(is *envoyrig.Issuer, prefix string, n int) ([]string, error) {
	out := make([]string, n)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += len(errs) {
				if out[i], errs[w] = token(is, fmt.Sprintf("%s-%d", prefix, i)); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
