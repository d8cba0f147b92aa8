package filter

import "github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"

// Sign-out that sticks. Sessions are stateless (sealed cookies), so a copy of a cookie taken
// before sign-out would open as well afterwards. The plugin therefore keeps the signed-out
// sessions in a deny list in shared data, until each would have expired, and refuses them
// on every VM of this Envoy from the moment the sign-out was served.
//
// The list is a replayGuard under its own prefix: the same bounded slots (64 keys, at most
// 4,096 live entries each, oldest dropped first), CAS writes, expired entries dropped on each
// write. An entry is 12 bytes of a digest of the session's identity, sessionRef (its random
// login id), and its expiry: no token, no subject.
//
// Other replicas do not share this Envoy's shared data. There the signed-out session keeps
// working at most until its access token expires: sign-out revoked the refresh token, so the
// next refresh fails and ends the session (docs/operations.md, "Sign-out").

func newSignedOutList(issuer string) *replayGuard {
	return &replayGuard{prefix: "oidc-proxy/" + issuer + "/signed-out/", set: replaySet}
}

func (ls *liveSession) ref() string {
	if ls.sref == "" {
		s := ls.s
		ls.sref = engine.SessionRef(s.LoginID, s.Issuer, s.Subject, s.SessionID, s.Expiry)
	}
	return ls.sref
}
