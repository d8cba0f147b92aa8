package envoysoak

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/oidc-proxy-wasm/oidc-proxy-wasm/state"
)

// cookieName is the plugin's session cookie (the default cookie.name).
const cookieName = "_oidc_session"

// Minter makes distinct session cookies from one real session: the session the plugin set
// at a login through the provider, opened with the configured key and sealed again under a
// new session id. Each is what the plugin would have set for another login of the same user:
// the provider's tokens, the same claims and expiries, its own sealed bytes.
type Minter struct {
	sealer   *state.Sealer
	codec    state.CookieCodec
	template state.Session
}

// NewMinter logs in through Envoy at base and the provider, and returns a Minter built on
// the session that login set. The login's own Cookie header is returned too.
func (r *Rig) NewMinter(ctx context.Context, base string) (*Minter, string, error) {
	secret, err := base64.RawURLEncoding.DecodeString(r.Key.Secret)
	if err != nil {
		return nil, "", err
	}
	m := &Minter{codec: state.CookieCodec{Name: cookieName}}
	if m.sealer, err = state.NewSealer([]state.Key{{ID: r.Key.ID, Secret: secret}}, rand.Reader); err != nil {
		return nil, "", err
	}
	jar, _ := cookiejar.New(nil)
	if _, err := r.login(ctx, base, jar, http.DefaultTransport); err != nil {
		return nil, "", err
	}
	u, _ := url.Parse(base)
	got := map[string]string{}
	var header []string
	for _, c := range jar.Cookies(u) {
		got[c.Name] = c.Value
		header = append(header, c.Name+"="+c.Value)
	}
	sealed, err := m.codec.Join(func(name string) (string, bool) { v, ok := got[name]; return v, ok })
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", errNoSession, err)
	}
	plain, err := m.sealer.Open(state.PurposeSession, cookieName, sealed, time.Now())
	if err != nil {
		return nil, "", fmt.Errorf("envoysoak: opening the plugin's session with the configured key: %w", err)
	}
	if err := m.template.UnmarshalBinary(plain); err != nil {
		return nil, "", err
	}
	return m, strings.Join(header, "; "), nil
}

// Mint returns a Cookie header holding a session with session id id, sealed now.
func (m *Minter) Mint(id string) (string, error) {
	s := m.template
	s.SessionID = id
	plain, err := s.MarshalBinary()
	if err != nil {
		return "", err
	}
	sealed, err := m.sealer.Seal(state.PurposeSession, cookieName, plain, s.Expiry)
	if err != nil {
		return "", err
	}
	chunks, err := m.codec.Split(sealed)
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
