package keycloak

import (
	_ "embed"
	"strings"
)

//go:embed testdata/realm.json
var realmTemplate string

// RealmName is the test realm's name.
const RealmName = "corp"

// RealmValues are the test realm's placeholders.
type RealmValues struct {
	GatewaySecret, ReportsSecret string
	// RedirectURI is the plugin's callback (the test Envoy's), PostLogoutURI where
	// RP-initiated logout may return, BackchannelLogoutURI the plugin's back-channel endpoint.
	RedirectURI, PostLogoutURI, BackchannelLogoutURI string
}

// Realm is testdata/realm.json with its placeholders filled in. Keycloak's own ${client_id}
// (in the client-role mapper) is left alone.
func Realm(v RealmValues) []byte {
	return []byte(strings.NewReplacer(
		"${GATEWAY_SECRET}", v.GatewaySecret,
		"${REPORTS_SECRET}", v.ReportsSecret,
		"${REDIRECT_URI}", v.RedirectURI,
		"${POST_LOGOUT_URI}", v.PostLogoutURI,
		"${BACKCHANNEL_LOGOUT_URI}", v.BackchannelLogoutURI,
	).Replace(realmTemplate))
}
