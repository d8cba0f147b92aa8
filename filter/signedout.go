package filter

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
)

// Sign-out that sticks. Sessions are stateless (sealed cookies), so a copy of a cookie taken
// before sign-out would open as well afterwards. The plugin therefore keeps the signed-out
// sessions in a deny list in shared data, until each would have expired, and refuses them
// on every VM of this Envoy from the moment the sign-out was served.
//
// The list is a replayGuard under its own prefix (with a generation, see signedOutList): the same bounded slots (64 keys, at most
// 4,096 live entries each, oldest dropped first), CAS writes, expired entries dropped on each
// write. An entry is 12 bytes of a digest of the session's identity, sessionRef (its random
// login id), and its expiry: no token, no subject.
//
// Other replicas do not share this Envoy's shared data. There the signed-out session keeps
// working at most until its access token expires: sign-out revoked the refresh token, so the
// next refresh fails and ends the session (docs/operations.md, "Sign-out").

// signedOutList is the deny list and its generation: a counter in shared data that every
// sign-out bumps after writing its entry. A request reads only the counter (8 bytes, or
// nothing found when nobody ever signed out); a session's slot is read again only when the
// counter moved since this VM last checked that session. So the warm path pays one small
// host call, not a copy of a slot that may hold thousands of entries.
type signedOutList struct {
	list   *replayGuard
	genKey string
}

func newSignedOutList(issuer string) *signedOutList {
	ns := "oidc-proxy/" + issuer + "/signed-out"
	return &signedOutList{list: &replayGuard{prefix: ns + "/", set: replaySet}, genKey: ns + ".gen"}
}

// add refuses ls's session from now until until, on every VM of this Envoy.
func (l *signedOutList) add(ls *liveSession, until, now time.Time) error {
	if err := l.list.use(ls.ref(), until, now); err != nil && !errors.Is(err, errReplayed) {
		return err
	}
	return updateShared(l.genKey, func(v []byte) ([]byte, error) {
		var n uint64
		if len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return binary.BigEndian.AppendUint64(nil, n+1), nil
	})
}

// refuses reports whether ls's session was signed out.
func (l *signedOutList) refuses(ls *liveSession, now time.Time) bool {
	v, _, err := getSharedData(l.genKey)
	if err != nil || len(v) != 8 {
		return false // nobody signed out on this Envoy (or no shared data)
	}
	if gen := binary.BigEndian.Uint64(v); gen != ls.checkedGen {
		ls.signedOut, ls.checkedGen = l.list.seen(ls.ref(), now), gen
	}
	return ls.signedOut
}

func (ls *liveSession) ref() string {
	if ls.sref == "" {
		s := ls.s
		ls.sref = engine.SessionRef(s.LoginID, s.Issuer, s.Subject, s.SessionID, s.Expiry)
	}
	return ls.sref
}
