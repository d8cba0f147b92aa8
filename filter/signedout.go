package filter

import (
	"errors"
	"strconv"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/engine"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
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
// Back-channel logout (backchannel.go) writes to the same list: entries keyed by the
// provider's session id ("sid:"+sid) and subject ("sub:"+sub), which refuse the sessions
// established before the logout (loggedOutAtProvider).
//
// Other replicas do not share this Envoy's shared data. With a store (store.go) every entry is
// also put there and each replica reads it into its own list within store.poll_interval.
// Without one, on another replica the signed-out session keeps working at most until its
// access token expires: sign-out revoked the refresh token, so the next refresh fails and
// ends the session (docs/operations.md, "Sign-out").

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
	return &signedOutList{list: &replayGuard{prefix: sharedSignedOut.slots(issuer), set: replaySet}, genKey: sharedSignedOutGen.key(issuer)}
}

// add refuses ls's session from now until until, on every VM of this Envoy.
func (l *signedOutList) add(ls *liveSession, until, now time.Time) error {
	if err := l.list.use(ls.ref(), until, now); err != nil && !errors.Is(err, errReplayed) {
		return err
	}
	return l.bump(0)
}

// addProviderLogout refuses, on every VM of this Envoy, the sessions a back-channel logout
// names: with sid, those of that provider session (a token with both sid and sub names that
// one session, section 2.4); with only sub, every session of that user.
// Either way only sessions established before now: a user who signs in again afterwards has
// a new session. lifetime is session.lifetime, so the entries live as long as the sessions
// they refuse can.
//
// The entry's expiry carries the time: it is now + lifetime, and a session established at t
// has Expiry t + lifetime (session.go keeps it absolute across refreshes), so "established
// before now" is "Expiry not after the entry's expiry", with no time stored beside it. (A
// session.lifetime changed while an entry lives shifts that line by the change.)
func (l *signedOutList) addProviderLogout(sid, sub string, lifetime time.Duration, now time.Time) error {
	until := now.Add(lifetime)
	for _, key := range providerLogoutKeys(sid, sub) {
		digest, slot := l.list.set.Digest(key)
		err := updateShared(l.list.prefix+strconv.Itoa(slot), func(v []byte) ([]byte, error) {
			return l.list.set.Put(v, digest, until, now), nil
		})
		if err != nil {
			return err
		}
	}
	return l.bump(1)
}

// putDigest refuses, on every VM of this Envoy, what another replica put in the store's deny
// list (store.go): sum is the entry's SHA-256 prefix (engine.DigestLen bytes and the slot's
// byte), until its expiry. The caller bumps the generation once for a batch.
func (l *signedOutList) putDigest(sum []byte, until, now time.Time) error {
	digest, slot := l.list.set.FromSum(sum)
	return updateShared(l.list.prefix+strconv.Itoa(slot), func(v []byte) ([]byte, error) {
		return l.list.set.Put(v, digest, until, now), nil
	})
}

// providerLogoutKeys are the deny entries of a logout token: a token with both sid and sub
// names one session, section 2.4 (the sid entry); with only sub, every session of the user.
func providerLogoutKeys(sid, sub string) []string {
	if sid != "" {
		sub = ""
	}
	return engine.ProviderLogoutKeys(sid, sub)
}

// bump moves counter which (0 sign-outs, 1 provider logouts): every VM checks its sessions
// again.
func (l *signedOutList) bump(which int) error {
	return updateShared(l.genKey, func(v []byte) ([]byte, error) {
		g, _ := engine.DecodeGeneration(v)
		if which == 0 {
			g.SignOuts++
		} else {
			g.ProviderLogouts++
		}
		return g.Encode(), nil
	})
}

// generation is the deny list's generation on this Envoy (0 while nobody signed out): when it
// has not moved, no session was signed out since it was last read.
func (l *signedOutList) generation() uint64 {
	v, _, err := getSharedData(l.genKey)
	if err != nil {
		return 0
	}
	g, _ := engine.DecodeGeneration(v)
	return g.Sum()
}

// refuses reports whether ls's session was signed out, or ended by the provider
// (back-channel logout).
func (l *signedOutList) refuses(ls *liveSession, now time.Time) bool {
	v, _, err := getSharedData(l.genKey)
	g, ok := engine.DecodeGeneration(v)
	if err != nil || !ok {
		return false // nobody signed out on this Envoy (or no shared data)
	}
	if sum := g.Sum(); sum != ls.checkedGen {
		ls.signedOut = g.SignOuts > 0 && l.list.seen(ls.ref(), now) ||
			g.ProviderLogouts > 0 && l.loggedOutAtProvider(ls.s, now)
		ls.checkedGen = sum
	}
	return ls.signedOut
}

// loggedOutAtProvider reports whether a back-channel logout named s (by its sid or its sub)
// after s was established.
func (l *signedOutList) loggedOutAtProvider(s *state.Session, now time.Time) bool {
	for _, key := range engine.ProviderLogoutKeys(s.SessionID, s.Subject) {
		digest, slot := l.list.set.Digest(key)
		v, _, err := getSharedData(l.list.prefix + strconv.Itoa(slot))
		if err != nil {
			continue
		}
		if until, ok := l.list.set.Expiry(v, digest, now); ok && !s.Expiry.After(until) {
			return true
		}
	}
	return false
}

func (ls *liveSession) ref() string {
	if ls.sref == "" {
		s := ls.s
		ls.sref = engine.SessionRef(s.LoginID, s.Issuer, s.Subject, s.SessionID, s.Expiry)
	}
	return ls.sref
}
