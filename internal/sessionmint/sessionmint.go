// Package sessionmint makes plugin session cookies for the benchmarks and the soak, outside
// the plugin: a state.Session sealed with a configured key and split into the cookie chunks
// the plugin sets, as one Cookie header.
//
// A Sealer seals a session the caller built (internal/filterbench's fixture sessions). A
// Minter starts from the session a real login through Envoy set, opened with the configured
// key, and seals it again under new session ids (tools/benchenvoy, e2e/envoysoak): each
// copy is what the plugin would have set for another login of the same user (the provider's
// tokens, claims and expiries) with its own sealed bytes, so the plugin must open and cache
// it as it would another user's.
//
// It is a test harness: nothing in plugin.wasm imports it.
package sessionmint

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// CookieName is the plugin's session cookie (the default cookie.name).
const CookieName = "_oidc_session"

// Sealer seals sessions into the plugin's session cookie with one key. Its state.Sealer is
// there for sealing other purposes with the same key.
type Sealer struct {
	*state.Sealer
	codec state.CookieCodec
}

// NewSealer returns a Sealer for the key with id keyID and secret, base64url as in the
// plugin's keys[].secret.
func NewSealer(keyID, secret string) (*Sealer, error) {
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil {
		return nil, fmt.Errorf("sessionmint: key %q: %w", keyID, err)
	}
	s, err := state.NewSealer([]state.Key{{ID: keyID, Secret: raw}}, rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Sealer{Sealer: s, codec: state.CookieCodec{Name: CookieName}}, nil
}

// Cookie seals s now and returns its cookie chunks as a Cookie header value
// (name=value pairs joined by "; ").
func (sl *Sealer) Cookie(s *state.Session) (string, error) {
	plain, err := s.MarshalBinary()
	if err != nil {
		return "", err
	}
	sealed, err := sl.Seal(state.PurposeSession, CookieName, plain, s.Expiry)
	if err != nil {
		return "", err
	}
	chunks, err := sl.codec.Split(sealed)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, c := range chunks {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Name + "=" + c.Value)
	}
	return b.String(), nil
}

// Minter makes distinct sessions from the one a real login set.
type Minter struct {
	sealer *Sealer
	// Template is the login's session; each minted one differs in its session id only.
	Template state.Session
	other    string // the login's cookies that are not the session's (none, usually)
}

// FromLogin opens the session in cookieHeader (the Cookie header a browser holds after a
// login through the plugin) with the key keyID/secret, and returns a Minter built on it.
func FromLogin(keyID, secret, cookieHeader string) (*Minter, error) {
	sl, err := NewSealer(keyID, secret)
	if err != nil {
		return nil, err
	}
	m := &Minter{sealer: sl}
	got := map[string]string{}
	var other []string
	for _, kv := range strings.Split(cookieHeader, "; ") {
		n, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(n, CookieName) {
			got[n] = v
		} else if kv != "" {
			other = append(other, kv)
		}
	}
	m.other = strings.Join(other, "; ")
	sealed, err := sl.codec.Join(func(name string) (string, bool) { v, ok := got[name]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("the login left no plugin session: %w", err)
	}
	plain, err := sl.Open(state.PurposeSession, CookieName, sealed, time.Now())
	if err != nil {
		return nil, fmt.Errorf("opening the plugin's session with the configured key: %w", err)
	}
	if err := m.Template.UnmarshalBinary(plain); err != nil {
		return nil, err
	}
	return m, nil
}

// Mint returns the Cookie header of a session with session id id, sealed now: its chunks,
// then the login's other cookies.
func (m *Minter) Mint(id string) (string, error) {
	s := m.Template
	s.SessionID = id
	c, err := m.sealer.Cookie(&s)
	if err != nil || m.other == "" {
		return c, err
	}
	return c + "; " + m.other, nil
}

// MintN returns n distinct sessions, ids prefix-0 .. prefix-(n-1).
func (m *Minter) MintN(prefix string, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		var err error
		if out[i], err = m.Mint(fmt.Sprintf("%s-%d", prefix, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
