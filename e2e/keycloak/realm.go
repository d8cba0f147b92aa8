package keycloak

import (
	_ "embed"
	"encoding/json"
	"strings"
)

//go:embed testdata/realm.json
var realmTemplate string

// RealmName is the test realm's name.
const RealmName = "corp"

// RealmValues are the test realm's placeholders.
type RealmValues struct {
	GatewaySecret, ReportsSecret string
	// RedirectURIs are the plugin's callbacks (the test Envoys'), PostLogoutURIs where
	// RP-initiated logout may return (patterns ending in * allowed), BackchannelLogoutURI
	// the plugin's back-channel endpoint.
	RedirectURIs, PostLogoutURIs []string
	BackchannelLogoutURI         string
}

// Realm is testdata/realm.json with its placeholders ("${NAME}", quotes included) replaced
// by JSON strings. Keycloak's own ${client_id} (in the client-role mapper) is left alone.
func Realm(v RealmValues) []byte {
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	list := func(ss []string) string {
		var out []string
		for _, s := range ss {
			out = append(out, q(s))
		}
		return strings.Join(out, ", ")
	}
	return []byte(strings.NewReplacer(
		`"${GATEWAY_SECRET}"`, q(v.GatewaySecret),
		`"${REPORTS_SECRET}"`, q(v.ReportsSecret),
		`"${REDIRECT_URI}"`, list(v.RedirectURIs),
		// Keycloak keeps a client's post-logout redirect URIs in one attribute, "##" between.
		`"${POST_LOGOUT_URI}"`, q(strings.Join(v.PostLogoutURIs, "##")),
		`"${BACKCHANNEL_LOGOUT_URI}"`, q(v.BackchannelLogoutURI),
	).Replace(realmTemplate))
}
