package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/e2e/stack"
	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// pluginCookie is the plugin's session cookie name (the default cookie.name).
const pluginCookie = "_oidc_session"

// minter makes distinct plugin sessions from the one a real login set (as e2e/envoysoak
// does): the session opened with the configured key and sealed again under a new session
// id. Each is what the plugin would set for another login of the same user: the provider's
// tokens, claims and expiries, its own sealed bytes. So a cold request costs what it would
// for a user the VM has not seen yet.
type minter struct {
	sealer   *state.Sealer
	codec    state.CookieCodec
	template state.Session
	other    string // the login's cookies that are not the session's (none, usually)
}

func newMinter(key stack.Key, cookieHeader string) (*minter, error) {
	secret, err := base64.RawURLEncoding.DecodeString(key.Secret)
	if err != nil {
		return nil, err
	}
	m := &minter{codec: state.CookieCodec{Name: pluginCookie}}
	if m.sealer, err = state.NewSealer([]state.Key{{ID: key.ID, Secret: secret}}, rand.Reader); err != nil {
		return nil, err
	}
	got := map[string]string{}
	var other []string
	for _, kv := range strings.Split(cookieHeader, "; ") {
		n, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(n, pluginCookie) {
			got[n] = v
		} else {
			other = append(other, kv)
		}
	}
	m.other = strings.Join(other, "; ")
	sealed, err := m.codec.Join(func(name string) (string, bool) { v, ok := got[name]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("the login left no plugin session: %w", err)
	}
	plain, err := m.sealer.Open(state.PurposeSession, pluginCookie, sealed, time.Now())
	if err != nil {
		return nil, fmt.Errorf("opening the plugin's session with the configured key: %w", err)
	}
	if err := m.template.UnmarshalBinary(plain); err != nil {
		return nil, err
	}
	return m, nil
}

// mint returns the session cookies (name=value pairs joined by "; ") of a session with id.
func (m *minter) mint(id string) (string, error) {
	s := m.template
	s.SessionID = id
	plain, err := s.MarshalBinary()
	if err != nil {
		return "", err
	}
	sealed, err := m.sealer.Seal(state.PurposeSession, pluginCookie, plain, s.Expiry)
	if err != nil {
		return "", err
	}
	chunks, err := m.codec.Split(sealed)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(chunks)+1)
	for _, c := range chunks {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if m.other != "" {
		parts = append(parts, m.other)
	}
	return strings.Join(parts, "; "), nil
}

// mintN returns n distinct sessions, ids prefix-0 .. prefix-(n-1).
func (m *minter) mintN(prefix string, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		var err error
		if out[i], err = m.mint(fmt.Sprintf("%s-%d", prefix, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
