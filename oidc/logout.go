package oidc

// EndSessionURL returns the URL for RP-Initiated Logout 1.0 (section 2) at
// the provider's end_session_endpoint. Empty arguments are omitted. The ID
// token hint may be expired (the spec allows it); postLogoutRedirectURI must
// be registered at the provider, and the spec asks for clientID or
// idTokenHint with it. A query already on endpoint is kept.
func EndSessionURL(endpoint, idTokenHint, postLogoutRedirectURI, clientID, state string) (string, error) {
	if _, err := parseEndpoint(endpoint, true); err != nil {
		return "", err
	}
	return appendQuery(endpoint, []queryParam{
		{"id_token_hint", idTokenHint},
		{"post_logout_redirect_uri", postLogoutRedirectURI},
		{"client_id", clientID},
		{"state", state},
	}), nil
}
