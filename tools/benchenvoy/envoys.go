package main

// The Envoy configurations of the rows. Every one is the shipped envoy.yaml rendered by
// e2e/envoy (the same connection manager settings, router, cluster stanzas), with the Wasm
// filter replaced by the peer's filter, or removed for "no filter" (envoyrig.WithFilters).

// addSecrets adds static generic secrets (name -> value) to the bootstrap.
func addSecrets(doc map[string]any, secrets map[string]string) {
	sr, _ := doc["static_resources"].(map[string]any)
	list, _ := sr["secrets"].([]any)
	for name, v := range secrets {
		list = append(list, map[string]any{"name": name,
			"generic_secret": map[string]any{"secret": map[string]any{"inline_string": v}}})
	}
	sr["secrets"] = list
}

// oauth2Filter is Envoy's native envoy.filters.http.oauth2 as its documentation configures it
// for an OpenID Provider: authorization code flow with the embedded provider (client secret
// in the token request body, PKCE as Envoy always sends it), scopes openid profile email
// offline_access, the access token forwarded as Authorization: Bearer, refresh tokens used,
// token cookies encrypted with the HMAC secret (Envoy's default), and the callback and
// sign-out paths under /oauth2 like the plugin's.
func oauth2Filter(authorize, token, clientID string) map[string]any {
	return map[string]any{
		"name": "envoy.filters.http.oauth2",
		"typed_config": map[string]any{
			"@type": "type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2",
			"config": map[string]any{
				"token_endpoint":         map[string]any{"cluster": "oidc", "uri": token, "timeout": "3s"},
				"authorization_endpoint": authorize,
				"redirect_uri":           "http://%REQ(:authority)%/oauth2/callback",
				"redirect_path_matcher":  map[string]any{"path": map[string]any{"exact": "/oauth2/callback"}},
				"signout_path":           map[string]any{"path": map[string]any{"exact": "/oauth2/sign_out"}},
				"forward_bearer_token":   true,
				"use_refresh_token":      true,
				"auth_scopes":            []any{"openid", "profile", "email", "offline_access"},
				"credentials": map[string]any{
					"client_id":    clientID,
					"token_secret": map[string]any{"name": "oauth2-token"},
					"hmac_secret":  map[string]any{"name": "oauth2-hmac"},
				},
			},
		},
	}
}

// jwtAuthnFilter is Envoy's native envoy.filters.http.jwt_authn with two providers for the
// same issuer: "cached" (jwt_cache_config: verified tokens cached by token, 1,000 entries)
// for /api/cached/ and "uncached" (every token verified) for /api/uncached/. Both fetch the
// issuer's JWKS through the "issuers" cluster (remote_jwks, cached for 10 minutes, fetched
// when the listener starts), require the audience, and forward the token to the app.
func jwtAuthnFilter(iss string) map[string]any {
	provider := func(cache bool) map[string]any {
		p := map[string]any{
			"issuer":    iss,
			"audiences": []any{bearerAudience},
			"remote_jwks": map[string]any{
				"http_uri":       map[string]any{"uri": iss + "/jwks", "cluster": "issuers", "timeout": "3s"},
				"cache_duration": "600s",
				"async_fetch":    map[string]any{},
			},
			"forward": true,
		}
		if cache {
			p["jwt_cache_config"] = map[string]any{"jwt_cache_size": 1000}
		}
		return p
	}
	return map[string]any{
		"name": "envoy.filters.http.jwt_authn",
		"typed_config": map[string]any{
			"@type":     "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
			"providers": map[string]any{"cached": provider(true), "uncached": provider(false)},
			"rules": []any{
				map[string]any{"match": map[string]any{"prefix": "/api/cached/"}, "requires": map[string]any{"provider_name": "cached"}},
				map[string]any{"match": map[string]any{"prefix": "/api/uncached/"}, "requires": map[string]any{"provider_name": "uncached"}},
			},
		},
	}
}
